"""The daily usage list in the admin: who sees it, its query count, its filters, the totals of
the filtered rows, that nobody edits usage, and the corrections list after a late change.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from usage.models import DailyUsage, Method, SyncRun, UsageCorrection
from usage.services import usage_sync_keys

TODAY = date(2026, 10, 31)
LIST = reverse("admin:usage_dailyusage_changelist")


@pytest.fixture
def client(db):
    """The web client (the usage conftest's `client` is the Deepgram one)."""
    return Client()


def usage(key, day, hours="1.000000", total_hours=None, requests=1, method=Method.ALL):
    now = timezone.now()
    return DailyUsage.objects.create(
        api_key=key,
        day=day,
        method=method,
        hours=Decimal(hours),
        total_hours=Decimal(total_hours or hours),
        requests=requests,
        first_seen_at=now,
        changed_at=now,
    )


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def days_listed(client, **query) -> set[date]:
    response = client.get(LIST, query)
    assert response.status_code == 200
    return {row.day for row in listed(response)}


@pytest.fixture
def key_a(customer_a, key_of):
    return key_of(customer_a, "aaaa1111-0000-4000-8000-000000000001")


@pytest.fixture
def key_b(customer_b, key_of):
    return key_of(customer_b, "bbbb2222-0000-4000-8000-000000000002")


# --- Who sees it ----------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["support_user", "finance_user"])
def test_it_shows_the_daily_usage_to_support_and_finance(client, request, user, key_a):
    usage(key_a, TODAY)
    client.force_login(request.getfixturevalue(user))

    response = client.get(LIST)

    assert response.status_code == 200
    assert key_a.key_id in response.text
    assert "Acme Voice Ltd" in response.text


def test_it_forbids_the_daily_usage_to_other_staff(client, other_staff):
    client.force_login(other_staff)

    assert client.get(LIST).status_code == 403


def test_it_sends_an_anonymous_visitor_to_the_login_page(client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- Query count ----------------------------------------------------------------------------
#
# Every page starts with: session, user, the user's permissions, the groups' permissions.
# Then: the customers to filter by, the count, the full count, the page (with key and
# customer), the totals of the filtered rows, and the date hierarchy's range and the days,
# months or years to drill into.
DAILY_USAGE_LIST_QUERIES = 11


@pytest.mark.parametrize("rows", [3, 40])
def test_it_lists_daily_usage_in_a_fixed_number_of_queries(
    support_user, customer_a, customer_b, key_of, list_in_queries, rows
):
    keys = [key_of(customer) for customer in (customer_a, customer_b)]
    for n in range(rows):
        usage(keys[n % 2], TODAY - timedelta(days=n // 2))

    shown = list_in_queries(LIST, user=support_user, queries=DAILY_USAGE_LIST_QUERIES)

    assert len(shown) == rows


# --- Filters and search ---------------------------------------------------------------------


def test_it_filters_by_customer(client, support_user, key_a, key_b, customer_b):
    usage(key_a, date(2026, 10, 1))
    usage(key_b, date(2026, 10, 2))
    client.force_login(support_user)

    response = client.get(LIST, {"customer": customer_b.pk})

    assert [row.api_key for row in listed(response)] == [key_b]


def test_it_filters_by_method(client, support_user, key_a):
    usage(key_a, date(2026, 10, 1), method=Method.SYNC)
    usage(key_a, date(2026, 10, 1), method=Method.STREAMING)
    usage(key_a, date(2026, 10, 2), method=Method.STREAMING)
    client.force_login(support_user)

    response = client.get(LIST, {"method__exact": "streaming"})

    assert {(row.day, row.method) for row in listed(response)} == {
        (date(2026, 10, 1), Method.STREAMING),
        (date(2026, 10, 2), Method.STREAMING),
    }


@pytest.fixture
def a_day_each_side(key_a):
    """Usage on the edges of every period, seen from 2026-10-31 (UTC)."""
    for day in [
        date(2026, 8, 31),  # 61 days ago: in no period
        date(2026, 9, 1),  # 60 days ago
        date(2026, 9, 2),  # 59 days ago: first day of the last 60
        date(2026, 9, 30),  # last day of last month
        date(2026, 10, 1),  # first day of this month
        date(2026, 10, 24),  # 7 days ago
        date(2026, 10, 25),  # 6 days ago: first day of the last 7
        date(2026, 10, 31),  # today
    ]:
        usage(key_a, day)


@pytest.mark.parametrize(
    ("period", "days"),
    [
        ("7", {date(2026, 10, 25), date(2026, 10, 31)}),
        ("month", {date(2026, 10, 1), date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 31)}),
        ("last_month", {date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 30)}),
        (
            "60",
            {
                date(2026, 9, 2),
                date(2026, 9, 30),
                date(2026, 10, 1),
                date(2026, 10, 24),
                date(2026, 10, 25),
                date(2026, 10, 31),
            },
        ),
    ],
)
def test_it_filters_by_period(client, support_user, a_day_each_side, period, days):
    with time_machine.travel(datetime(2026, 10, 31, 23, 30, tzinfo=UTC)):
        client.force_login(support_user)

        assert days_listed(client, period=period) == days


def test_it_takes_last_month_across_a_new_year(client, support_user, key_a):
    for day in [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1)]:
        usage(key_a, day)

    with time_machine.travel(datetime(2027, 1, 15, 12, tzinfo=UTC)):
        client.force_login(support_user)

        assert days_listed(client, period="last_month") == {date(2026, 12, 1), date(2026, 12, 31)}


def test_it_filters_by_an_explicit_range_of_days(client, support_user, a_day_each_side):
    client.force_login(support_user)

    days = days_listed(client, day__gte="2026-09-02", day__lte="2026-10-01")

    assert days == {date(2026, 9, 2), date(2026, 9, 30), date(2026, 10, 1)}


def test_it_finds_usage_by_key_id(client, support_user, key_a, key_b):
    usage(key_a, date(2026, 10, 1))
    usage(key_b, date(2026, 10, 1))
    usage(key_b, date(2026, 10, 2))
    client.force_login(support_user)

    response = client.get(LIST, {"q": "bbbb2222"})

    assert {row.api_key for row in listed(response)} == {key_b}
    assert response.context["cl"].result_count == 2


# --- Totals ---------------------------------------------------------------------------------


def test_it_totals_the_filtered_rows_exactly(client, support_user, key_a, key_b, customer_a):
    usage(key_a, date(2026, 10, 1), hours="1.250000", total_hours="1.500000", requests=12)
    usage(key_a, date(2026, 10, 2), hours="2.000001", total_hours="2.000002", requests=30)
    usage(key_b, date(2026, 10, 2), hours="7.777777", total_hours="8.888888", requests=900)
    client.force_login(support_user)

    response = client.get(LIST, {"customer": customer_a.pk})

    assert response.context["totals"] == {
        "hours": Decimal("3.250001"),
        "total_hours": Decimal("3.500002"),
        "requests": 42,
    }
    assert "Totals of the 2 filtered rows:" in response.text
    assert "<strong>3.250001</strong> hours," in response.text
    assert "<strong>3.500002</strong> total hours," in response.text
    assert "<strong>42</strong> requests." in response.text


def test_it_totals_many_small_amounts_without_drift(client, support_user, key_a):
    for n in range(30):
        usage(key_a, TODAY - timedelta(days=n), hours="0.100001", total_hours="0.333333")
    client.force_login(support_user)

    response = client.get(LIST)

    assert "<strong>3.000030</strong> hours," in response.text
    assert "<strong>9.999990</strong> total hours," in response.text
    assert "<strong>30</strong> requests." in response.text


def test_it_totals_all_rows_not_only_the_first_page(client, support_user, key_a):
    for n in range(150):
        usage(key_a, TODAY - timedelta(days=n), hours="0.010000", requests=2)
    client.force_login(support_user)

    response = client.get(LIST)

    assert len(listed(response)) == 100
    assert "Totals of the 150 filtered rows:" in response.text
    assert "<strong>1.500000</strong> hours," in response.text
    assert "<strong>300</strong> requests." in response.text


def test_it_totals_a_search_and_a_range(client, support_user, key_a, key_b):
    usage(key_a, date(2026, 10, 1), hours="5.000000", requests=5)
    usage(key_b, date(2026, 9, 30), hours="0.500000", requests=1)
    usage(key_b, date(2026, 10, 1), hours="0.250000", requests=2)
    usage(key_b, date(2026, 10, 2), hours="0.125000", requests=4)
    client.force_login(support_user)

    response = client.get(LIST, {"q": "bbbb2222", "day__gte": "2026-10-01"})

    assert "Totals of the 2 filtered rows:" in response.text
    assert "<strong>0.375000</strong> hours," in response.text
    assert "<strong>6</strong> requests." in response.text


def test_it_totals_zero_when_nothing_matches(client, support_user, key_a, customer_b):
    usage(key_a, date(2026, 10, 1), hours="5.000000", requests=5)
    client.force_login(support_user)

    response = client.get(LIST, {"customer": customer_b.pk})

    assert "Totals of the 0 filtered rows:" in response.text
    assert "<strong>0.000000</strong> hours," in response.text
    assert "<strong>0</strong> requests." in response.text


# --- Nobody edits usage ---------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(
        username="root", email="root@staff.example", password="a-Long-test-passw0rd"
    )


@pytest.mark.parametrize("user", ["support_user", "finance_user", "superuser"])
def test_it_lets_nobody_add_usage(client, request, user):
    client.force_login(request.getfixturevalue(user))

    assert client.get(reverse("admin:usage_dailyusage_add")).status_code == 403
    assert client.post(reverse("admin:usage_dailyusage_add"), {}).status_code == 403
    assert not DailyUsage.objects.exists()


@pytest.mark.parametrize("user", ["support_user", "finance_user", "superuser"])
def test_it_lets_nobody_change_usage(client, request, user, key_a):
    row = usage(key_a, date(2026, 10, 1), hours="1.000000", requests=3)
    client.force_login(request.getfixturevalue(user))
    url = reverse("admin:usage_dailyusage_change", args=[row.pk])

    response = client.post(
        url,
        {
            "api_key": key_a.pk,
            "day": "2026-10-01",
            "method": "all",
            "hours": "0",
            "total_hours": "0",
            "requests": "0",
        },
    )

    assert response.status_code == 403
    row.refresh_from_db()
    assert (row.hours, row.requests) == (Decimal("1.000000"), 3)
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.text


@pytest.mark.parametrize("user", ["support_user", "finance_user", "superuser"])
def test_it_lets_nobody_delete_usage(client, request, user, key_a):
    row = usage(key_a, date(2026, 10, 1))
    client.force_login(request.getfixturevalue(user))

    response = client.get(LIST)
    deleted = client.post(
        LIST, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )

    assert "delete_selected" not in response.text
    assert response.context["action_form"] is None
    assert client.post(reverse("admin:usage_dailyusage_delete", args=[row.pk])).status_code == 403
    assert deleted.status_code == 200
    assert DailyUsage.objects.filter(pk=row.pk).exists()


# --- Corrections ----------------------------------------------------------------------------


def test_it_lists_a_late_correction(client, support_user, make_key, sandbox, customer_a):
    key = make_key(customer_a)
    usage_sync_keys(key_ids=[key.pk], today=TODAY)
    day = TODAY - timedelta(days=1)
    before = DailyUsage.objects.filter(api_key=key, day=day, endpoint="listen").first()
    sandbox.set_usage(
        key.key_id,
        day,
        hours="1.5",
        total_hours="2.25",
        requests=7,
        method=before.method,
        model=before.model,
    )
    usage_sync_keys(key_ids=[key.pk], today=TODAY)
    client.force_login(support_user)

    response = client.get(reverse("admin:usage_usagecorrection_changelist"))

    assert response.status_code == 200
    assert [c.usage_id for c in listed(response)] == [before.pk]
    row = response.text.split('class="field-at nowrap"')[1]
    assert f"{key.key_id} 2026-10-30 listen {before.method} {before.model}" in row
    assert f'class="field-old_total_hours">{before.total_hours:.6f}<' in row
    assert 'class="field-new_total_hours">2.250000<' in row
    assert f'class="field-old_requests">{before.requests}<' in row
    assert 'class="field-new_requests">7<' in row
    assert UsageCorrection.objects.get().new_total_hours == Decimal("2.25")


def test_it_lists_no_correction_when_nothing_changed(client, support_user, make_key, customer_a):
    key = make_key(customer_a, created=datetime(2026, 10, 20, tzinfo=UTC))
    usage_sync_keys(key_ids=[key.pk], today=TODAY)
    usage_sync_keys(key_ids=[key.pk], today=TODAY)
    client.force_login(support_user)

    response = client.get(reverse("admin:usage_usagecorrection_changelist"))

    assert DailyUsage.objects.filter(api_key=key).exists()
    assert listed(response) == []


# Session, user, permissions (2); the count, the full count and the page (with the day's row,
# its key and the run).
CORRECTION_LIST_QUERIES = 7


@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_corrections_in_a_fixed_number_of_queries(
    support_user, key_a, list_in_queries, rows
):
    run = SyncRun.objects.create(trigger=SyncRun.Trigger.BEAT, started_at=timezone.now())
    for n in range(rows):
        row = usage(key_a, TODAY - timedelta(days=n), hours="2.000000", requests=2)
        UsageCorrection.objects.create(
            usage=row,
            run=run if n % 2 else None,
            at=timezone.now(),
            old_hours=Decimal("1.000000"),
            new_hours=Decimal("2.000000"),
            old_total_hours=Decimal("1.000000"),
            new_total_hours=Decimal("2.000000"),
            old_requests=1,
            new_requests=2,
        )

    shown = list_in_queries(
        reverse("admin:usage_usagecorrection_changelist"),
        user=support_user,
        queries=CORRECTION_LIST_QUERIES,
    )

    assert len(shown) == rows


def test_it_forbids_the_corrections_to_other_staff(client, other_staff):
    client.force_login(other_staff)

    assert client.get(reverse("admin:usage_usagecorrection_changelist")).status_code == 403
