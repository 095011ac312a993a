"""The matrix of Deepgram's bad answers: each drives a real sync (the client over real HTTP
against the sandbox) with usage already stored, and asserts that no stored usage, correction,
key, customer or invoice changed, that no key's sync moved on, and that the run records the
answer's error kind for every key.

The project-wide answers (usage breakdown, billing breakdown) have a matrix of their own: each
row asks the client the question the sync asks of a project, and asserts that the call fails
with the answer's error kind at once (one call: none of them is retried), never as no usage or
no cost.
"""

import time
from datetime import UTC, date, datetime

import pytest
import requests

from billing_portal.deepgram import DeepgramError, client_from_settings
from usage.models import UNITS, DailyUsage, KeySyncState, SyncRun
from usage.services import usage_sync_run

START, END = date(2026, 10, 1), date(2026, 10, 8)
PERSISTENT = 1000  # the fault answers every call of the sync, retries included
# What a failed sync may change: its run, and the error fields of each key's sync state.
RUN_TABLES = {"usage.SyncRun", "usage.KeySyncState"}
ERROR_FIELDS = {"last_error_at", "last_error", "last_error_kind", "consecutive_failures"}


def bad_number(field, number):
    return {"kind": "bad_number", "field": field, "number": number}


MATRIX = [
    pytest.param({"kind": "no_results"}, "MissingDataError", id="usage-answer-without-results"),
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
    pytest.param(
        {"kind": "drip", "delay": 0.05, "lasts": 5}, "DeadlineExceededError", id="dripping-body"
    ),
    pytest.param(
        {"kind": "endless", "delay": 0.05, "lasts": 5},
        "DeadlineExceededError",
        id="endless-chunked-body",
    ),
    pytest.param({"kind": "timeout", "delay": 5}, "DeadlineExceededError", id="silent-server"),
    pytest.param(
        {"kind": "oversize", "size": 200_000}, "ResponseTooLargeError", id="too-large-by-the-day"
    ),
]


@pytest.fixture
def quick(settings):
    """Small retries, timeouts and deadline: a row takes a second or two at most."""
    settings.DEEPGRAM_MAX_RETRIES = 1
    settings.DEEPGRAM_BACKOFF_BASE = 0.01
    settings.DEEPGRAM_READ_TIMEOUT = 0.5
    settings.DEEPGRAM_CALL_DEADLINE = 0.3
    settings.DEEPGRAM_MAX_BODY_BYTES = 100_000


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


# The same bad answers from the billing breakdown (Deepgram's dollars): the range fails whole,
# its usage is not stored without its cost.
BILLING_MATRIX = [
    pytest.param({"kind": "no_results"}, "MissingDataError", id="billing-without-results"),
    pytest.param(bad_number("dollars", "-0.5"), "BadNumberError", id="negative-dollars"),
    pytest.param(bad_number("dollars", "NaN"), "BadNumberError", id="nan-dollars"),
    pytest.param(bad_number("dollars", "Infinity"), "BadNumberError", id="infinite-dollars"),
    pytest.param(bad_number("dollars", "1e30"), "BadNumberError", id="dollars-1e30"),
    pytest.param({"kind": "malformed"}, "BadResponseError", id="billing-not-json"),
    pytest.param(
        {"kind": "oversize", "size": 200_000}, "ResponseTooLargeError", id="billing-too-large"
    ),
]


@pytest.mark.parametrize(
    ("path", "fault", "kind"),
    [
        *(pytest.param("/usage", *row.values, id=row.id) for row in MATRIX),
        *(pytest.param("/billing", *row.values, id=row.id) for row in BILLING_MATRIX),
    ],
)
def test_a_bad_answer_fails_the_sync_and_changes_nothing_stored(
    synced, sandbox, stored_state, path, fault, kind
):
    before = stored_state()
    sandbox.queue_fault(path=path, count=PERSISTENT, **fault)

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


def usage_rows(keys) -> list[tuple]:
    rows = DailyUsage.objects.filter(api_key__in=keys)
    return sorted(rows.values_list("api_key", "day", "endpoint", "method", "model", *UNITS))


def ranges_asked(sandbox) -> list[tuple[str, str]]:
    """The days of each usage breakdown asked, grouped or not, in order."""
    return [
        (call.query["start"][0], call.query["end"][0])
        for call in sandbox.calls
        if call.path.endswith("/usage/breakdown")
    ]


@pytest.fixture
def summary_size(synced, sandbox, settings):
    """The size in bytes of the sandbox's grouped usage breakdown of the project (the largest
    answer the sync asks for) for October's days."""

    def size(first: int, last: int) -> int:
        response = requests.get(
            f"{sandbox.url}/v1/projects/{settings.SANDBOX_PROJECT_ID}/usage/breakdown",
            params={
                "start": f"2026-10-{first:02d}",
                "end": f"2026-10-{last:02d}",
                "grouping": ["accessor", "endpoint", "method", "models"],
            },
            headers={"Authorization": f"Token {settings.SANDBOX_API_KEY}"},
            timeout=5,
        )
        return len(response.content)

    return size


def test_a_dripping_body_is_cut_at_the_deadline_and_the_sync_finishes(synced, sandbox):
    sandbox.queue_fault("drip", path="/usage", count=PERSISTENT, delay=0.5, lasts=30)
    started = time.monotonic()

    run = sync(synced)

    assert time.monotonic() - started < 5, "each call is cut at 0.3 s, not after 30 s"
    assert run.errors_by_kind == {"DeadlineExceededError": len(synced)}
    assert run.retries == 1  # within the budget: one retry of the project's first call


def test_a_call_cut_at_the_deadline_is_retried_and_the_sync_succeeds(synced, sandbox):
    stored = usage_rows(synced)
    DailyUsage.objects.all().delete()
    sandbox.queue_fault("drip", path="/usage", delay=0.5, lasts=30)

    run = sync(synced)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.retries == 1
    assert usage_rows(synced) == stored


def test_a_too_large_answer_is_asked_for_again_in_halves(synced, sandbox):
    stored = usage_rows(synced)
    DailyUsage.objects.all().delete()
    sandbox.calls.clear()
    sandbox.queue_fault("oversize", path="/usage", size=200_000)  # the first call only

    run = sync(synced)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert usage_rows(synced) == stored
    halves = [("2026-10-01", "2026-10-04"), ("2026-10-05", "2026-10-08")]
    whole = ("2026-10-01", "2026-10-08")
    # The grouped call in halves, then the project's totals (ungrouped) at once.
    assert ranges_asked(sandbox) == [whole, *halves, whole]


def test_a_window_too_large_to_read_is_read_in_as_many_parts_as_it_takes(
    synced, sandbox, settings, summary_size
):
    stored = usage_rows(synced)
    DailyUsage.objects.all().delete()
    whole, two_days = (summary_size(first, last) for first, last in ((1, 8), (1, 2)))
    settings.DEEPGRAM_MAX_BODY_BYTES = two_days + 60  # a window of two days fits, not four
    assert whole > settings.DEEPGRAM_MAX_BODY_BYTES
    sandbox.calls.clear()

    run = sync(synced)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert usage_rows(synced) == stored
    asked = ranges_asked(sandbox)
    assert ("2026-10-01", "2026-10-02") in asked and ("2026-10-07", "2026-10-08") in asked


# --- The project-wide answers ---------------------------------------------------------------

ASKED = {
    "usage": ("/usage/breakdown", ["accessor", "endpoint", "method", "models"]),
    "billing": ("/billing/breakdown", ["accessor", "line_item"]),
}


def project_answer(keys, call: str):
    """The client's reading of the keys' project's `call` breakdown of START..END, grouped as
    the sync asks it."""
    client = client_from_settings()
    ask = client.usage_breakdown if call == "usage" else client.billing_breakdown
    project_id = keys[0].project.project_id
    return ask(project_id, start=START, end=END, grouping=ASKED[call][1])


def project_row(call, fault, kind, name):
    return pytest.param(call, fault, kind, id=f"{call}-{name}")


def bad(call, field, number):
    fault = {"kind": "bad_number", "field": field, "number": number}
    return project_row(call, fault, "BadNumberError", f"{field}-{number}")


TOO_LARGE = {"kind": "oversize", "size": 200_000}

PROJECT_MATRIX = [
    project_row("usage", {"kind": "no_results"}, "MissingDataError", "without-results"),
    project_row("billing", {"kind": "no_results"}, "MissingDataError", "without-results"),
    project_row("usage", {"combine_groupings": False}, "GroupingIgnoredError", "null-groupings"),
    bad("usage", "hours", "-1.5"),
    bad("usage", "agent_hours", "-0.25"),
    bad("usage", "tts_characters", "-3"),
    bad("usage", "tokens_in", "0.5"),
    bad("usage", "total_hours", "NaN"),
    bad("usage", "tokens_out", "Infinity"),
    bad("usage", "requests", "1e30"),
    bad("billing", "dollars", "-0.01"),
    bad("billing", "dollars", "NaN"),
    bad("billing", "dollars", "Infinity"),
    bad("billing", "dollars", "-Infinity"),
    bad("billing", "dollars", "1e30"),
    bad("billing", "dollars", "10000000000"),
    project_row("usage", TOO_LARGE, "ResponseTooLargeError", "too-large"),
    project_row("billing", TOO_LARGE, "ResponseTooLargeError", "too-large"),
]


@pytest.mark.parametrize(("call", "fault", "kind"), PROJECT_MATRIX)
def test_a_bad_project_answer_fails_the_call_at_once(keys, sandbox, quick, call, fault, kind):
    if "kind" in fault:
        sandbox.queue_fault(path=ASKED[call][0], count=PERSISTENT, **fault)
    else:
        sandbox.configure(**fault)  # a mode the sandbox answers in, like a real upstream can

    with pytest.raises(DeepgramError) as caught:
        project_answer(keys, call)

    assert type(caught.value).__name__ == kind
    assert not caught.value.retryable
    assert len(sandbox.calls) == 1


def test_float_noise_dollars_are_read_exactly(keys, sandbox, quick):
    exact = project_answer(keys, "billing").results
    sandbox.configure(float_noise=True)

    noisy = project_answer(keys, "billing").results

    assert noisy == exact
    assert all(row.dollars.as_tuple().exponent == -6 for row in noisy)
