"""One key synced alone (`sync_usage --key`): the key's own calls, every line item it used,
Deepgram's cost of each, stored exactly and idempotently."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing_portal.deepgram import client_from_settings
from customers.models import ApiKey
from usage.models import CostCorrection, DailyCost, DailyUsage, Method, UsageCorrection
from usage.services import usage_sync_key, usage_sync_keys
from usage.services.chunk_sync import fetch_range, plan_ranges
from usage.services.sync_window import windows_of

TODAY = date(2026, 10, 31)
ZERO = Decimal(0)


def sync(api_key, **kwargs):
    api_key.refresh_from_db()
    kwargs.setdefault("today", TODAY)
    return usage_sync_key(api_key=api_key, client=client_from_settings(), **kwargs)


def rows(api_key) -> dict[tuple, tuple]:
    """Every stored row: {(day, endpoint, method, model): (hours, total_hours, requests)}."""
    return {
        (row.day, row.endpoint, row.method, row.model): (row.hours, row.total_hours, row.requests)
        for row in DailyUsage.objects.filter(api_key=api_key)
    }


def listen(api_key) -> dict[date, tuple]:
    """Speech to text per day, summed over methods and models (what the summary reports)."""
    days: dict[date, list] = {}
    for (day, endpoint, _, _), values in rows(api_key).items():
        if endpoint in ("listen", ""):
            days[day] = [a + b for a, b in zip(days.get(day, [ZERO, ZERO, 0]), values, strict=True)]
    return {day: tuple(values) for day, values in days.items()}


def summary(api_key, start, end) -> dict[date, tuple]:
    result = client_from_settings().usage_summary(
        api_key.project.project_id, start=start, end=end, accessor=api_key.key_id
    )
    return {day.start: (day.hours, day.total_hours, day.requests) for day in result.results}


def billed(api_key, start, end) -> dict[tuple, Decimal]:
    """Deepgram's dollars of the key per (day, line item), as its billing breakdown says."""
    answer = client_from_settings().billing_breakdown(
        api_key.project.project_id,
        start=start,
        end=end,
        accessor=api_key.key_id,
        grouping=["line_item"],
    )
    return {(row.grouping.start, row.grouping.line_item): row.dollars for row in answer.results}


def endpoints(api_key, start, end) -> set[str]:
    answer = client_from_settings().usage_breakdown(
        api_key.project.project_id,
        start=start,
        end=end,
        accessor=api_key.key_id,
        grouping=["endpoint"],
    )
    return {row.grouping.endpoint for row in answer.results}


def costs(api_key) -> dict[tuple, Decimal]:
    return {
        (day, line_item): dollars
        for day, line_item, dollars in DailyCost.objects.filter(api_key=api_key).values_list(
            "day", "line_item", "dollars"
        )
    }


def test_it_stores_every_line_item_and_its_cost_per_day(make_key, customer_a):
    key = make_key(customer_a)

    result = sync(key)

    # The key's usage and its cost, one call each; the billing fields (line items) once.
    assert result.ok and result.api_calls == 3
    assert result.window == (date(2026, 9, 1), TODAY)
    assert listen(key) == summary(key, date(2026, 9, 1), TODAY)
    stored = rows(key)
    assert {endpoint for _, endpoint, _, _ in stored} == endpoints(key, date(2026, 9, 1), TODAY)
    assert len({model for *_, model in stored}) > 2
    assert all(method in {"sync", "async", "streaming"} for _, _, method, _ in stored)
    assert result.rows_created == len(stored) > 200
    assert costs(key) == billed(key, date(2026, 9, 1), TODAY)
    assert all(isinstance(values[0], Decimal) for values in stored.values())


def test_it_stores_the_units_of_each_product(make_key, customer_a, customer_b):
    for customer in (customer_a, customer_b, customer_a):  # in proportions that vary per key
        sync(make_key(customer), start=date(2026, 10, 1))
    assert set(DailyUsage.objects.values_list("endpoint", flat=True)) == {
        "listen",
        "speak",
        "agent",
        "read",
    }

    by_endpoint = {
        endpoint: DailyUsage.objects.filter(endpoint=endpoint)
        for endpoint in ("listen", "speak", "agent", "read")
    }
    assert all(row.hours > 0 for row in by_endpoint["listen"] if row.requests)
    assert all(row.tts_characters > 0 for row in by_endpoint["speak"] if row.requests)
    assert all(row.agent_hours > 0 for row in by_endpoint["agent"] if row.requests)
    assert all(row.tokens_in > 0 for row in by_endpoint["read"] if row.requests)
    assert not any(row.hours for row in by_endpoint["speak"])


def test_it_changes_nothing_the_second_time(make_key, customer_a):
    key = make_key(customer_a)
    sync(key)
    before = list(DailyUsage.objects.filter(api_key=key).values())
    cost_before = list(DailyCost.objects.filter(api_key=key).values())

    again = sync(key, start=date(2026, 9, 1))

    assert (again.rows_created, again.rows_changed) == (0, 0)
    assert list(DailyUsage.objects.filter(api_key=key).values()) == before
    assert list(DailyCost.objects.filter(api_key=key).values()) == cost_before
    assert not UsageCorrection.objects.exists()
    assert not CostCorrection.objects.exists()


def test_it_rereads_only_the_settlement_window_next_time(make_key, customer_a, settings):
    key = make_key(customer_a)
    sync(key, today=date(2026, 10, 20))

    result = sync(key)

    assert result.window == (
        date(2026, 10, 20) - timedelta(days=settings.USAGE_SETTLEMENT_DAYS),
        TODAY,
    )


def test_it_applies_a_late_correction_of_usage_and_cost(make_key, sandbox, customer_a):
    key = make_key(customer_a)
    sync(key)
    day = date(2026, 10, 30)
    (_, _, method, model), _ = next(
        (line, values) for line, values in rows(key).items() if line[:2] == (day, "listen")
    )
    old_cost = costs(key)[(day, f"{method}::{model}")]
    sandbox.set_usage(
        key.key_id, day, hours="1.5", total_hours="2.25", requests=7, method=method, model=model
    )

    result = sync(key)

    assert rows(key)[(day, "listen", method, model)] == (Decimal("1.5"), Decimal("2.25"), 7)
    assert result.rows_changed >= 1
    correction = UsageCorrection.objects.get(usage__model=model, usage__method=method)
    assert (correction.new_total_hours, correction.new_requests) == (Decimal("2.25"), 7)
    assert costs(key) == billed(key, date(2026, 9, 1), TODAY)
    cost = CostCorrection.objects.get(cost__line_item=f"{method}::{model}", cost__day=day)
    assert (cost.old_dollars, cost.new_dollars) == (
        old_cost,
        costs(key)[(day, f"{method}::{model}")],
    )
    assert cost.old_dollars != cost.new_dollars


def test_it_leaves_a_correction_outside_the_window_until_a_backfill(make_key, sandbox, customer_a):
    key = make_key(customer_a)
    sync(key)
    old_day = date(2026, 10, 1)
    before = listen(key)[old_day]
    sandbox.set_usage(key.key_id, old_day, hours="9", requests=9, method="async")

    assert sync(key).rows_changed == 0
    assert listen(key)[old_day] == before

    backfill = sync(key, start=old_day, end=old_day)

    assert backfill.rows_changed >= 1
    assert listen(key)[old_day] != before
    assert listen(key)[old_day] == summary(key, old_day, old_day)[old_day]


def test_it_zeroes_what_deepgram_no_longer_reports(make_key, sandbox, customer_a):
    key = make_key(customer_a)
    sync(key)
    day = max(listen(key))
    for method in ("sync", "async", "streaming"):
        sandbox.set_usage(key.key_id, day, hours=0, requests=0, method=method)

    result = sync(key)

    assert listen(key)[day] == (ZERO, ZERO, 0)
    assert DailyUsage.objects.filter(api_key=key, day=day, endpoint="listen").exists()  # kept
    assert result.rows_changed >= 1


def test_a_reread_supersedes_rows_stored_before_line_items(make_key, customer_a):
    """A day stored as the summary once reported it (method "all", model not reported) is
    replaced by its line items: the old row zeroed with a correction, never added to."""
    key = make_key(customer_a)
    day = date(2026, 10, 29)
    total = summary(key, day, day)[day]
    now = datetime.now(UTC)
    old = DailyUsage.objects.create(
        api_key=key,
        day=day,
        method=Method.ALL,
        hours=total[0],
        total_hours=total[1],
        requests=total[2],
        first_seen_at=now,
        changed_at=now,
    )

    sync(key, start=day, end=day)

    old.refresh_from_db()
    assert (old.hours, old.total_hours, old.requests) == (ZERO, ZERO, 0)
    assert UsageCorrection.objects.get(usage=old).old_total_hours == total[1]
    assert listen(key)[day] == total  # the line items, not twice the day


def test_rows_name_their_method_whatever_the_project_prices(make_key, customer_a, default_project):
    key = make_key(customer_a)
    sync(key, start=date(2026, 10, 1))
    split_off = rows(key)
    default_project.split_usage_by_method = True
    default_project.save()

    again = sync(key, start=date(2026, 10, 1))

    assert (again.rows_created, again.rows_changed) == (0, 0)
    assert rows(key) == split_off


def test_it_starts_a_key_created_mid_month_on_its_creation_day(make_key, customer_a):
    key = make_key(customer_a, created=datetime(2026, 10, 17, 15, 30, tzinfo=UTC))

    result = sync(key, start=date(2026, 10, 1))

    assert result.window == (date(2026, 10, 17), TODAY)
    assert min(listen(key)) >= date(2026, 10, 17)


def test_it_stops_a_revoked_key_after_its_settlement_window(make_key, customer_a, settings):
    key = make_key(customer_a)
    ApiKey.objects.filter(pk=key.pk).update(
        status=ApiKey.Status.REVOKED, revoked_at=datetime(2026, 10, 10, 9, tzinfo=UTC)
    )

    result = sync(key)

    assert result.window[1] == date(2026, 10, 10) + timedelta(days=settings.USAGE_SETTLEMENT_DAYS)
    assert sync(key).skipped


def test_it_stores_nothing_for_a_key_without_usage(make_key, customer_a):
    key = make_key(customer_a, created=datetime(2026, 11, 20, tzinfo=UTC))

    result = sync(key)

    assert result.skipped
    assert rows(key) == {}


@pytest.mark.parametrize("status", [404, 401])
def test_it_records_a_permanent_failure_on_the_key(make_key, sandbox, customer_a, status):
    key = make_key(customer_a)
    sandbox.queue_fault("error", status=status, path="/usage")

    result = sync(key)

    key.sync_state.refresh_from_db()
    assert not result.ok
    assert result.error_kind in {"NotFoundError", "AuthenticationError"}
    assert key.sync_state.consecutive_failures == 1
    assert key.sync_state.last_error
    assert rows(key) == {}


def test_without_billing_read_usage_syncs_and_cost_is_reported_missing(
    make_key, sandbox, customer_a, default_project
):
    key = make_key(customer_a)
    sandbox.configure(billing_read=False)

    result = sync(key, start=date(2026, 10, 1))

    assert result.ok
    assert listen(key) == summary(key, date(2026, 10, 1), TODAY)
    assert not DailyCost.objects.exists()
    default_project.refresh_from_db()
    assert default_project.billing_readable is False


def test_it_leaves_a_settled_revoked_key_out_of_later_runs(make_key, customer_a):
    from usage.selectors import keys_to_sync

    key = make_key(customer_a)
    ApiKey.objects.filter(pk=key.pk).update(
        status=ApiKey.Status.REVOKED, revoked_at=datetime(2026, 10, 10, 9, tzinfo=UTC)
    )
    sync(key)
    assert key in keys_to_sync()

    usage_sync_keys(key_ids=[key.pk], today=TODAY)

    assert key not in keys_to_sync()
    assert key in keys_to_sync(include_settled=True)


def test_a_range_stopped_before_its_calls_asks_nothing(make_key, sandbox, customer_a):
    key = make_key(customer_a)
    key = ApiKey.objects.select_related("project", "sync_state").get(pk=key.pk)
    key_windows, _ = windows_of([key], today=TODAY, start=None, end=None)
    (part,) = plan_ranges(key_windows, per_key=True)
    client = client_from_settings()
    stop = threading.Event()

    assert fetch_range(part, stop, client).fetched.usage  # not stopped: read whole
    calls = client.stats.calls
    stop.set()

    assert fetch_range(part, stop, client) is None
    assert client.stats.calls == calls
