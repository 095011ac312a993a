"""The one place that speaks HTTP to Deepgram's management API.

Rules:
- `Authorization: Token <key>`; one `requests.Session` per client; connect and read timeouts.
- GET and DELETE are retried on 429, 5xx, transport errors and unreadable answers, with capped
  exponential backoff and jitter, honouring `Retry-After`. A DELETE that answers 404 after a
  retry counts as done (the first attempt did it but its answer was lost).
- Key creation (POST) is never retried: a retry could leave a second live key. When its outcome
  is unknown (5xx, timeout after sending, unreadable answer) it raises `AmbiguousCreateError`.
- No error text, log line or repr() ever contains the API key.
"""

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from . import types as t
from .errors import (
    AmbiguousCreateError,
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    DeepgramError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
DayLike = date | str
MAX_ERROR_TEXT = 300


@dataclass
class ClientStats:
    """What a client did, for sync-run bookkeeping and benchmarks."""

    calls: int = 0
    retries: int = 0


class DeepgramClient:
    """A typed client for the management endpoints the portal uses. Not thread-safe: use one
    per thread (`client_from_settings()` does)."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 120.0,
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
        self._sleep = sleep
        self.stats = ClientStats()
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Token {api_key}",
                "Accept": "application/json",
                "User-Agent": "deepgram-billing-portal/0.1",
            }
        )

    def __repr__(self) -> str:
        return f"DeepgramClient(base_url={self.base_url!r}, api_key='***')"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "DeepgramClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- Projects ---------------------------------------------------------------------------

    def list_projects(self) -> list[t.Project]:
        return self._get(_path(), t.parse_projects, "projects")

    def get_project(self, project_id: str) -> t.Project:
        return self._get(_path(project_id), t.parse_project, "project")

    # --- Keys -------------------------------------------------------------------------------

    def create_key(
        self,
        project_id: str,
        *,
        comment: str,
        scopes: Iterable[str],
        tags: Iterable[str] = (),
        expiration_date: datetime | None = None,
        time_to_live_in_seconds: int | None = None,
    ) -> t.CreatedKey:
        """Create a key. One attempt only; see AmbiguousCreateError for unknown outcomes."""
        if expiration_date is not None and time_to_live_in_seconds is not None:
            raise ValueError("give an expiration date or a time to live, not both")
        body: dict[str, Any] = {"comment": comment, "scopes": list(scopes)}
        if tags:
            body["tags"] = list(tags)
        if expiration_date is not None:
            body["expiration_date"] = _utc_iso(expiration_date)
        if time_to_live_in_seconds is not None:
            body["time_to_live_in_seconds"] = int(time_to_live_in_seconds)
        try:
            payload = self._send("POST", _path(project_id, "keys"), json_body=body)
            return t.parse_with(t.parse_created_key, payload, "create-key")
        except TransportError as exc:
            if not exc.sent:
                raise
            raise AmbiguousCreateError(exc) from exc
        except (ServerError, BadResponseError) as exc:
            raise AmbiguousCreateError(exc) from exc

    def list_keys(self, project_id: str, *, status: str | None = None) -> list[t.ProjectKey]:
        params = {"status": status} if status else None
        return self._get(_path(project_id, "keys"), t.parse_project_keys, "list-keys", params)

    def get_key(self, project_id: str, key_id: str) -> t.ProjectKey:
        return self._get(_path(project_id, "keys", key_id), t.parse_project_key, "get-key")

    def delete_key(self, project_id: str, key_id: str) -> None:
        """Delete a key. Raises NotFoundError only if the key was already gone before we asked."""
        self._call(
            "DELETE",
            _path(project_id, "keys", key_id),
            lambda _: None,
            "delete-key",
            done_on_retried_404=True,
        )

    # --- Usage ------------------------------------------------------------------------------

    def usage_summary(
        self,
        project_id: str,
        *,
        start: DayLike,
        end: DayLike,
        accessor: str | None = None,
        tag: str | Iterable[str] | None = None,
        method: str | None = None,
        model: str | None = None,
        features: Mapping[str, bool] | None = None,
    ) -> t.UsageSummary:
        """Daily usage between two UTC days (inclusive), optionally for one accessor (key id)."""
        params = _usage_params(start, end, accessor, tag, method, model, features)
        return self._get(_path(project_id, "usage"), t.parse_usage_summary, "usage", params)

    def usage_breakdown(
        self,
        project_id: str,
        *,
        start: DayLike,
        end: DayLike,
        grouping: str | Iterable[str] | None = None,
        accessor: str | None = None,
        tag: str | Iterable[str] | None = None,
        method: str | None = None,
        model: str | None = None,
        features: Mapping[str, bool] | None = None,
    ) -> t.UsageBreakdown:
        params = _usage_params(start, end, accessor, tag, method, model, features)
        if grouping:
            params["grouping"] = [grouping] if isinstance(grouping, str) else list(grouping)
        return self._get(
            _path(project_id, "usage", "breakdown"),
            t.parse_usage_breakdown,
            "usage breakdown",
            params,
        )

    def usage_fields(
        self, project_id: str, *, start: DayLike | None = None, end: DayLike | None = None
    ) -> t.UsageFields:
        params = _drop_none({"start": _day(start), "end": _day(end)})
        return self._get(
            _path(project_id, "usage", "fields"), t.parse_usage_fields, "usage fields", params
        )

    def iter_requests(
        self,
        project_id: str,
        *,
        start: DayLike | datetime | None = None,
        end: DayLike | datetime | None = None,
        accessor: str | None = None,
        status: str | None = None,
        method: str | None = None,
        endpoint: str | None = None,
        deployment: str | None = None,
        limit: int = 100,
    ) -> Iterator[t.RequestRecord]:
        """Every request in the range, newest first, page by page; stops on a short page.

        Sources disagree on whether pages count from 0 or 1, so the next page is the one after
        the page Deepgram says it returned.
        """
        params = _drop_none(
            {
                "start": _moment(start),
                "end": _moment(end),
                "accessor": accessor,
                "status": status,
                "method": method,
                "endpoint": endpoint,
                "deployment": deployment,
                "limit": limit,
            }
        )
        page = 0
        while True:
            result = self._get(
                _path(project_id, "requests"),
                t.parse_requests_page,
                "requests",
                {**params, "page": page},
            )
            yield from result.requests
            if len(result.requests) < limit:
                return
            page = max(page, result.page) + 1

    def get_request(self, project_id: str, request_id: str) -> t.RequestRecord:
        return self._get(_path(project_id, "requests", request_id), t.parse_request, "request")

    # --- Balances ---------------------------------------------------------------------------

    def list_balances(self, project_id: str) -> list[t.Balance]:
        return self._get(_path(project_id, "balances"), t.parse_balances, "balances")

    def get_balance(self, project_id: str, balance_id: str) -> t.Balance:
        return self._get(_path(project_id, "balances", balance_id), t.parse_balance, "balance")

    # --- Transport --------------------------------------------------------------------------

    def _get(
        self,
        path: str,
        parser: Callable[[Any], T],
        what: str,
        params: Mapping[str, Any] | None = None,
    ) -> T:
        return self._call("GET", path, parser, what, params=params)

    def _call(
        self,
        method: str,
        path: str,
        parser: Callable[[Any], T],
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        done_on_retried_404: bool = False,
    ) -> T:
        """Send with retries (idempotent methods only) and parse the answer."""
        attempt = 0
        while True:
            try:
                payload = self._send(method, path, params=params)
                return t.parse_with(parser, payload, what)
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

    def _retry_delay(self, attempt: int, exc: DeepgramError) -> float:
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        """One HTTP exchange: the decoded JSON, or a typed error."""
        self.stats.calls += 1
        try:
            response = self._session.request(
                method, self.base_url + path, params=params, json=json_body, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise self._transport_error(exc) from None
        if response.status_code >= 400:
            raise self._http_error(response)
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise BadResponseError(
                "Deepgram answered with a body that is not JSON "
                f"({response.headers.get('Content-Type', 'no content type')})",
                status=response.status_code,
                request_id=_header_request_id(response),
            ) from None

    def _transport_error(self, exc: requests.RequestException) -> TransportError:
        sent = not isinstance(exc, requests.ConnectTimeout) and not _connection_refused(exc)
        kind = "timed out" if isinstance(exc, requests.Timeout) else "failed"
        return TransportError(
            self._scrub(f"Request to Deepgram {kind}: {type(exc).__name__}"), sent=sent
        )

    def _http_error(self, response: requests.Response) -> DeepgramError:
        message, err_code, request_id = _error_details(response)
        kwargs = {"status": response.status_code, "request_id": request_id, "err_code": err_code}
        message = self._scrub(message)
        status = response.status_code
        if status in (401, 403):
            return AuthenticationError(message, **kwargs)
        if status == 404:
            return NotFoundError(message, **kwargs)
        if status == 429:
            return RateLimitedError(message, retry_after=_retry_after(response), **kwargs)
        if status >= 500:
            return ServerError(message, **kwargs)
        return BadRequestError(message, **kwargs)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***")


# --- Helpers --------------------------------------------------------------------------------


def _path(*parts: str) -> str:
    return "/v1/projects" + "".join("/" + quote(str(part), safe="") for part in parts)


def _day(value: DayLike | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _moment(value: DayLike | datetime | None) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return _day(value)


def _utc_iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("expiration_date must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop_none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in params.items() if value is not None}


def _usage_params(start, end, accessor, tag, method, model, features) -> dict[str, Any]:
    params = _drop_none(
        {
            "start": _day(start),
            "end": _day(end),
            "accessor": accessor,
            "method": method,
            "model": model,
        }
    )
    if tag:
        params["tag"] = [tag] if isinstance(tag, str) else list(tag)
    for name, flag in (features or {}).items():
        if not isinstance(flag, bool):
            raise TypeError(f"feature filter {name!r} must be True or False")
        # Deepgram wants lowercase; requests would send Python's "True".
        params[name] = "true" if flag else "false"
    return params


def _error_details(response: requests.Response) -> tuple[str, str, str]:
    """Deepgram's message, error code and request id from any of its three error shapes."""
    request_id = _header_request_id(response)
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        message = body.get("err_msg") or body.get("message") or body.get("details") or ""
        err_code = body.get("err_code") or body.get("category") or ""
        request_id = str(body.get("request_id") or request_id)
        return str(message) or response.reason or "error", str(err_code), request_id
    text = response.text.strip()[:MAX_ERROR_TEXT]
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


_local = threading.local()


def client_from_settings() -> DeepgramClient:
    """This thread's client for the configured Deepgram (real API or sandbox alike), rebuilt
    when the settings change."""
    from django.conf import settings

    options = {
        "base_url": settings.DEEPGRAM_API_URL,
        "api_key": settings.DEEPGRAM_API_KEY,
        "connect_timeout": settings.DEEPGRAM_CONNECT_TIMEOUT,
        "read_timeout": settings.DEEPGRAM_READ_TIMEOUT,
        "max_retries": settings.DEEPGRAM_MAX_RETRIES,
        "backoff_base": settings.DEEPGRAM_BACKOFF_BASE,
    }
    client = getattr(_local, "client", None)
    if client is None or _local.options != options:
        if client is not None:
            client.close()
        client = DeepgramClient(**options)
        _local.client, _local.options = client, options
    return client
