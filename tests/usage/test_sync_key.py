import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing_portal.deepgram import client_from_settings
from customers.models import ApiKey
from usage.models import DailyUsage, Method, UsageCorrection
from usage.services import usage_sync_key, usage_sync_keys
from usage.services.fetching import fetch_usage
from usage.services.sync_window import windows_of

TODAY = date(2026, 10, 31)


def sync(api_key, **kwargs):
    api_key.refresh_from_db()
    kwargs.setdefault("today", TODAY)
    return usage_sync_key(api_key=api_key, client=client_from_settings(), **kwargs)


def rows(api_key):
    return {
        (row.day, row.method): (row.hours, row.total_hours, row.requests)
        for row in DailyUsage.objects.filter(api_key=api_key)
    }


def summary(sandbox, api_key, start, end, method=None):
    result = client_from_settings().usage_summary(
        api_key.project.project_id, start=start, end=end, accessor=api_key.key_id, method=method
    )
    return {day.start: (day.hours, day.total_hours, day.requests) for day in result.results}


def test_it_stores_what_deepgram_reports_per_day(make_key, sandbox, customer_a):
    key = make_key(customer_a)

    result = sync(key)

    expected = summary(sandbox, key, date(2026, 9, 1), TODAY)
    assert result.ok and result.api_calls == 1
    assert result.window == (date(2026, 9, 1), TODAY)
    assert rows(key) == {(day, Method.ALL): values for day, values in expected.items()}
    assert result.rows_created == len(expected) > 40
    assert all(isinstance(values[0], Decimal) for values in rows(key).values())


def test_it_changes_nothing_the_second_time(make_key, customer_a):
    key = make_key(customer_a)
    sync(key)
    before = list(DailyUsage.objects.filter(api_key=key).values())

    again = sync(key, start=date(2026, 9, 1))

    assert (again.rows_created, again.rows_changed) == (0, 0)
    assert list(DailyUsage.objects.filter(api_key=key).values()) == before
    assert not UsageCorrection.objects.exists()


def test_it_rereads_only_the_settlement_window_next_time(make_key, customer_a, settings):
    key = make_key(customer_a)
    sync(key, today=date(2026, 10, 20))

    result = sync(key)

    assert result.window == (
        date(2026, 10, 20) - timedelta(days=settings.USAGE_SETTLEMENT_DAYS),
        TODAY,
    )


def test_it_applies_a_late_correction_inside_the_window(make_key, sandbox, customer_a):
    key = make_key(customer_a)
    sync(key)
    sandbox.set_usage(
        key.key_id, date(2026, 10, 30), hours="1.5", total_hours="2.25", requests=7, method="async"
    )
    for method in ("sync", "streaming"):
        sandbox.set_usage(key.key_id, date(2026, 10, 30), hours=0, requests=0, method=method)

    result = sync(key)

    row = DailyUsage.objects.get(api_key=key, day=date(2026, 10, 30))
    assert (row.hours, row.total_hours, row.requests) == (Decimal("1.5"), Decimal("2.25"), 7)
    assert result.rows_changed == 1
    correction = UsageCorrection.objects.get()
    assert (correction.new_total_hours, correction.new_requests) == (Decimal("2.25"), 7)


def test_it_leaves_a_correction_outside_the_window_until_a_backfill(make_key, sandbox, customer_a):
    key = make_key(customer_a)
    sync(key)
    old_day = date(2026, 10, 1)
    before = rows(key)[(old_day, Method.ALL)]
    sandbox.set_usage(key.key_id, old_day, hours="9", requests=9, method="async")

    assert sync(key).rows_changed == 0
    assert rows(key)[(old_day, Method.ALL)] == before

    backfill = sync(key, start=old_day, end=old_day)

    assert backfill.rows_changed == 1
    assert rows(key)[(old_day, Method.ALL)] != before


def test_it_zeroes_a_day_deepgram_no_longer_reports(make_key, sandbox, customer_a):
    key = make_key(customer_a)
    sync(key)
    day = max(d for d, _ in rows(key))
    for method in ("sync", "async", "streaming"):
        sandbox.set_usage(key.key_id, day, hours=0, requests=0, method=method)

    result = sync(key)

    assert rows(key)[(day, Method.ALL)] == (Decimal(0), Decimal(0), 0)
    assert result.rows_changed == 1


def test_it_splits_by_method_when_the_project_says_so(
    make_key, sandbox, customer_a, default_project
):
    default_project.split_usage_by_method = True
    default_project.save()
    key = make_key(customer_a)

    result = sync(key, start=date(2026, 10, 1))

    assert result.api_calls == 3
    stored = rows(key)
    assert {method for _, method in stored} == {Method.SYNC, Method.ASYNC, Method.STREAMING}
    whole = summary(sandbox, key, date(2026, 10, 1), TODAY)
    for day, (_, total_hours, requests) in whole.items():
        parts = [values for (d, _), values in stored.items() if d == day]
        assert sum(p[1] for p in parts) == total_hours
        assert sum(p[2] for p in parts) == requests


def test_it_starts_a_key_created_mid_month_on_its_creation_day(make_key, customer_a):
    key = make_key(customer_a, created=datetime(2026, 10, 17, 15, 30, tzinfo=UTC))

    result = sync(key, start=date(2026, 10, 1))

    assert result.window == (date(2026, 10, 17), TODAY)
    assert min(day for day, _ in rows(key)) >= date(2026, 10, 17)


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


def test_it_zeroes_the_other_split_when_the_project_changes_its_setting(
    make_key, customer_a, default_project
):
    key = make_key(customer_a)
    sync(key, start=date(2026, 10, 20))
    default_project.split_usage_by_method = True
    default_project.save()

    sync(key, start=date(2026, 10, 20))

    stored = rows(key)
    assert all(
        values == (Decimal(0), Decimal(0), 0)
        for (_, method), values in stored.items()
        if method == Method.ALL
    )
    assert any(values[2] for (_, method), values in stored.items() if method != Method.ALL)


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


def test_a_key_stopped_before_its_calls_is_left_whole_for_later(make_key, sandbox, customer_a):
    key = make_key(customer_a)
    (key_window,), _ = windows_of([key], today=TODAY, start=None, end=None)
    client = client_from_settings()
    stop = threading.Event()

    assert fetch_usage(key_window, client, stop=stop).reported  # not stopped: read whole
    calls = client.stats.calls
    stop.set()

    assert fetch_usage(key_window, client, stop=stop) is None  # never a part of a key
    assert client.stats.calls == calls
