"""The sandbox's own HTTP control interface under /__sandbox__/ (no auth, so it answers
clients on this machine only; JSON in and out).

It mirrors SandboxServer's Python methods for a sandbox running in another process
(`make run`, browser tests): faults, latency, usage corrections, config, reset, call log, keys.
"""

import dataclasses
import json
import urllib.request
from datetime import datetime

from .replies import Reply, json_reply

PREFIX = "/__sandbox__"


def is_control(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _queue_fault(server, payload: dict):
    return server.queue_fault(payload.pop("kind"), **payload)


def _set_usage(server, payload: dict):
    return server.set_usage(payload.pop("key_id"), payload.pop("day"), **payload)


def _add_key(server, payload: dict):
    return server.add_key(payload.pop("comment"), **payload)


def _calls(server, payload: dict):
    return {"calls": [dataclasses.asdict(record) for record in list(server.calls)]}


ROUTES = {
    ("POST", "/faults"): _queue_fault,
    ("DELETE", "/faults"): lambda server, payload: server.clear_faults(),
    ("POST", "/latency"): lambda server, payload: server.set_latency(payload["ms"]),
    ("POST", "/usage"): _set_usage,
    ("POST", "/config"): lambda server, payload: server.configure(**payload),
    ("POST", "/reset"): lambda server, payload: server.reset(),
    ("GET", "/calls"): _calls,
    ("GET", "/keys"): lambda server, payload: {"keys": server.describe_keys()},
    ("POST", "/keys"): _add_key,
}


def answer(server, method: str, path: str, body: bytes) -> Reply:
    """Run one control call; bad input is a 400 `{"error": ...}`, success `{"ok": true}`
    unless the call has something to report."""
    handler = ROUTES.get((method, path[len(PREFIX) :].rstrip("/")))
    if handler is None:
        return json_reply({"error": f"no control endpoint {method} {path}"}, status=404)
    try:
        payload = json.loads(body) if body.strip() else {}
        if not isinstance(payload, dict):
            raise TypeError("the body must be a JSON object")
        result = handler(server, payload)
    except (ValueError, TypeError, KeyError) as error:
        return json_reply({"error": f"{type(error).__name__}: {error}"}, status=400)
    return json_reply(result if result is not None else {"ok": True})


class ControlClient:
    """The control interface seen from another process (the demo seeder): add a key that was
    "made in the console", with a creation time in the past; correct a day's usage."""

    def __init__(self, base_url: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/") + PREFIX
        self.timeout = timeout

    def add_key(
        self,
        comment: str,
        *,
        api_key_id: str,
        created: datetime,
        project_id: str,
        scopes=("member",),
    ) -> None:
        body = {
            "comment": comment,
            "api_key_id": api_key_id,
            "created": created.isoformat(),
            "project_id": project_id,
            "scopes": list(scopes),
        }
        request = urllib.request.Request(  # noqa: S310 - our own sandbox's http URL
            f"{self.base_url}/keys",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310 - as above
            pass  # urlopen raises HTTPError for a refusal

    def set_usage(self, key_id: str, day: str, **usage) -> None:
        """Correct one key's usage on one day (as `SandboxServer.set_usage`: a line of an
        endpoint, method and model with `endpoint` and `model`)."""
        body = {"key_id": key_id, "day": day, **usage}
        request = urllib.request.Request(  # noqa: S310 - our own sandbox's http URL
            f"{self.base_url}/usage",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310 - as above
            pass
