"""The matrix of Deepgram's bad answers: each drives a real sync (the client over real HTTP
against the sandbox) with usage already stored, and asserts that no stored usage, correction,
key, customer or invoice changed, that no key's sync moved on, and that the run records the
answer's error kind for every key."""

from datetime import UTC, date, datetime

import pytest

from usage.models import DailyUsage, KeySyncState, SyncRun
from usage.services import usage_sync_run

START, END = date(2026, 10, 1), date(2026, 10, 8)
PERSISTENT = 1000  # the fault answers every call of the sync, retries included
# What a failed sync may change: its run, and the error fields of each key's sync state.
RUN_TABLES = {"usage.SyncRun", "usage.KeySyncState"}
ERROR_FIELDS = {"last_error_at", "last_error", "last_error_kind", "consecutive_failures"}


def bad_number(field, number):
    return {"kind": "bad_number", "field": field, "number": number}


MATRIX = [
    pytest.param({"kind": "no_results"}, "MissingDataError", id="summary-without-results"),
    pytest.param(bad_number("hours", "-1.5"), "BadNumberError", id="negative-hours"),
    pytest.param(bad_number("total_hours", "-2"), "BadNumberError", id="negative-total-hours"),
    pytest.param(bad_number("requests", "-3"), "BadNumberError", id="negative-requests"),
    pytest.param(bad_number("hours", "NaN"), "BadNumberError", id="nan-hours"),
    pytest.param(bad_number("hours", "Infinity"), "BadNumberError", id="infinite-hours"),
    pytest.param(bad_number("requests", "-Infinity"), "BadNumberError", id="minus-infinity"),
    pytest.param(bad_number("hours", "1e30"), "BadNumberError", id="hours-1e30"),
    pytest.param(bad_number("requests", "1e30"), "BadNumberError", id="requests-1e30"),
    pytest.param(bad_number("requests", "0.5"), "BadNumberError", id="half-a-request"),
    pytest.param({"kind": "malformed"}, "BadResponseError", id="not-json"),
    pytest.param({"kind": "wrong_shape"}, "BadResponseError", id="wrong-shape"),
    pytest.param({"kind": "server_error", "status": 503}, "ServerError", id="503-throughout"),
]


@pytest.fixture
def quick(settings):
    """Small retries and timeouts: a row takes well under a second or two."""
    settings.DEEPGRAM_MAX_RETRIES = 1
    settings.DEEPGRAM_BACKOFF_BASE = 0.01
    settings.DEEPGRAM_READ_TIMEOUT = 0.5


@pytest.fixture
def keys(sandbox, key_of, customer_a, customer_b):
    """Two keys on Deepgram (fixed ids: fixed synthetic usage), each a customer's."""
    made = []
    for n, customer in enumerate((customer_a, customer_b), start=1):
        key_id = f"a11ce0de-0000-4000-8000-{n:012d}"
        created = datetime(2026, 9, 1, tzinfo=UTC)
        sandbox.add_key(customer.name, api_key_id=key_id, created=created)
        made.append(key_of(customer, key_id, created_at=created))
    return made


def sync(keys) -> SyncRun:
    run = usage_sync_run(trigger="manual", key_ids=[key.pk for key in keys], start=START, end=END)
    return SyncRun.objects.get(pk=run.pk)


@pytest.fixture
def synced(keys, sandbox, quick):
    """The keys with their usage of START..END stored by a clean sync."""
    assert sync(keys).status == SyncRun.Status.SUCCEEDED
    assert DailyUsage.objects.filter(api_key__in=keys).count() > 0
    return keys


def without_error_fields(states: list[tuple]) -> list[tuple]:
    names = [field.attname for field in KeySyncState._meta.concrete_fields]
    keep = [n for n, name in enumerate(names) if name not in ERROR_FIELDS]
    return [tuple(row[n] for n in keep) for row in states]


@pytest.mark.parametrize(("fault", "kind"), MATRIX)
def test_a_bad_answer_fails_the_sync_and_changes_nothing_stored(
    synced, sandbox, stored_state, fault, kind
):
    before = stored_state()
    sandbox.queue_fault(path="/usage", count=PERSISTENT, **fault)

    run = sync(synced)

    after = stored_state()
    for table in set(before) - RUN_TABLES:
        assert after[table] == before[table], f"{table} changed"
    states = "usage.KeySyncState"
    assert without_error_fields(after[states]) == without_error_fields(before[states])
    assert run.status == SyncRun.Status.FAILED
    assert run.errors_by_kind == {kind: len(synced)}
    assert run.rows_created == run.rows_changed == 0
    for state in KeySyncState.objects.filter(api_key__in=synced):
        assert state.last_error_kind == kind
        assert state.consecutive_failures == 1
