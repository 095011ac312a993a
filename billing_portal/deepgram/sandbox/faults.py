"""Faults the sandbox can inject: queued ones for tests, and a seeded random rate for soak runs.

Besides errors and timeouts, some faults change the real answer (`ALTERING`): a summary
without `results`, a usage number that no usage can have, a body padded past a size; and some
send it slowly (`STREAMING`): one byte, or one chunk of a chunked body that never ends, every
`delay` seconds. A streaming fault stops by itself after `lasts` seconds (at most
MAX_LASTS), or as soon as the client has gone.
"""

import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from .replies import PERMISSION_TEXT, Reply, legacy_error, text_reply

ALTERING = ("no_results", "bad_number", "oversize")
STREAMING = ("drip", "endless")
KINDS = (
    "rate_limit",
    "server_error",
    "timeout",
    "malformed",
    "wrong_shape",
    "text_error",
    "error",
    *ALTERING,
    *STREAMING,
)
NUMBER_FIELDS = (
    "hours",
    "total_hours",
    "requests",
    "agent_hours",
    "tokens_in",
    "tokens_out",
    "tts_characters",
    "dollars",
)
MAX_LASTS = 60.0
_NUMBER = re.compile(r"-?(\d+(\.\d+)?([eE][+-]?\d+)?|Infinity)|NaN")
_PLACEHOLDER = "__sandbox_bad_number__"
SERVER_ERROR_STATUSES = (500, 502, 503)
PROXY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>The upstream server did not answer.</p></body></html>"
)
_LEGACY = {
    400: ("BAD_REQUEST", "Bad request."),
    401: ("INVALID_AUTH", "Invalid credentials."),
    402: ("PAYMENT_REQUIRED", "Insufficient credits."),
    403: ("FORBIDDEN", PERMISSION_TEXT),
    404: ("PROJECT_NOT_FOUND", "Project not found."),
    429: ("TOO_MANY_REQUESTS", "Too many requests. Please try again later."),
    500: ("INTERNAL_SERVER_ERROR", "Internal server error."),
    502: ("BAD_GATEWAY", "Bad gateway."),
    503: ("SERVICE_UNAVAILABLE", "Service unavailable."),
}


@dataclass
class Fault:
    kind: str
    count: int = 1
    status: int | None = None
    retry_after: int | None = None
    method: str | None = None
    path: str | None = None
    committed: bool = False
    delay: float = 3.0
    message: str | None = None  # err_msg of an `error` fault, instead of Deepgram's usual text
    number: str | None = None  # bad_number: the JSON text put in the first row's `field`
    field: str = "hours"
    size: int = 0  # oversize: the body is padded with spaces to this many bytes
    lasts: float = 10.0  # drip, endless: the most seconds the sandbox keeps sending
    after: int = 0  # matching calls answered whole before this fault starts (a sync part-way)

    def __post_init__(self):
        self.status = _checked_status(self.kind, self.status)
        self._check_answer_options()
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.retry_after is not None and (
            isinstance(self.retry_after, bool) or not isinstance(self.retry_after, int)
        ):
            raise ValueError("retry_after must be a whole number of seconds")
        if self.delay < 0:
            raise ValueError("delay must not be negative")
        if isinstance(self.after, bool) or not isinstance(self.after, int) or self.after < 0:
            raise ValueError("after must be a whole number of calls, at least 0")

    def _check_answer_options(self) -> None:
        if self.kind == "bad_number" and not _NUMBER.fullmatch(str(self.number or "")):
            raise ValueError("bad_number takes a JSON number, NaN, Infinity or -Infinity")
        if self.field not in NUMBER_FIELDS:
            raise ValueError(f"field must be one of {', '.join(NUMBER_FIELDS)}")
        if self.kind == "oversize" and (isinstance(self.size, bool) or not self.size > 0):
            raise ValueError("oversize takes a size in bytes")
        if not 0 < self.lasts <= MAX_LASTS:
            raise ValueError(f"lasts must be above 0 and at most {MAX_LASTS:g} seconds")

    def alter(self, reply: Reply) -> Reply:
        """The real answer changed by an ALTERING fault (an error answer stays as it is)."""
        if reply.status != 200:
            return reply
        if self.kind == "oversize":
            reply.body = reply.body.ljust(self.size)  # trailing spaces: still valid JSON
            return reply
        data = json.loads(reply.body)
        if self.kind == "no_results":
            data.pop("results", None)
        elif data.get("results"):
            data["results"][0][self.field] = _PLACEHOLDER
        text = json.dumps(data, separators=(",", ":"))
        reply.body = text.replace(f'"{_PLACEHOLDER}"', str(self.number)).encode()
        return reply

    def stream(self, reply: Reply, alive: Callable[[], bool]) -> Reply:
        """The real answer sent slowly by a STREAMING fault, for at most `lasts` seconds."""
        if reply.status != 200:
            return reply
        if self.kind == "endless":
            reply.headers["Transfer-Encoding"] = "chunked"
            pieces = _forever(b"1\r\n \r\n")  # one space a chunk: never the last chunk
        else:
            pieces = (reply.body[n : n + 1] for n in range(len(reply.body)))
        reply.stream = _paced(pieces, self.delay, time.monotonic() + self.lasts, alive)
        return reply

    def matches(self, method: str, path: str) -> bool:
        """Method must be equal, path must contain the fault's path (when given)."""
        if self.method and self.method.upper() != method:
            return False
        return not self.path or self.path in path

    def reply(self) -> Reply:
        """The answer that replaces the real one (not used for `timeout`, which only delays)."""
        if self.kind == "malformed":
            return text_reply(200, PROXY_PAGE, content_type="text/html; charset=utf-8")
        if self.kind == "wrong_shape":
            return Reply(200, b'["unexpected"]')
        if self.kind == "text_error":
            return text_reply(self.status, PERMISSION_TEXT)
        headers = {}
        if self.kind == "rate_limit" and self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        err_code, err_msg = legacy_text(self.status)
        return legacy_error(self.status, err_code, self.message or err_msg, headers=headers)


def _forever(piece: bytes):
    while True:
        yield piece


def _paced(pieces, delay: float, until: float, alive: Callable[[], bool]):
    """Yield the pieces `delay` seconds apart until `until` (then stop, the body cut short)."""
    for piece in pieces:
        if time.monotonic() >= until or not alive():
            return
        yield piece
        time.sleep(min(delay, max(0.0, until - time.monotonic())))


def legacy_text(status: int) -> tuple[str, str]:
    """err_code and err_msg for a status, Deepgram's where known."""
    if status in _LEGACY:
        return _LEGACY[status]
    phrase = HTTPStatus(status).phrase
    return phrase.upper().replace(" ", "_"), f"{phrase}."


def _checked_status(kind: str, status: int | None) -> int | None:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
    defaults = {"rate_limit": 429, "server_error": 500, "text_error": 401}
    status = status if status is not None else defaults.get(kind)
    if kind == "server_error" and status not in SERVER_ERROR_STATUSES:
        raise ValueError("server_error takes status 500, 502 or 503")
    if kind == "error" and status is None:
        raise ValueError("an error fault needs a status")
    if status is not None:
        HTTPStatus(status)  # raises ValueError for a status that does not exist
    return status


class Faults:
    """Queued faults (first match wins, each used `count` times) and the random fault rate."""

    def __init__(self, rate: float = 0.0, seed: int = 0):
        if not 0 <= rate <= 1:
            raise ValueError("fault_rate must be between 0 and 1")
        self.lock = threading.Lock()
        self.rate, self.seed = rate, seed
        self.queue: list[Fault] = []
        self.random = random.Random(seed)  # noqa: S311 - chaos, not secrets

    def add(self, fault: Fault) -> None:
        with self.lock:
            self.queue.append(fault)

    def clear(self) -> None:
        with self.lock:
            self.queue.clear()

    def reset(self) -> None:
        """No queued faults, and the random ones replay from the start of their sequence."""
        with self.lock:
            self.queue.clear()
            self.random.seed(self.seed)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this API call gets, if any; a queued match is used up before the rate."""
        with self.lock:
            for fault in self.queue:
                if fault.matches(method, path):
                    if fault.after:
                        fault.after -= 1
                        continue
                    fault.count -= 1
                    if fault.count == 0:
                        self.queue.remove(fault)
                    return fault
            if self.rate and self.random.random() < self.rate:
                return self._random_fault()
        return None

    def _random_fault(self) -> Fault:
        status = self.random.choice((429, 500, 502, 503))
        if status == 429:
            return Fault("rate_limit", retry_after=1)
        return Fault("server_error", status=status)
