"""The portal's typed client of Deepgram's management API: one method per endpoint it uses.

Rules:
- The client is the only code that knows Deepgram's URLs, query parameters and JSON shapes; it
  returns typed values (`types`) and raises typed errors (`errors`). HTTP, retries and error
  mapping are the `transport`'s.
- GET and DELETE are retried (see `transport`); key creation (POST) is never retried: a retry
  could leave a second live key. When its outcome is unknown (5xx, timeout or deadline after
  sending, unreadable or oversize answer) it raises `AmbiguousCreateError`.
- Every exchange has a total deadline (`call_deadline`) and a body size bound
  (`max_body_bytes`); see `transport`.
- Days are sent as ISO dates, moments as UTC; feature filters as lowercase booleans.
- No error text, log line or repr() ever contains the API key.
"""

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from . import parsing
from . import types as t
from .errors import (
    AmbiguousCreateError,
    BadResponseError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
)
from .transport import ClientStats, Transport

DayLike = date | str

# The longest the client ever waits between two tries of a call: its backoff's cap, and the
# longest `Retry-After` it obeys (a longer one fails the call). The sync's takeover reads them.
BACKOFF_CAP_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0


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
        backoff_cap: float = BACKOFF_CAP_SECONDS,
        max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
        call_deadline: float = 60.0,
        max_body_bytes: int = 10 * 2**20,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._http = Transport(
            api_key=api_key,
            base_url=base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            max_retry_after=max_retry_after,
            call_deadline=call_deadline,
            max_body_bytes=max_body_bytes,
            sleep=sleep,
        )
        self.base_url = self._http.base_url
        self.stats: ClientStats = self._http.stats

    def __repr__(self) -> str:
        return f"DeepgramClient(base_url={self.base_url!r}, api_key='***')"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "DeepgramClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- Projects ---------------------------------------------------------------------------

    def list_projects(self) -> list[t.Project]:
        return self._http.get(_path(), parsing.parse_projects, "projects")

    def get_project(self, project_id: str) -> t.Project:
        return self._http.get(_path(project_id), parsing.parse_project, "project")

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
            payload = self._http.send("POST", _path(project_id, "keys"), json_body=body)
            return parsing.parse_with(parsing.parse_created_key, payload, "create-key")
        except TransportError as exc:
            if not exc.sent:
                raise
            raise AmbiguousCreateError(exc) from exc
        except (ServerError, BadResponseError, ResponseTooLargeError) as exc:
            raise AmbiguousCreateError(exc) from exc

    def list_keys(self, project_id: str, *, status: str | None = None) -> list[t.ProjectKey]:
        params = {"status": status} if status else None
        return self._http.get(
            _path(project_id, "keys"), parsing.parse_project_keys, "list-keys", params
        )

    def get_key(self, project_id: str, key_id: str) -> t.ProjectKey:
        return self._http.get(
            _path(project_id, "keys", key_id), parsing.parse_project_key, "get-key"
        )

    def delete_key(self, project_id: str, key_id: str) -> None:
        """Delete a key. Raises NotFoundError only if the key was already gone before we asked."""
        self._http.call(
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
        return self._http.get(
            _path(project_id, "usage"), parsing.parse_usage_summary, "usage", params
        )

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
        return self._http.get(
            _path(project_id, "usage", "breakdown"),
            parsing.parse_usage_breakdown,
            "usage breakdown",
            params,
        )

    def usage_fields(
        self, project_id: str, *, start: DayLike | None = None, end: DayLike | None = None
    ) -> t.UsageFields:
        params = _drop_none({"start": _day(start), "end": _day(end)})
        return self._http.get(
            _path(project_id, "usage", "fields"), parsing.parse_usage_fields, "usage fields", params
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
            result = self._http.get(
                _path(project_id, "requests"),
                parsing.parse_requests_page,
                "requests",
                {**params, "page": page},
            )
            yield from result.requests
            if len(result.requests) < limit:
                return
            page = max(page, result.page) + 1

    def get_request(self, project_id: str, request_id: str) -> t.RequestRecord:
        return self._http.get(
            _path(project_id, "requests", request_id), parsing.parse_request, "request"
        )

    # --- Balances ---------------------------------------------------------------------------

    def list_balances(self, project_id: str) -> list[t.Balance]:
        return self._http.get(_path(project_id, "balances"), parsing.parse_balances, "balances")

    def get_balance(self, project_id: str, balance_id: str) -> t.Balance:
        return self._http.get(
            _path(project_id, "balances", balance_id), parsing.parse_balance, "balance"
        )


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
        "call_deadline": settings.DEEPGRAM_CALL_DEADLINE,
        "max_body_bytes": settings.DEEPGRAM_MAX_BODY_BYTES,
    }
    client = getattr(_local, "client", None)
    if client is None or _local.options != options:
        if client is not None:
            client.close()
        client = DeepgramClient(**options)
        _local.client, _local.options = client, options
    return client
