"""Injected faults, latency and the call log of the sandbox."""

import time

import pytest
import requests
from django.conf import settings

from billing_portal.deepgram.sandbox import SandboxServer

TOKEN = settings.SANDBOX_API_KEY
PROJECT = settings.SANDBOX_PROJECT_ID
KEYS = f"/v1/projects/{PROJECT}/keys"
USAGE = f"/v1/projects/{PROJECT}/usage"


def call(server, method="GET", path=KEYS, *, timeout=10, **kwargs):
    headers = {"Authorization": f"Token {TOKEN}"}
    return requests.request(method, server.url + path, headers=headers, timeout=timeout, **kwargs)


def create(server, **kwargs):
    body = {"comment": "Customer A", "scopes": ["member"]}
    return call(server, "POST", KEYS, json=body, **kwargs)


def test_it_answers_a_rate_limit_with_retry_after(sandbox):
    sandbox.queue_fault("rate_limit", retry_after=7)

    response = call(sandbox)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    body = response.json()
    assert set(body) == {"err_code", "err_msg", "request_id"}
    assert body["request_id"] == response.headers["dg-request-id"]


def test_it_answers_a_rate_limit_without_retry_after_unless_asked(sandbox):
    sandbox.queue_fault("rate_limit")

    response = call(sandbox)

    assert response.status_code == 429
    assert "Retry-After" not in response.headers


def test_it_uses_a_fault_up_for_count_calls(sandbox):
    sandbox.queue_fault("rate_limit", count=2)

    statuses = [call(sandbox).status_code for _ in range(3)]

    assert statuses == [429, 429, 200]


def test_it_uses_queued_faults_in_order(sandbox):
    sandbox.queue_fault("server_error", status=503)
    sandbox.queue_fault("rate_limit")

    statuses = [call(sandbox).status_code for _ in range(3)]

    assert statuses == [503, 429, 200]


@pytest.mark.parametrize("status", [None, 500, 502, 503])
def test_it_answers_a_server_error_with_a_legacy_body(sandbox, status):
    sandbox.queue_fault("server_error", status=status)

    response = call(sandbox)

    assert response.status_code == (status or 500)
    assert set(response.json()) == {"err_code", "err_msg", "request_id"}


def test_it_refuses_a_server_error_status_that_is_not_5xx(sandbox):
    with pytest.raises(ValueError, match="500, 502 or 503"):
        sandbox.queue_fault("server_error", status=404)


def test_it_delays_a_timed_out_call_past_the_client_s_patience(sandbox):
    sandbox.queue_fault("timeout", delay=0.5)

    with pytest.raises(requests.ReadTimeout):
        call(sandbox, timeout=(5, 0.1))

    assert call(sandbox).status_code == 200


def test_it_answers_a_timed_out_call_normally_for_a_patient_client(sandbox):
    sandbox.queue_fault("timeout", delay=0.2)

    response = call(sandbox)

    assert response.status_code == 200
    assert "api_keys" in response.json()


def test_it_answers_malformed_html_with_200(sandbox):
    sandbox.queue_fault("malformed")

    response = call(sandbox)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_it_answers_valid_json_of_the_wrong_shape(sandbox):
    sandbox.queue_fault("wrong_shape")

    response = call(sandbox)

    assert response.status_code == 200
    assert response.json() == ["unexpected"]


def test_it_answers_a_plain_text_permission_error(sandbox):
    sandbox.queue_fault("text_error")

    response = call(sandbox)

    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "User does not have sufficient permissions."


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (404, "PROJECT_NOT_FOUND", "Project not found."),
        (401, "INVALID_AUTH", "Invalid credentials."),
    ],
)
def test_it_answers_an_error_of_any_status_with_a_legacy_body(sandbox, status, code, message):
    sandbox.queue_fault("error", status=status)

    body = call(sandbox).json()

    assert (body["err_code"], body["err_msg"]) == (code, message)


def test_it_needs_a_status_for_an_error_fault(sandbox):
    with pytest.raises(ValueError, match="status"):
        sandbox.queue_fault("error")
    with pytest.raises(ValueError, match="kind"):
        sandbox.queue_fault("meteor")


def test_it_saves_a_fault_for_the_call_it_matches(sandbox):
    sandbox.queue_fault("server_error", method="POST", path="/keys")

    assert call(sandbox, path=USAGE).status_code == 200
    assert call(sandbox).status_code == 200
    assert create(sandbox).status_code == 500
    assert create(sandbox).status_code == 200


def test_it_drops_the_answer_but_keeps_the_key_when_committed(sandbox):
    sandbox.queue_fault("server_error", method="POST", committed=True)

    assert create(sandbox).status_code == 500

    assert len(sandbox.key_ids()) == 2


def test_it_creates_no_key_for_an_uncommitted_server_error(sandbox):
    sandbox.queue_fault("server_error", method="POST")

    assert create(sandbox).status_code == 500

    assert len(sandbox.key_ids()) == 1


def test_it_deletes_before_timing_out_when_committed(sandbox):
    key_id = create(sandbox).json()["api_key_id"]
    sandbox.queue_fault("timeout", method="DELETE", committed=True, delay=1.0)

    with pytest.raises(requests.ReadTimeout):
        call(sandbox, "DELETE", f"{KEYS}/{key_id}", timeout=(5, 0.2))

    assert key_id not in sandbox.key_ids()


def test_it_drops_a_late_answer_that_outlived_a_reset(sandbox):
    sandbox.queue_fault("timeout", method="POST", delay=0.3)
    with pytest.raises(requests.ReadTimeout):
        create(sandbox, timeout=(5, 0.05))

    sandbox.reset()
    time.sleep(0.5)

    assert len(sandbox.key_ids()) == 1


def test_it_clears_queued_faults(sandbox):
    sandbox.queue_fault("rate_limit", count=5)

    sandbox.clear_faults()

    assert call(sandbox).status_code == 200


def test_it_faults_at_random_at_the_given_rate_repeatably():
    def statuses(rate):
        server = SandboxServer(port=0, token=TOKEN, project_id=PROJECT, fault_rate=rate, seed=7)
        server.start()
        try:
            return [call(server) for _ in range(40)]
        finally:
            server.stop()

    always, first, second = statuses(1.0), statuses(0.5), statuses(0.5)

    assert {r.status_code for r in always} <= {429, 500, 502, 503}
    assert all(r.headers.get("Retry-After") == "1" for r in always if r.status_code == 429)
    assert [r.status_code for r in first] == [r.status_code for r in second]
    assert 5 < sum(r.status_code != 200 for r in first) < 35


def test_it_refuses_a_fault_rate_outside_zero_to_one():
    with pytest.raises(ValueError, match="fault_rate"):
        SandboxServer(port=0, fault_rate=1.5)


def test_it_adds_latency_to_api_calls(sandbox):
    sandbox.set_latency(200)
    began = time.monotonic()

    call(sandbox)

    assert time.monotonic() - began >= 0.2
    with pytest.raises(ValueError):
        sandbox.set_latency(-1)


def test_it_logs_every_api_call_in_order_with_its_status(sandbox):
    sandbox.queue_fault("rate_limit", path="/usage")
    call(sandbox, path=USAGE, params={"start": "2026-03-01", "tag": ["a", "b"]}, timeout=10)
    requests.get(sandbox.url + KEYS, timeout=10)
    create(sandbox)
    requests.get(sandbox.url + "/__sandbox__/calls", timeout=10)

    logged = [(c.method, c.path, c.query, c.status) for c in sandbox.calls]

    assert logged == [
        ("GET", USAGE, {"start": ["2026-03-01"], "tag": ["a", "b"]}, 429),
        ("GET", KEYS, {}, 401),
        ("POST", KEYS, {}, 200),
    ]
    sandbox.reset()
    assert sandbox.calls == []


def test_it_answers_a_summary_without_results(sandbox):
    sandbox.queue_fault("no_results", path="/usage")

    body = call(sandbox, path=USAGE, params={"start": "2026-10-01", "end": "2026-10-03"}).json()

    assert "results" not in body and {"start", "end", "resolution"} <= set(body)


@pytest.mark.parametrize(
    ("path", "field", "number"),
    [
        ("/billing/breakdown", "dollars", "NaN"),
        ("/billing/breakdown", "dollars", "-0.5"),
        ("/usage/breakdown", "tts_characters", "-5"),
        ("/usage/breakdown", "agent_hours", "Infinity"),
    ],
)
def test_it_puts_a_bad_number_into_a_breakdown(sandbox, path, field, number):
    sandbox.add_key("Acme", created="2026-09-01T00:00:00Z")
    sandbox.queue_fault("bad_number", path=path, field=field, number=number)
    days = {"start": "2026-10-01", "end": "2026-10-03"}

    text = call(sandbox, path=f"/v1/projects/{PROJECT}{path}", params=days).text

    assert f'"{field}":{number},' in text
    assert call(sandbox, path=f"/v1/projects/{PROJECT}{path}", params=days).json()["results"]


def test_it_pads_an_oversize_answer_with_spaces_keeping_it_json(sandbox):
    sandbox.queue_fault("oversize", size=5000)

    response = call(sandbox)

    assert len(response.content) == 5000 and "api_keys" in response.json()


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"kind": "bad_number"}, id="bad_number-without-a-number"),
        pytest.param({"kind": "bad_number", "number": "12abc"}, id="bad_number-not-a-number"),
        pytest.param({"kind": "bad_number", "number": "1", "field": "usd"}, id="unknown-field"),
        pytest.param({"kind": "oversize"}, id="oversize-without-a-size"),
        pytest.param({"kind": "drip", "lasts": 3600}, id="drip-unbounded"),
    ],
)
def test_it_refuses_an_answer_fault_it_could_not_keep(sandbox, options):
    with pytest.raises(ValueError):
        sandbox.queue_fault(**options)


def test_it_stops_an_endless_body_by_itself(sandbox):
    sandbox.queue_fault("endless", delay=0.01, lasts=0.3)
    started = time.monotonic()

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        call(sandbox, timeout=5).json()

    assert time.monotonic() - started < 3
