"""HTTP to Deepgram's management API: one session, timeouts, retries and typed errors.

Rules:
- `Authorization: Token <key>`; one `requests.Session` per transport.
- Every exchange has a total deadline (`call_deadline` seconds: connect, headers and the whole
  body; see `deadline`), connect and read timeouts never beyond the time left. An overrun is
  `DeadlineExceededError`, a transport error, so it is retried like a timeout.
- A body beyond `max_body_bytes` (by its Content-Length, or as it streams in) is refused:
  `ResponseTooLargeError`, never retried.
- JSON is decoded with every fraction a Decimal; NaN and Infinity are `BadNumberError`.
- GET and DELETE are retried on 429, 5xx, transport errors and unreadable answers, with capped
  exponential backoff and jitter, honouring `Retry-After`. A DELETE that answers 404 after a
  retry counts as done (the first attempt did it but its answer was lost).
- `send` is one attempt, never retried (key creation uses it: see `DeepgramClient.create_key`).
- An HTTP error becomes the typed error of its status: 401 `AuthenticationError` (a bad key),
  403 `MissingPermissionError` (a known key without the permission: the call's `permission`,
  when the caller names one, is in its text), 404 `NotFoundError`, 429 `RateLimitedError`, 5xx
  `ServerError`, any other 4xx `BadRequestError`. A connection that was never made is a
  `TransportError` with `sent=False`, so the caller knows the request surely had no effect.
- No error text, log line or repr() ever contains the API key.
"""

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import msgspec
import requests

from .deadline import DeadlineAdapter, Exchange, watched
from .errors import (
    AuthenticationError,
    BadNumberError,
    BadRequestError,
    BadResponseError,
    DeadlineExceededError,
    DeepgramError,
    MissingPermissionError,
    NotFoundError,
    RateLimitedError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
)
from .parsing import parse_with

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ERROR_TEXT = 300
CHUNK_BYTES = 64 * 1024


@dataclass
class ClientStats:
    """What a client did, for sync-run bookkeeping and benchmarks."""

    calls: int = 0
    retries: int = 0


class Transport:
    """Sends requests to Deepgram and decodes the answers. Not thread-safe: one per client."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        connect_timeout: float,
        read_timeout: float,
        max_retries: int,
        backoff_base: float,
        backoff_cap: float,
        max_retry_after: float,
        call_deadline: float,
        max_body_bytes: int,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not api_key:
            raise ValueError("a Deepgram API key is required")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.call_deadline = call_deadline
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self.stats = ClientStats()
        self._session = requests.Session()
        for prefix in ("http://", "https://"):
            self._session.mount(prefix, DeadlineAdapter())
        self._session.headers.update(
            {
                "Authorization": f"Token {api_key}",
                "Accept": "application/json",
                "User-Agent": "deepgram-billing-portal/0.1",
            }
        )

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, api_key='***')"

    def close(self) -> None:
        self._session.close()

    def get(
        self,
        path: str,
        parser: Callable[[Any], T],
        what: str,
        params: Mapping[str, Any] | None = None,
        *,
        permission: str | None = None,
    ) -> T:
        return self.call("GET", path, parser, what, params=params, permission=permission)

    def call(
        self,
        method: str,
        path: str,
        parser: Callable[[Any], T],
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        done_on_retried_404: bool = False,
        permission: str | None = None,
    ) -> T:
        """Send with retries (idempotent methods only) and parse the answer. `permission` is
        the one a 403 most likely means is missing."""
        attempt = 0
        while True:
            try:
                payload = self.send(method, path, params=params, permission=permission)
                return parse_with(parser, payload, what)
            except NotFoundError:
                if done_on_retried_404 and attempt > 0:
                    return parser(None)
                raise
            except DeepgramError as exc:
                if not exc.retryable or attempt >= self.max_retries:
                    raise
                delay = self._retry_delay(attempt, exc)
                logger.warning(
                    "Deepgram %s %s failed (%s); retry %d of %d in %.2fs",
                    method,
                    path,
                    exc,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                self.stats.retries += 1
                self._sleep(delay)
                attempt += 1

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        permission: str | None = None,
    ) -> Any:
        """One HTTP exchange within the call deadline: the decoded JSON, or a typed error."""
        self.stats.calls += 1
        with watched(self.call_deadline) as exchange:
            try:
                response = self._session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=json_body,
                    timeout=exchange.timeouts(*self.timeout),
                    stream=True,
                )
            except requests.RequestException as exc:
                raise self._transport_error(exc, exchange) from None
            with response:
                body = self._read_body(response, exchange)
        if response.status_code >= 400:
            raise self._http_error(response, body, permission)
        try:
            return decode_json(body)
        except _NotFinite as exc:
            raise BadNumberError(
                f"Deepgram answered with {exc}, which is not a finite number",
                status=response.status_code,
                request_id=_header_request_id(response),
            ) from None
        except ValueError:
            raise BadResponseError(
                "Deepgram answered with a body that is not JSON "
                f"({response.headers.get('Content-Type', 'no content type')})",
                status=response.status_code,
                request_id=_header_request_id(response),
            ) from None

    def _read_body(self, response: requests.Response, exchange: Exchange) -> bytes:
        """The whole body, within the deadline and the size bound."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large(response)
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(CHUNK_BYTES):
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise self._too_large(response)
                if exchange.expired():
                    break
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise self._transport_error(exc, exchange) from None
        if exchange.expired():  # a body cut at the deadline may look whole: never read it
            raise self._deadline_error()
        return b"".join(chunks)

    def _too_large(self, response: requests.Response) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"Deepgram's answer is larger than {self.max_body_bytes} bytes; ask for less",
            status=response.status_code,
            request_id=_header_request_id(response),
        )

    def _deadline_error(self) -> DeadlineExceededError:
        return DeadlineExceededError(
            f"Deepgram's answer took longer than the call deadline ({self.call_deadline:g} s)"
        )

    def _retry_delay(self, attempt: int, exc: DeepgramError) -> float:
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security

    def _transport_error(
        self, exc: requests.RequestException, exchange: Exchange
    ) -> TransportError:
        if exchange.expired():  # the watchdog cut the connection, or a read ran out of time
            return self._deadline_error()
        sent = not isinstance(exc, requests.ConnectTimeout) and not _connection_refused(exc)
        kind = "timed out" if isinstance(exc, requests.Timeout) else "failed"
        return TransportError(
            self._scrub(f"Request to Deepgram {kind}: {type(exc).__name__}"), sent=sent
        )

    def _http_error(
        self, response: requests.Response, body: bytes, permission: str | None
    ) -> DeepgramError:
        message, err_code, request_id = _error_details(response, body)
        kwargs = {"status": response.status_code, "request_id": request_id, "err_code": err_code}
        message = self._scrub(message)
        status = response.status_code
        if status == 401:
            return AuthenticationError(message, **kwargs)
        if status == 403:
            return MissingPermissionError(message, permission=permission, **kwargs)
        if status == 404:
            return NotFoundError(message, **kwargs)
        if status == 429:
            return RateLimitedError(message, retry_after=_retry_after(response), **kwargs)
        if status >= 500:
            return ServerError(message, **kwargs)
        return BadRequestError(message, **kwargs)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***")


class _NotFinite(ValueError):
    pass


def _not_finite(name: str):
    raise _NotFinite(name)


# msgspec reads JSON several times faster than the standard library (a month of a large
# project is hundreds of megabytes), with every fraction handed to Decimal as its own text.
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def decode_json(body: bytes) -> Any:
    """JSON with every fraction a Decimal (no float on the way) and NaN, Infinity refused.

    What msgspec will not read (invalid JSON, NaN or Infinity) is read again by the standard
    library, so that a non-finite number is told apart (`_NotFinite`) from malformed JSON
    (`ValueError`) exactly as before."""
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError:
        return json.loads(body, parse_float=Decimal, parse_constant=_not_finite)


def _error_details(response: requests.Response, content: bytes) -> tuple[str, str, str]:
    """Deepgram's message, error code and request id from any of its three error shapes."""
    request_id = _header_request_id(response)
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        message = body.get("err_msg") or body.get("message") or body.get("details") or ""
        err_code = body.get("err_code") or body.get("category") or ""
        request_id = str(body.get("request_id") or request_id)
        return str(message) or response.reason or "error", str(err_code), request_id
    text = content.decode("utf-8", errors="replace").strip()[:MAX_ERROR_TEXT]
    return text or response.reason or "error", "", request_id


def _header_request_id(response: requests.Response) -> str:
    return response.headers.get("dg-request-id", "")


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if absent."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _connection_refused(exc: requests.RequestException) -> bool:
    # A refused connection never carried the request; urllib3 reports it as NewConnectionError.
    return isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc.args)
