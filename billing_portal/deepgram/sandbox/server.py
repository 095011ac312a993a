"""SandboxServer: a threaded HTTP stand-in for Deepgram's management API.

Every API call is logged, delayed by the configured latency, then either answered by a queued
(or random) fault or checked for the management token and routed to `Api`. Control calls under
/__sandbox__/ skip all of that, and answer clients on this machine only.
"""

import dataclasses
import hmac
import ipaddress
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from secrets import token_hex
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from . import catalog, control, corrections
from .api import Api, Clock
from .config import Config
from .faults import ALTERING, STREAMING, Fault, Faults
from .replies import Reply, json_reply, legacy_error
from .state import Key, State, parse_moment

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "sandbox-management-key"  # noqa: S105 - public, sandbox-only
DEFAULT_PROJECT_ID = "5a4d0b2e-0000-4000-8000-5a4db0c5e001"


@dataclass
class CallRecord:
    """One API call as it arrived; `status` is filled in when the answer is known."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    status: int | None = None


class SandboxServer:
    """Deepgram's management API on a local port, with keys, usage, faults and a call log.

    `today` (a callable returning a UTC date) pins the sandbox's calendar for date-sensitive
    tests; the wall-clock time of day still passes.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        project_id: str = DEFAULT_PROJECT_ID,
        state_file=None,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        seed: int = 0,
        today=None,
    ):
        self._check_latency(latency_ms)
        self.token, self.project_id = token, project_id
        self.latency_ms = self._initial_latency = latency_ms
        self.projects = {project_id: catalog.MAIN_PROJECT_NAME}
        self.projects.setdefault(catalog.STAGING_PROJECT_ID, catalog.STAGING_PROJECT_NAME)
        self.clock = Clock(today)
        self.state = State(list(self.projects), state_file)
        self.config = Config()
        self.faults = Faults(fault_rate, seed)
        self.api = Api(self.state, self.projects, self.config, self.clock)
        self.calls: list[CallRecord] = []
        self._generation = 0
        self._httpd = _HttpServer((host, port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None

    # --- running --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "SandboxServer":
        """Serve in a background daemon thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="deepgram-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    # --- test and operator controls -------------------------------------------------------

    def reset(self) -> None:
        """Back to the start: seeded keys only, no faults or overrides, the latency given at
        construction, default config, empty call log."""
        self.state.clear()
        self.faults.reset()
        self.latency_ms = self._initial_latency
        self.config.update(**dataclasses.asdict(Config()))
        self.api.memo.clear()
        self.calls.clear()
        self._generation += 1

    def queue_fault(
        self,
        kind: str,
        *,
        count: int = 1,
        status: int | None = None,
        retry_after: int | None = None,
        method: str | None = None,
        path: str | None = None,
        committed: bool = False,
        delay: float = 3.0,
        message: str | None = None,
        **answer_options,
    ) -> None:
        """Make the next `count` API calls matching method (exact) and path (substring) fail
        (after the first `after` of them, an answer option, are answered whole).
        `answer_options` (number, field, size, lasts) shape the altering and streaming faults
        (see `faults`)."""
        self.faults.add(
            Fault(
                kind,
                count,
                status,
                retry_after,
                method,
                path,
                committed,
                delay,
                message,
                **answer_options,
            )
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_latency(self, ms: float) -> None:
        self._check_latency(ms)
        self.latency_ms = ms

    def configure(self, **switches) -> None:
        """Set switches of `Config` (see `config`): key_envelope, request_envelope,
        summary_extras, combine_groupings, model_grouping, model_names, drop_grouped_rows,
        float_noise, billing_read."""
        self.config.update(**switches)

    def set_usage(
        self,
        key_id,
        day,
        *,
        hours,
        requests,
        total_hours=None,
        method=None,
        model=None,
        endpoint="listen",
        tts_characters=0,
        agent_hours=0,
        tokens_in=0,
        tokens_out=0,
    ):
        """Correct one key's usage on one UTC day; it wins over synthetic usage.

        As before: one method's speech to text (`method` defaults to async), split across
        models as synthetic usage is. With `model`, or another `endpoint`, one line of that
        (endpoint, method, model) instead, whatever the rest of the day holds (see
        `corrections`); no requests removes it.
        """
        if key_id not in self.state.keys:
            raise ValueError(f"unknown key {key_id}")
        method, model, override = corrections.checked(
            endpoint,
            method,
            model,
            requests,
            hours=hours,
            total_hours=total_hours,
            tts_characters=tts_characters,
            agent_hours=agent_hours,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )
        day = day if isinstance(day, date) else date.fromisoformat(day)
        if model is None:
            self.state.set_override(key_id, day, method, override)
        else:
            self.state.set_line_override((key_id, day, endpoint, method, model), override)

    def add_key(
        self,
        comment,
        *,
        scopes=("member",),
        tags=(),
        created=None,
        project_id=None,
        api_key_id=None,
    ):
        """A key 'made in the Deepgram console': it exists without any API call.

        A fixed `api_key_id` makes its synthetic usage the same on every run.
        """
        project_id = project_id or self.project_id
        if project_id not in self.projects:
            raise ValueError(f"unknown project {project_id}")
        if isinstance(created, str):
            created = parse_moment(created)
        key = Key(
            api_key_id=api_key_id or str(uuid4()),
            project_id=project_id,
            comment=comment,
            scopes=tuple(scopes),
            tags=tuple(tags),
            created=created or self.clock.now(),
        )
        self.state.put(key)
        return {"api_key_id": key.api_key_id, "key": token_hex(20)}

    def key_ids(self, project_id=None, include_deleted=False) -> list[str]:
        keys = self.state.project_keys(project_id or self.project_id, include_deleted)
        return [key.api_key_id for key in keys]

    def describe_keys(self) -> list[dict]:
        """Every key of every project, deleted ones included; never a secret."""
        return [
            key.to_json()
            for project_id in self.projects
            for key in self.state.project_keys(project_id, include_deleted=True)
        ]

    @staticmethod
    def _check_latency(ms) -> None:
        if isinstance(ms, bool) or not isinstance(ms, int | float) or ms < 0:
            raise ValueError("latency must be a non-negative number of milliseconds")

    # --- answering ------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers, body: bytes, client: str = "127.0.0.1"
    ) -> Reply:
        """Answer one HTTP request from `client` (an IP address) (called from the server's
        worker threads). The control interface has no auth: it answers this machine only,
        however the sandbox is bound (`--host 0.0.0.0` for a demo on the network)."""
        parts = urlsplit(target)
        if control.is_control(parts.path):
            if not _is_local(client):
                return json_reply(
                    {"error": "The sandbox's control interface answers this machine only."},
                    status=403,
                )
            return control.answer(self, method, parts.path, body)
        record = CallRecord(method, parts.path, parse_qs(parts.query, keep_blank_values=True))
        self.calls.append(record)
        reply = self._api_call(record, headers, body)
        record.status = reply.status
        return reply

    def _api_call(self, record: CallRecord, headers, body: bytes) -> Reply:
        generation = self._generation
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

        def answer() -> Reply:
            # A call still sleeping when a test reset the sandbox must not change the next
            # test's state; its client has long gone.
            if generation != self._generation:
                return legacy_error(503, "SERVICE_UNAVAILABLE", "The sandbox was reset.")
            return self._authorised(record, headers.get("Authorization", ""), body)

        fault = self.faults.take(record.method, record.path)
        if fault is None:
            return answer()
        if fault.kind == "timeout":
            return _late(fault, answer)
        if fault.kind in ALTERING:
            return fault.alter(answer())
        if fault.kind in STREAMING:
            return fault.stream(answer(), lambda: generation == self._generation)
        if fault.committed:
            answer()  # Deepgram did the work; only the answer gets lost
        return fault.reply()

    def _authorised(self, record: CallRecord, authorization: str, body: bytes) -> Reply:
        expected = f"Token {self.token}".encode()
        if not hmac.compare_digest(authorization.encode(), expected):
            return legacy_error(401, "INVALID_AUTH", "Invalid credentials.")
        return self.api.answer(record.method, record.path, record.query, body)


def _is_local(client: str) -> bool:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return (mapped or address).is_loopback


def _late(fault: Fault, answer) -> Reply:
    """A timeout: answer only after `delay`; with `committed` the work is done before waiting."""
    if fault.committed:
        reply = answer()
        time.sleep(fault.delay)
        return reply
    time.sleep(fault.delay)
    return answer()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once; the default is 5

    def handle_error(self, request, client_address) -> None:
        # A client that cut the connection (a deadline, a refused body) is no sandbox failure.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DeepgramSandbox/1.0"
    # Headers and body go out in two writes; with Nagle on, a kept-alive connection waits for
    # the client's delayed ACK (~40 ms) between them.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            reply = self.server.sandbox.handle(
                self.command, self.path, self.headers, body, client=self.client_address[0]
            )
        except Exception:
            logger.exception("Deepgram sandbox failed on %s %s", self.command, self.path)
            reply = legacy_error(500, "INTERNAL_SERVER_ERROR", "Sandbox failure.")
        self._send(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            if "Transfer-Encoding" not in reply.headers:
                self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("dg-request-id", reply.request_id)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.stream is not None:
                self._send_stream(reply)
                return
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up first (a timeout fault)

    def _send_stream(self, reply: Reply) -> None:
        """Headers (the Content-Length of the whole body, or chunked), then the pieces as
        they come; the connection closes after them, whether the body was whole or not."""
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        for piece in reply.stream:
            self.wfile.write(piece)
            self.wfile.flush()

    def log_message(self, format, *args) -> None:
        logger.debug("%s " + format, self.address_string(), *args)
