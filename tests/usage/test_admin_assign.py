"""Support assigns an accessor that is no customer's key to a customer, from a day, in the
admin: the key is imported (under the import's scope rules) and its usage from that day on
becomes the customer's; both or neither. The sync runs list counts calls by endpoint and shows
what did not add up to Deepgram's totals."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import ApiKey
from invoices.models import BillingTerms, CustomerPlan, PricePlan
from invoices.services import invoice_approve, invoice_generate_drafts
from usage.models import DailyUsage, SyncRun, UnassignedAccessor, UnassignedUsage
from usage.services import usage_sync_run

CREATED = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def support(support_user):
    """A browser logged in as Support (this directory's `client` is Deepgram's)."""
    web = Client()
    web.force_login(support_user)
    return web


@pytest.fixture
def finance(finance_user):
    web = Client()
    web.force_login(finance_user)
    return web


START, END = date(2026, 10, 1), date(2026, 10, 31)


@pytest.fixture
def stranger(sandbox, make_key, customer_a):
    """A key made in the console with usage since 1 October, synced as unassigned usage."""
    made = sandbox.add_key("Found in the console", created=CREATED, scopes=("usage:write",))
    key = make_key(customer_a, created=CREATED)
    usage_sync_run(trigger=SyncRun.Trigger.COMMAND, key_ids=[key.pk], start=START, end=END)
    return UnassignedAccessor.objects.get(accessor=made["api_key_id"])


def assign(client, accessor, customer, from_day: str):
    url = reverse("admin:usage_unassignedaccessor_assign", args=[accessor.pk])
    return client.post(url, {"customer": customer.pk, "from_day": from_day}, follow=True)


def test_support_assigns_an_accessor_from_a_day(support, stranger, customer_b):
    listing = support.get(reverse("admin:usage_unassignedaccessor_changelist")).content.decode()
    assert "Assign to a customer" in listing

    response = assign(support, stranger, customer_b, "2026-10-20")

    assert response.status_code == 200
    assert (
        "is now" in response.content.decode() and "earlier usage stays" in response.content.decode()
    )
    key = ApiKey.objects.get(key_id=stranger.accessor)
    assert key.customer == customer_b
    assert min(DailyUsage.objects.filter(api_key=key).values_list("day", flat=True)) == date(
        2026, 10, 20
    )
    assert max(UnassignedUsage.objects.filter(accessor=stranger).values_list("day", flat=True)) < (
        date(2026, 10, 20)
    )


@pytest.fixture
def october_issued(customer_b, finance_user, key_of):
    plan = PricePlan.objects.create(name="Standard", currency="USD", rate_per_hour=D("0.258"))
    CustomerPlan.objects.create(customer=customer_b, plan=plan, effective_from=date(2026, 1, 1))
    BillingTerms.objects.create(customer=customer_b, tax_rate=D("0"), payment_terms_days=30)
    now = datetime(2026, 11, 2, tzinfo=UTC)
    DailyUsage.objects.create(
        api_key=key_of(customer_b),
        day=date(2026, 10, 2),
        hours=D("1"),
        total_hours=D("1"),
        requests=1,
        first_seen_at=now,
        changed_at=now,
    )
    draft = invoice_generate_drafts(period=date(2026, 10, 1)).created[0]
    return invoice_approve(invoice=draft, actor=finance_user)


def test_a_day_inside_an_issued_month_is_refused_and_nothing_is_imported(
    support, stranger, customer_b, october_issued
):
    response = assign(support, stranger, customer_b, "2026-10-20")

    assert "October 2026 is already issued" in response.content.decode()
    assert not ApiKey.objects.filter(key_id=stranger.accessor).exists()
    stranger.refresh_from_db()
    assert stranger.assigned_key is None


def test_a_key_the_portal_may_not_hand_out_stays_unassigned(support, sandbox, make_key, customer_a):
    owner = sandbox.add_key("Staff owner key", created=CREATED, scopes=("owner",))
    key = make_key(customer_a, created=CREATED)
    usage_sync_run(trigger=SyncRun.Trigger.COMMAND, key_ids=[key.pk], start=START, end=END)
    accessor = UnassignedAccessor.objects.get(accessor=owner["api_key_id"])

    response = assign(support, accessor, customer_a, "2026-10-20")

    assert "only a key limited to" in response.content.decode()
    assert not ApiKey.objects.filter(key_id=accessor.accessor).exists()


def test_finance_sees_unassigned_usage_but_does_not_import_keys(finance, stranger, customer_b):
    assert finance.get(reverse("admin:usage_unassignedaccessor_changelist")).status_code == 200

    response = assign(finance, stranger, customer_b, "2026-10-20")

    assert response.status_code == 403


def test_the_runs_list_counts_calls_by_endpoint_and_shows_mismatches(
    support, sandbox, make_key, customer_a
):
    key = make_key(customer_a, created=CREATED)
    usage_sync_run(trigger=SyncRun.Trigger.COMMAND, key_ids=[key.pk], start=START, end=END)
    sandbox.configure(drop_grouped_rows=5)
    usage_sync_run(trigger=SyncRun.Trigger.COMMAND, key_ids=[key.pk], start=START, end=END)

    page = support.get(reverse("admin:usage_syncrun_changelist")).content.decode()

    assert "billing/breakdown: 2, usage/breakdown: 2, billing/fields: 1" in page
    assert "day(s) and unit(s)" in page
