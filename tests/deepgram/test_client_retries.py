import socket

import pytest

from billing_portal.deepgram import (
    AmbiguousCreateError,
    AuthenticationError,
    BadResponseError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)

TRANSIENT = [
    pytest.param({"kind": "rate_limit"}, id="429"),
    pytest.param({"kind": "rate_limit", "retry_after": 7}, id="429-retry-after"),
    pytest.param({"kind": "server_error", "status": 500}, id="500"),
    pytest.param({"kind": "server_error", "status": 502}, id="502"),
    pytest.param({"kind": "server_error", "status": 503}, id="503"),
    pytest.param({"kind": "timeout", "delay": 1.0}, id="timeout"),
    pytest.param({"kind": "malformed"}, id="not-json"),
    pytest.param({"kind": "wrong_shape"}, id="wrong-shape"),
]


@pytest.mark.parametrize("fault", TRANSIENT)
def test_it_retries_a_transient_fault_once_and_returns_the_value(
    client, sandbox, project_id, fault
):
    sandbox.queue_fault(**fault)

    projects = client.list_projects()

    assert project_id in {project.project_id for project in projects}
    assert len(sandbox.calls) == 2
    assert (client.stats.calls, client.stats.retries) == (2, 1)


def test_it_obeys_retry_after(client, sandbox, sleeps):
    sandbox.queue_fault("rate_limit", retry_after=7, count=2)

    client.list_projects()

    assert sleeps == [7.0, 7.0]


def test_it_backs_off_exponentially_with_jitter_and_a_cap(make_client, sandbox, sleeps):
    client = make_client(max_retries=5, backoff_base=1.0, backoff_cap=4.0)
    sandbox.queue_fault("server_error", count=5)

    client.list_projects()

    ceilings = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(sleeps) == 5
    for waited, ceiling in zip(sleeps, ceilings, strict=True):
        assert ceiling / 2 <= waited <= ceiling


def test_it_caps_a_huge_retry_after(make_client, sandbox, sleeps):
    client = make_client(max_retry_after=30.0)
    sandbox.queue_fault("rate_limit", retry_after=3600)

    client.list_projects()

    assert sleeps == [30.0]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"kind": "server_error", "status": 503}, ServerError),
        ({"kind": "rate_limit", "retry_after": 1}, RateLimitedError),
        ({"kind": "timeout", "delay": 1.0}, TransportError),
        ({"kind": "malformed"}, BadResponseError),
    ],
)
def test_it_gives_up_after_the_last_retry(client, sandbox, fault, error):
    sandbox.queue_fault(count=10, **fault)

    with pytest.raises(error):
        client.list_projects()

    assert len(sandbox.calls) == 4  # one attempt and max_retries=3


def test_it_does_not_retry_a_permanent_error(client, sandbox):
    sandbox.queue_fault("error", status=404)

    with pytest.raises(NotFoundError):
        client.list_projects()

    assert len(sandbox.calls) == 1


def test_it_reads_a_plain_text_permission_error(client, sandbox):
    sandbox.queue_fault("text_error", status=401)

    with pytest.raises(AuthenticationError, match="User does not have sufficient permissions"):
        client.list_projects()

    assert len(sandbox.calls) == 1


def test_it_refuses_a_wrong_management_key(make_client):
    client = make_client(api_key="wrong-key-0123456789")

    with pytest.raises(AuthenticationError) as caught:
        client.list_projects()

    assert "Invalid credentials." in str(caught.value)
    assert caught.value.err_code == "INVALID_AUTH"


def test_it_counts_a_retried_delete_that_finds_the_key_gone_as_done(client, sandbox, project_id):
    created = client.create_key(project_id, comment="to delete", scopes=["member"])
    sandbox.queue_fault("server_error", method="DELETE", committed=True)

    client.delete_key(project_id, created.api_key_id)

    assert [call.status for call in sandbox.calls if call.method == "DELETE"] == [500, 404]
    assert created.api_key_id not in sandbox.key_ids(project_id)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"kind": "server_error", "status": 500}, id="500"),
        pytest.param({"kind": "server_error", "status": 503}, id="503"),
        pytest.param({"kind": "timeout", "delay": 1.0}, id="timeout"),
        pytest.param({"kind": "malformed"}, id="not-json"),
    ],
)
def test_it_never_retries_a_key_creation_and_reports_the_ambiguity(
    client, sandbox, project_id, fault
):
    sandbox.queue_fault(method="POST", **fault)

    with pytest.raises(AmbiguousCreateError) as caught:
        client.create_key(project_id, comment="ambiguous", scopes=["member"])

    assert "may or may not" in str(caught.value)
    assert [call.method for call in sandbox.calls] == ["POST"]


def test_it_reports_a_create_that_did_happen_as_ambiguous(client, sandbox, project_id):
    keys_before = set(sandbox.key_ids(project_id))
    sandbox.queue_fault("server_error", method="POST", committed=True)

    with pytest.raises(AmbiguousCreateError):
        client.create_key(project_id, comment="lost answer", scopes=["member"])

    assert len(set(sandbox.key_ids(project_id)) - keys_before) == 1


def test_it_reports_a_rate_limited_create_as_not_created(client, sandbox, project_id):
    keys_before = sandbox.key_ids(project_id)
    sandbox.queue_fault("rate_limit", method="POST", retry_after=2)

    with pytest.raises(RateLimitedError) as caught:
        client.create_key(project_id, comment="limited", scopes=["member"])

    assert caught.value.retry_after == 2.0
    assert sandbox.key_ids(project_id) == keys_before
    assert len(sandbox.calls) == 1


def test_it_reports_a_refused_connection_on_create_as_not_sent(make_client, project_id):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{closed_port}")

    with pytest.raises(TransportError) as caught:
        client.create_key(project_id, comment="refused", scopes=["member"])

    assert not isinstance(caught.value, AmbiguousCreateError)
    assert caught.value.sent is False
