"""The customers app's admin lists: query counts that do not grow with the rows, search,
filters and the active key count.
"""

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from customers.admin import CustomerAdmin
from customers.models import ApiKey, Customer, CustomerUser, DeepgramProject, KeyEvent

_serial = itertools.count(1)


@pytest.fixture
def staging_project(db):
    return DeepgramProject.objects.create(
        project_id="5a4d0b2e-0000-4000-8000-5a4db0c5e002", name="Staging project"
    )


def make_member(customer, invited_by) -> CustomerUser:
    n = next(_serial)
    user = get_user_model().objects.create_user(
        username=f"user{n}@customer.example", email=f"user{n}@customer.example"
    )
    return CustomerUser.objects.create(user=user, customer=customer, invited_by=invited_by)


def listed(response) -> list:
    return list(response.context["cl"].result_list)


# --- Query counts ---------------------------------------------------------------------------
#
# A changelist costs a fixed number of queries: session, user, the permission checks, the
# count(s), the page, the filters' choices. Rows must come from that one page query, whatever
# their number, so each list is measured with 3 rows and with 12.
#
# Every page starts with: session, user, the user's permissions, the groups' permissions.
# Then the customers: count, full count, page (with the active key count), currencies to
# filter by.
CUSTOMER_LIST_QUERIES = 8
# Keys: projects and customers to filter by, count, full count, page (with customer and project).
KEY_LIST_QUERIES = 9
# Audit: count, full count, page (with customer and actor), date range and days to drill into.
KEY_EVENT_LIST_QUERIES = 9
# Portal users: count, full count, page (with user, customer and inviter).
CUSTOMER_USER_LIST_QUERIES = 7
# A customer's page: the customer, its keys, its portal users, its content type (history),
# one aggregate for the daily usage chart, and for Support the billing panel's setup checks
# (plans, terms, a portal user, an active key; no money).
CUSTOMER_PAGE_QUERIES = 13


def a_customer(n, *, make_customer, key_of, staging_project, support_user):
    key_of(make_customer())


def a_key(n, *, make_customer, key_of, staging_project, support_user):
    # Every other key in staging, the others in the default project.
    key_of(make_customer(), project=None if n % 2 else staging_project)


def a_key_event(n, *, make_customer, key_of, staging_project, support_user):
    key = key_of(make_customer())
    KeyEvent.objects.create(
        action=KeyEvent.Action.PROVISION,
        actor=support_user,
        api_key=key,
        customer=key.customer,
        key_id=key.key_id,
    )


def a_customer_user(n, *, make_customer, key_of, staging_project, support_user):
    make_member(make_customer(), invited_by=support_user)


LISTS = {  # changelist: (what makes one of its rows, its queries)
    "customers_customer": (a_customer, CUSTOMER_LIST_QUERIES),
    "customers_apikey": (a_key, KEY_LIST_QUERIES),
    "customers_keyevent": (a_key_event, KEY_EVENT_LIST_QUERIES),
    "customers_customeruser": (a_customer_user, CUSTOMER_USER_LIST_QUERIES),
}


@pytest.mark.parametrize("rows", [3, 12])
@pytest.mark.parametrize("changelist", LISTS)
def test_it_lists_in_a_fixed_number_of_queries(
    support_user, staging_project, make_customer, key_of, list_in_queries, changelist, rows
):
    make_row, queries = LISTS[changelist]
    for n in range(rows):
        make_row(
            n,
            make_customer=make_customer,
            key_of=key_of,
            staging_project=staging_project,
            support_user=support_user,
        )

    shown = list_in_queries(
        reverse(f"admin:{changelist}_changelist"), user=support_user, queries=queries
    )

    assert len(shown) == rows


@pytest.mark.parametrize("rows", [3, 12])
def test_it_shows_a_customer_in_a_fixed_number_of_queries(
    client, support_user, customer_a, key_of, django_assert_num_queries, rows
):
    for _ in range(rows):
        key_of(customer_a)
        make_member(customer_a, invited_by=support_user)
    client.force_login(support_user)
    ContentType.objects.clear_cache()  # else the count depends on the tests run before

    with django_assert_num_queries(CUSTOMER_PAGE_QUERIES):
        response = client.get(reverse("admin:customers_customer_change", args=[customer_a.pk]))

    inlines = response.context["inline_admin_formsets"]
    assert [len(inline.formset.forms) for inline in inlines] == [rows, rows]


# --- Searching and filtering customers ------------------------------------------------------


def test_it_finds_a_customer_by_key_id(client, support_user, customer_a, customer_b, key_of):
    key_of(customer_a, "aaaaaaaa-1111-4000-8000-000000000001")
    key_of(customer_b, "bbbbbbbb-2222-4000-8000-000000000002")
    client.force_login(support_user)

    response = client.get(reverse("admin:customers_customer_changelist"), {"q": "bbbbbbbb-2222"})

    assert listed(response) == [customer_b]


def test_it_lists_a_customer_once_when_several_of_its_keys_match(
    client, support_user, customer_a, key_of
):
    key_of(customer_a, "cafe0000-0000-4000-8000-000000000001")
    key_of(customer_a, "cafe0000-0000-4000-8000-000000000002")
    client.force_login(support_user)

    response = client.get(reverse("admin:customers_customer_changelist"), {"q": "cafe0000"})

    assert listed(response) == [customer_a]
    assert response.context["cl"].result_count == 1


def test_it_filters_customers_by_status(client, support_user, customer_a, customer_b):
    customer_b.status = Customer.Status.SUSPENDED
    customer_b.save()
    client.force_login(support_user)

    response = client.get(
        reverse("admin:customers_customer_changelist"), {"status__exact": "suspended"}
    )

    assert listed(response) == [customer_b]


def test_it_filters_customers_by_currency(client, support_user, customer_a, customer_b):
    customer_a.currency = "EUR"
    customer_a.save()
    client.force_login(support_user)

    response = client.get(reverse("admin:customers_customer_changelist"), {"currency": "EUR"})

    assert listed(response) == [customer_a]


def test_it_counts_only_active_keys(client, support_user, customer_a, customer_b, key_of):
    key_of(customer_a)
    key_of(customer_a)
    key_of(customer_a, status=ApiKey.Status.REVOKED)
    key_of(customer_a, status=ApiKey.Status.EXPIRED)
    key_of(customer_a, status=ApiKey.Status.MISSING_UPSTREAM)
    client.force_login(support_user)

    response = client.get(reverse("admin:customers_customer_changelist"))

    counts = {customer.name: customer.active_keys for customer in listed(response)}
    assert counts == {"Acme Voice Ltd": 2, "Globex Transcripts": 0}
    assert 'class="field-active_keys">2<' in response.text


def test_it_counts_active_keys_in_a_search_by_key_id(client, support_user, customer_a, key_of):
    key_of(customer_a, "cafe0000-0000-4000-8000-000000000001")
    key_of(customer_a, "beef0000-0000-4000-8000-000000000002")
    key_of(customer_a, status=ApiKey.Status.REVOKED)
    client.force_login(support_user)

    response = client.get(reverse("admin:customers_customer_changelist"), {"q": "cafe0000"})

    assert [customer.active_keys for customer in listed(response)] == [2]


def test_it_sorts_customers_by_active_keys(client, support_user, customer_a, customer_b, key_of):
    key_of(customer_b)
    client.force_login(support_user)
    column = CustomerAdmin.list_display.index("active_keys") + 1

    response = client.get(reverse("admin:customers_customer_changelist"), {"o": f"-{column}"})

    assert listed(response) == [customer_b, customer_a]


# --- Filtering keys -------------------------------------------------------------------------


@pytest.fixture
def three_keys(customer_a, customer_b, key_of, staging_project):
    return {
        "a live": key_of(customer_a),
        "a revoked": key_of(customer_a, project=staging_project, status=ApiKey.Status.REVOKED),
        "b live": key_of(customer_b, project=staging_project),
    }


def key_list(client, **query):
    return {
        key.key_id
        for key in listed(client.get(reverse("admin:customers_apikey_changelist"), query))
    }


def test_it_filters_keys_by_status(client, support_user, three_keys):
    client.force_login(support_user)

    assert key_list(client, status__exact="revoked") == {three_keys["a revoked"].key_id}


def test_it_filters_keys_by_project(client, support_user, three_keys, staging_project):
    client.force_login(support_user)

    assert key_list(client, project__id__exact=staging_project.pk) == {
        three_keys["a revoked"].key_id,
        three_keys["b live"].key_id,
    }


def test_it_filters_keys_by_customer(client, support_user, three_keys, customer_b):
    client.force_login(support_user)

    assert key_list(client, customer__id__exact=customer_b.pk) == {three_keys["b live"].key_id}


def test_it_finds_keys_by_customer_name(client, support_user, three_keys):
    client.force_login(support_user)

    assert key_list(client, q="Globex") == {three_keys["b live"].key_id}


# Projects: session, user, the two permission queries, count, full count, page.
PROJECT_LIST_QUERIES = 7


@pytest.mark.parametrize("rows", [3, 12])
def test_it_lists_projects_in_a_fixed_number_of_queries(support_user, list_in_queries, rows):
    DeepgramProject.objects.bulk_create(
        DeepgramProject(project_id=f"p-{n}", name=f"Project {n}") for n in range(rows)
    )

    shown = list_in_queries(
        reverse("admin:customers_deepgramproject_changelist"),
        user=support_user,
        queries=PROJECT_LIST_QUERIES,
    )

    assert len(shown) == rows
