from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing_portal.deepgram import parsing
from usage.models import UNITS, DailyCost, DailyUsage, KeySyncState
from usage.services import usage_sync_keys

FAULTS = [
    {"kind": "rate_limit"},
    {"kind": "rate_limit", "retry_after": 1},
    {"kind": "server_error", "status": 500},
    {"kind": "server_error", "status": 502},
    {"kind": "server_error", "status": 503},
    {"kind": "timeout", "delay": 0.5},
    {"kind": "malformed"},
]


@pytest.fixture
def fast_retries(settings):
    settings.DEEPGRAM_BACKOFF_BASE = 0.01
    settings.DEEPGRAM_READ_TIMEOUT = 0.25


def snapshot():
    usage = DailyUsage.objects.values_list(
        "api_key__key_id", "day", "endpoint", "method", "model", *UNITS
    )
    cost = DailyCost.objects.values_list("api_key__key_id", "day", "line_item", "dollars")
    return sorted(usage), sorted(cost)


def forget_everything():
    DailyUsage.objects.all().delete()
    DailyCost.objects.all().delete()
    KeySyncState.objects.all().delete()


@pytest.fixture
def keys(make_key, customer_a, customer_b):
    created = datetime(2026, 10, 1, tzinfo=UTC)
    return [
        make_key(customer_a, created=created),
        make_key(customer_a, created=created),
        make_key(customer_b, created=created),
    ]


def test_it_ends_with_the_same_rows_under_transient_faults(keys, sandbox, fast_retries, settings):
    settings.DEEPGRAM_MAX_RETRIES = len(FAULTS)  # the first key meets every fault in turn
    key_ids = [key.pk for key in keys]
    usage_sync_keys(key_ids=key_ids)
    clean = snapshot()
    forget_everything()
    for fault in FAULTS:
        sandbox.queue_fault(path="/usage", **fault)

    totals = usage_sync_keys(key_ids=key_ids)

    assert snapshot() == clean
    assert (totals.keys_ok, totals.keys_failed) == (3, 0)
    assert totals.retries == len(FAULTS)
    # The project's four calls (its line items are known since the first sync), the retries.
    assert totals.api_calls == 4 + len(FAULTS)


@pytest.mark.parametrize("status", [401, 404])
def test_a_permanent_failure_fails_the_projects_keys_and_stores_nothing(
    keys, sandbox, fast_retries, status
):
    sandbox.queue_fault("error", status=status, path="/usage", count=1)

    totals = usage_sync_keys(key_ids=[key.pk for key in keys])

    assert (totals.keys_ok, totals.keys_failed) == (0, 3)  # one answer for all of them
    assert snapshot() == ([], [])
    assert {state.last_error_kind for state in KeySyncState.objects.all()} <= {
        "AuthenticationError",
        "NotFoundError",
    }


@pytest.mark.parametrize("status", [401, 404])
def test_keys_synced_alone_fail_one_by_one(keys, sandbox, fast_retries, status):
    broken = keys[1]
    sandbox.queue_fault("error", status=status, path="/usage", count=1)

    totals = usage_sync_keys(key_ids=[broken.pk, keys[0].pk, keys[2].pk], per_key=True)

    assert (totals.keys_ok, totals.keys_failed) == (2, 1)
    assert not DailyUsage.objects.filter(api_key=broken).exists()
    assert DailyUsage.objects.filter(api_key=keys[0]).exists()
    assert DailyUsage.objects.filter(api_key=keys[2]).exists()
    assert KeySyncState.objects.get(api_key=broken).last_error_kind in {
        "AuthenticationError",
        "NotFoundError",
    }


def test_it_resumes_a_failed_key_on_the_next_run(keys, sandbox, fast_retries):
    sandbox.queue_fault("server_error", path="/usage", count=10)
    first = usage_sync_keys(key_ids=[keys[0].pk])
    assert first.keys_failed == 1
    sandbox.clear_faults()

    second = usage_sync_keys(key_ids=[keys[0].pk])

    assert second.keys_ok == 1 and second.rows_created > 0
    state = KeySyncState.objects.get(api_key=keys[0])
    assert state.consecutive_failures == 0 and state.last_success_at is not None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_syncs_in_parallel_to_the_same_rows(keys, fast_retries, settings):
    settings.USAGE_SYNC_KEY_DAYS_PER_CALL = 1  # a range a day: many ranges to fetch at once
    key_ids = [key.pk for key in keys]
    usage_sync_keys(key_ids=key_ids)
    serial = snapshot()
    forget_everything()

    totals = usage_sync_keys(key_ids=key_ids, concurrency=3)

    assert totals.keys_ok == 3
    assert snapshot() == serial


def test_the_clients_usage_bounds_are_what_the_usage_columns_hold():
    for name in ("hours", "total_hours"):
        column = DailyUsage._meta.get_field(name)
        whole = column.max_digits - column.decimal_places
        largest = Decimal(10**whole) - Decimal(1).scaleb(-column.decimal_places)
        assert largest == parsing.MAX_HOURS
    assert DailyUsage._meta.get_field("requests").get_internal_type() == "BigIntegerField"
    assert parsing.MAX_COUNT == 2**63 - 1


def test_a_chunk_holds_a_bounded_number_of_answers(keys, settings):
    from usage.services.key_sync import ChunkWork, chunk_keys
    from usage.services.key_sync_pool import _in_flight
    from usage.services.sync_window import utc_today, windows_of

    settings.USAGE_SYNC_KEY_DAYS_PER_CALL = 3  # three keys: a day a range
    windows, skipped = windows_of(
        chunk_keys([key.pk for key in keys]), today=utc_today(), start=None, end=None
    )
    work = ChunkWork(windows, skipped)

    settings.USAGE_SYNC_KEY_DAYS_IN_MEMORY = 6
    assert _in_flight(work, concurrency=8) == 2  # two days of three keys
    settings.USAGE_SYNC_KEY_DAYS_IN_MEMORY = 1
    assert _in_flight(work, concurrency=8) == 1  # never none
    settings.USAGE_SYNC_KEY_DAYS_IN_MEMORY = 10_000
    assert _in_flight(work, concurrency=8) == 8  # small answers: the concurrency
