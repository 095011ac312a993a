"""The sandbox's HTTP control interface, its state file and the deepgram_sandbox command."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command

from billing_portal.deepgram.sandbox import SandboxServer

TOKEN = settings.SANDBOX_API_KEY
PROJECT = settings.SANDBOX_PROJECT_ID
KEYS = f"/v1/projects/{PROJECT}/keys"
ROOT = Path(__file__).resolve().parents[2]


def api(server, method="GET", path=KEYS, **kwargs):
    headers = {"Authorization": f"Token {TOKEN}"}
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kwargs)


def control(server, method, name, body=None):
    response = requests.request(method, f"{server.url}/__sandbox__/{name}", json=body, timeout=10)
    return response


def test_it_queues_and_clears_faults_over_http(sandbox):
    queued = control(
        sandbox, "POST", "faults", {"kind": "rate_limit", "retry_after": 2, "count": 2}
    )

    assert queued.json() == {"ok": True}
    assert api(sandbox).headers["Retry-After"] == "2"
    control(sandbox, "DELETE", "faults")
    assert api(sandbox).status_code == 200


def test_it_sets_latency_over_http(sandbox):
    control(sandbox, "POST", "latency", {"ms": 25})

    assert sandbox.latency_ms == 25


def test_it_corrects_usage_over_http(sandbox):
    key_id = sandbox.key_ids()[0]
    body = {"key_id": key_id, "day": "2026-03-04", "method": "sync", "hours": "1.5",
            "total_hours": 2, "requests": 9}  # fmt: skip

    assert control(sandbox, "POST", "usage", body).status_code == 200

    params = {"start": "2026-03-04", "end": "2026-03-04", "method": "sync"}
    row = api(sandbox, path=f"/v1/projects/{PROJECT}/usage", params=params).json()["results"][0]
    assert (row["hours"], row["total_hours"], row["requests"]) == (1.5, 2, 9)


def test_it_configures_envelopes_over_http(sandbox):
    control(sandbox, "POST", "config", {"key_envelope": "flat", "summary_extras": False})

    key_id = sandbox.key_ids()[0]
    assert set(api(sandbox, path=f"{KEYS}/{key_id}").json()) == {"member", "api_key"}


def test_it_resets_over_http(sandbox):
    api(sandbox, "POST", json={"comment": "A", "scopes": ["member"]})

    control(sandbox, "POST", "reset")

    assert len(sandbox.key_ids()) == 1


def test_it_shows_the_call_log_over_http(sandbox):
    api(sandbox, params={"status": "active"})

    calls = control(sandbox, "GET", "calls").json()["calls"]

    assert calls == [
        {"method": "GET", "path": KEYS, "query": {"status": ["active"]}, "status": 200}
    ]


def test_it_shows_keys_without_secrets_over_http(sandbox):
    created = api(sandbox, "POST", json={"comment": "A", "scopes": ["member"]}).json()
    api(sandbox, "DELETE", f"{KEYS}/{created['api_key_id']}")

    response = control(sandbox, "GET", "keys")

    keys = {k["api_key_id"]: k for k in response.json()["keys"]}
    assert keys[created["api_key_id"]]["comment"] == "A"
    assert keys[created["api_key_id"]]["deleted"]
    assert {"created", "deleted", "comment", "project_id"} <= set(keys[created["api_key_id"]])
    assert created["key"] not in response.text


def test_it_adds_a_console_key_over_http(sandbox):
    added = control(sandbox, "POST", "keys", {"comment": "By hand", "tags": ["x"]}).json()

    assert added["api_key_id"] in sandbox.key_ids()


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("faults", {"kind": "meteor"}),
        ("faults", {}),
        ("faults", {"kind": "rate_limit", "colour": "red"}),
        ("latency", {"ms": -5}),
        ("usage", {"key_id": "nope", "day": "2026-03-04", "hours": 1, "requests": 1}),
        ("config", {"key_envelope": "deep"}),
    ],
)
def test_it_refuses_bad_control_calls_with_a_400(sandbox, name, body):
    response = control(sandbox, "POST", name, body)

    assert response.status_code == 400
    assert "error" in response.json()


def test_it_refuses_a_control_body_that_is_no_json_object(sandbox):
    response = requests.post(f"{sandbox.url}/__sandbox__/latency", data=b"[1]", timeout=10)

    assert response.status_code == 400


def test_it_answers_404_for_an_unknown_control_endpoint(sandbox):
    assert control(sandbox, "GET", "everything").status_code == 404


def test_it_needs_no_token_and_logs_nothing_for_control_calls(sandbox):
    assert control(sandbox, "GET", "keys").status_code == 200
    assert sandbox.calls == []


def _server(path, **kwargs):
    return SandboxServer(port=0, token=TOKEN, project_id=PROJECT, state_file=path, **kwargs)


def test_it_keeps_keys_and_corrections_across_restarts(tmp_path):
    path = tmp_path / "sandbox.json"
    first = _server(path).start()
    try:
        kept = api(first, "POST", json={"comment": "Kept", "scopes": ["member"], "tags": ["t"]})
        gone = api(first, "POST", json={"comment": "Gone", "scopes": ["member"]}).json()
        api(first, "DELETE", f"{KEYS}/{gone['api_key_id']}")
        first.set_usage(kept.json()["api_key_id"], "2026-03-04", hours="3.5", requests=7)
        before = first.describe_keys()
    finally:
        first.stop()

    second = _server(path).start()
    try:
        assert second.describe_keys() == before
        assert kept.json()["api_key_id"] in second.key_ids()
        assert gone["api_key_id"] in second.key_ids(include_deleted=True)
        assert gone["api_key_id"] not in second.key_ids()
        params = {"accessor": kept.json()["api_key_id"], "start": "2026-03-04", "end": "2026-03-04"}
        row = api(second, path=f"/v1/projects/{PROJECT}/usage", params=params).json()["results"]
        assert (row[0]["hours"], row[0]["requests"]) == (3.5, 7)
    finally:
        second.stop()
    assert kept.json()["key"] not in path.read_text()
    assert gone["key"] not in path.read_text()


def test_it_saves_the_seeded_state_on_reset(tmp_path):
    path = tmp_path / "sandbox.json"
    server = _server(path)
    server.add_key("Temporary")

    server.reset()
    server.stop()

    assert len(json.loads(path.read_text())["keys"]) == 2  # one console key per project


def test_it_refuses_an_unreadable_state_file(tmp_path):
    path = tmp_path / "sandbox.json"
    path.write_text("{broken")

    with pytest.raises(ValueError, match="unreadable"):
        _server(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault-rate", "1.5"], "fault-rate"),
        (["--fault-rate", "-0.1"], "fault-rate"),
        (["--latency-ms", "-1"], "latency"),
    ],
)
def test_it_refuses_bad_command_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("deepgram_sandbox", *args)


def test_it_reports_a_port_in_use_as_a_command_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(CommandError, match=f"127.0.0.1:{port}"):
            call_command("deepgram_sandbox", "--port", str(port))


def test_it_serves_from_the_command_until_interrupted(tmp_path):
    command = [sys.executable, "manage.py", "deepgram_sandbox", "--port", "0",
               "--state", str(tmp_path / "state.json")]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        match = re.fullmatch(
            r"Deepgram sandbox listening on (http://127\.0\.0\.1:\d+) \(project (.+)\)\n", line
        )
        assert match, line
        assert match[2] == PROJECT
        headers = {"Authorization": f"Token {TOKEN}"}
        assert requests.get(match[1] + KEYS, headers=headers, timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert TOKEN not in line + output


def test_the_control_interface_answers_this_machine_only(sandbox):
    headers = {"Authorization": f"Token {TOKEN}"}

    refused = sandbox.handle("POST", "/__sandbox__/reset", {}, b"", client="192.0.2.10")
    local = sandbox.handle("GET", "/__sandbox__/keys", {}, b"", client="::ffff:127.0.0.1")
    api_call = sandbox.handle("GET", KEYS, headers, b"", client="192.0.2.10")

    assert refused.status == 403
    assert json.loads(refused.body) == {
        "error": "The sandbox's control interface answers this machine only."
    }
    assert local.status == 200 and "keys" in json.loads(local.body)
    assert api_call.status == 200  # the API itself takes its token from anywhere


def test_a_network_client_is_refused_the_control_interface_over_http():
    address = _non_loopback_address()
    server = SandboxServer(host="0.0.0.0", token=TOKEN, project_id=PROJECT)  # noqa: S104
    server.start()
    try:
        port = server.url.rsplit(":", 1)[1]
        remote = requests.get(f"http://{address}:{port}/__sandbox__/keys", timeout=10)
        local = requests.get(f"http://127.0.0.1:{port}/__sandbox__/keys", timeout=10)
    finally:
        server.stop()

    assert remote.status_code == 403
    assert local.status_code == 200


def _non_loopback_address() -> str:
    """This machine's address on its network (what a colleague's browser would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        address = probe.getsockname()[0]
    assert not address.startswith("127."), "the machine has no network address to test from"
    return address
