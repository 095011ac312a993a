"""Every exchange has a total deadline (connect, headers, whole body) and a body size bound.
Small deadlines keep each test to a second or two; the bounds asserted are "finished", never
exact timings."""

import time

import pytest

from billing_portal.deepgram import (
    AmbiguousCreateError,
    DeadlineExceededError,
    ResponseTooLargeError,
)

FINISHED_WITHIN = 3.0  # seconds: far below what the faults would last if not cut


def elapsed_since(started: float) -> float:
    return time.monotonic() - started


@pytest.fixture
def deadline_client(make_client):
    with make_client(call_deadline=0.5, read_timeout=5.0, max_retries=0) as client:
        yield client


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"kind": "drip", "delay": 0.2, "lasts": 20}, id="dripping-body"),
        pytest.param({"kind": "endless", "delay": 0.05, "lasts": 20}, id="endless-chunks"),
        pytest.param({"kind": "timeout", "delay": 20}, id="silent-server"),
    ],
)
def test_it_cuts_a_call_at_its_deadline(deadline_client, sandbox, fault):
    sandbox.queue_fault(**fault)
    started = time.monotonic()

    with pytest.raises(DeadlineExceededError, match="deadline"):
        deadline_client.list_projects()

    assert elapsed_since(started) < FINISHED_WITHIN


def test_it_retries_a_call_cut_at_its_deadline(make_client, sandbox, project_id):
    sandbox.queue_fault("drip", delay=0.2, lasts=20)
    started = time.monotonic()

    with make_client(call_deadline=0.5, read_timeout=5.0) as client:
        projects = client.list_projects()

    assert project_id in {project.project_id for project in projects}
    assert (client.stats.calls, client.stats.retries) == (2, 1)
    assert elapsed_since(started) < FINISHED_WITHIN


def test_it_reads_a_slow_body_that_ends_before_the_deadline(make_client, sandbox, project_id):
    sandbox.queue_fault("drip", delay=0.001, lasts=20)

    with make_client(call_deadline=10.0, max_retries=0) as client:
        projects = client.list_projects()

    assert project_id in {project.project_id for project in projects}


def test_it_refuses_a_body_larger_than_its_bound_without_retrying(make_client, sandbox):
    sandbox.queue_fault("oversize", size=50_000)

    with make_client(max_body_bytes=10_000) as client, pytest.raises(ResponseTooLargeError):
        client.list_projects()

    assert len(sandbox.calls) == 1


def test_it_refuses_a_chunked_body_once_it_grows_past_its_bound(make_client, sandbox):
    sandbox.queue_fault("endless", delay=0.0005, lasts=20)
    started = time.monotonic()

    client = make_client(max_body_bytes=200, call_deadline=10.0)
    with client, pytest.raises(ResponseTooLargeError):
        client.list_projects()

    assert elapsed_since(started) < FINISHED_WITHIN


def test_it_reads_a_body_of_exactly_its_bound(make_client, sandbox, project_id):
    sandbox.queue_fault("oversize", size=10_000)

    with make_client(max_body_bytes=10_000) as client:
        projects = client.list_projects()

    assert project_id in {project.project_id for project in projects}


def test_it_reports_a_create_cut_at_its_deadline_as_ambiguous(make_client, sandbox, project_id):
    sandbox.queue_fault("drip", method="POST", delay=0.2, lasts=20)

    client = make_client(call_deadline=0.5, read_timeout=5.0)
    with client, pytest.raises(AmbiguousCreateError):
        client.create_key(project_id, comment="slow", scopes=["member"])

    assert [call.method for call in sandbox.calls] == ["POST"]


def test_a_kept_alive_connection_survives_calls_that_finished_in_time(make_client, sandbox):
    with make_client(call_deadline=0.3) as client:
        for _ in range(3):
            client.list_projects()
            time.sleep(0.35)  # past each call's deadline: the watchdog must leave it alone
        client.list_projects()

    assert client.stats.retries == 0
