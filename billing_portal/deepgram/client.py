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
- Days are sent as ISO dates, moments as UTC; feature filters as lowercase booleans; a
  grouping as one `grouping=` parameter a dimension, spelled as the caller gives it.
- A grouped breakdown (usage or billing) is checked row by row: a null field for a dimension
  grouped by raises `GroupingIgnoredError` (see `parsing_usage`), unless the caller passes
  `check_grouping=False`.
- A 403 is `MissingPermissionError`; for the billing calls it names `billing:read`.
- No error text, log line or repr() ever contains the API key.
"""

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from . import parsing, parsing_usage, query
from . import types as t
from .errors import (
    AmbiguousCreateError,
    BadRequestError,
    BadResponseError,
    GroupingIgnoredError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
)
from .query import DayLike
from .transport import ClientStats, Transport

# The longest the client ever waits between two tries of a call: its backoff's cap, and the
# longest `Retry-After` it obeys (a longer one fails the call). The sync's takeover reads them.
BACKOFF_CAP_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0

BILLING_PERMISSION = "billing:read"
# What the grouping probe asks in one call, beside the model dimension, and the model
# dimension's spellings: the spec's first, then the docs' (deepgram-api.md 2.2).
PROBED_GROUPING = ("accessor", "endpoint", "method")
MODEL_GROUPINGS = ("models", "model")


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
        return self._http.get(query.path(), parsing.parse_projects, "projects")

    def get_project(self, project_id: str) -> t.Project:
        return self._http.get(query.path(project_id), parsing.parse_project, "project")

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
            body["expiration_date"] = query.utc_iso(expiration_date)
        if time_to_live_in_seconds is not None:
            body["time_to_live_in_seconds"] = int(time_to_live_in_seconds)
        try:
            payload = self._http.send("POST", query.path(project_id, "keys"), json_body=body)
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
            query.path(project_id, "keys"), parsing.parse_project_keys, "list-keys", params
        )

    def get_key(self, project_id: str, key_id: str) -> t.ProjectKey:
        return self._http.get(
            query.path(project_id, "keys", key_id), parsing.parse_project_key, "get-key"
        )

    def delete_key(self, project_id: str, key_id: str) -> None:
        """Delete a key. Raises NotFoundError only if the key was already gone before we asked."""
        self._http.call(
            "DELETE",
            query.path(project_id, "keys", key_id),
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
        params = query.usage_params(start, end, accessor, tag, method, model, features)
        return self._http.get(
            query.path(project_id, "usage"), parsing_usage.parse_usage_summary, "usage", params
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
        endpoint: str | None = None,
        deployment: str | None = None,
        features: Mapping[str, bool] | None = None,
        check_grouping: bool = True,
    ) -> t.UsageBreakdown:
        """Usage per UTC day and combination of the `grouping` dimensions (the model's spelled
        `models` or `model`, as the caller chooses). GroupingIgnoredError when a row comes back
        null for a dimension asked (unless `check_grouping` is False)."""
        params = query.usage_params(start, end, accessor, tag, method, model, features)
        params.update(query.drop_none({"endpoint": endpoint, "deployment": deployment}))
        asked = query.groupings(grouping)
        if asked:
            params["grouping"] = list(asked)
        checked = asked if check_grouping else ()
        return self._http.get(
            query.path(project_id, "usage", "breakdown"),
            lambda data: parsing_usage.parse_usage_breakdown(data, checked),
            "usage breakdown",
            params,
        )

    def probe_usage_groupings(
        self, project_id: str, *, day: DayLike, accessor: str | None = None
    ) -> t.GroupingSupport:
        """Whether accessor, endpoint, method and the model dimension combine in one usage
        breakdown, and which spelling of the model dimension Deepgram takes, seen on `day`
        (for one `accessor` only when given: a smaller answer on a large project).

        Each spelling is tried in turn (`models`, the spec's, first): a 400 means Deepgram does
        not take it; rows all filled mean they combine; rows with the model alone null mean
        that spelling is ignored; rows with other dimensions null mean they do not combine,
        and one more call grouped by the model alone shows whether that spelling works alone.
        A day without usage shows nothing: `combines` is None (`known` False) with the
        spelling taken, and the caller probes again on a day with usage before remembering it.
        Neither spelling filled: `model_grouping` is None; both refused: the last 400 raised.

        Calls: 1 where they combine as the spec spells them; 2 where only `model` is taken and
        they combine, or they do not combine as `models`; 3 where only `model` is taken and
        they do not combine; at most 4. An empty day costs 1 (2 where only `model` is taken).
        `calls` counts them, retries included.
        """
        before, refused = self.stats.calls, []
        for spelling in MODEL_GROUPINGS:
            try:
                ignored = self._ignored_on(project_id, day, accessor, (*PROBED_GROUPING, spelling))
            except BadRequestError as exc:
                refused.append(exc)
                continue
            combines = True
            if ignored and ignored != (spelling,):  # they do not combine: the model alone?
                combines = False
                ignored = self._ignored_on(project_id, day, accessor, (spelling,))
            if ignored is None:  # a day without usage: nothing to see
                return t.GroupingSupport(None, spelling, self.stats.calls - before)
            if not ignored:
                return t.GroupingSupport(combines, spelling, self.stats.calls - before)
            # The model came back null: this spelling is taken but ignored; try the other.
        if len(refused) == len(MODEL_GROUPINGS):
            raise refused[-1]
        return t.GroupingSupport(False, None, self.stats.calls - before)

    def _ignored_on(self, project_id, day, accessor, grouping) -> tuple[str, ...] | None:
        """The dimensions of `grouping` a breakdown of `day` left null: () when every row has
        them all, None when the day has no rows (no usage: nothing to see)."""
        try:
            answer = self.usage_breakdown(
                project_id, start=day, end=day, grouping=grouping, accessor=accessor
            )
        except GroupingIgnoredError as exc:
            return exc.dimensions
        return () if answer.results else None

    def usage_fields(
        self, project_id: str, *, start: DayLike | None = None, end: DayLike | None = None
    ) -> t.UsageFields:
        params = query.drop_none({"start": query.day(start), "end": query.day(end)})
        return self._http.get(
            query.path(project_id, "usage", "fields"),
            parsing.parse_usage_fields,
            "usage fields",
            params,
        )

    # --- Billing ----------------------------------------------------------------------------

    def billing_breakdown(
        self,
        project_id: str,
        *,
        start: DayLike,
        end: DayLike,
        grouping: str | Iterable[str] | None = None,
        accessor: str | None = None,
        deployment: str | None = None,
        tag: str | None = None,
        line_item: str | None = None,
        check_grouping: bool = True,
    ) -> t.BillingBreakdown:
        """Deepgram's cost in USD per UTC day and combination of the `grouping` dimensions
        (accessor, deployment, line_item, tags). Needs `billing:read` (MissingPermissionError
        without it); GroupingIgnoredError when a row comes back null for a dimension asked
        (unless `check_grouping` is False)."""
        params = query.drop_none(
            {
                "start": query.day(start),
                "end": query.day(end),
                "accessor": accessor,
                "deployment": deployment,
                "tag": tag,
                "line_item": line_item,
            }
        )
        asked = query.groupings(grouping)
        if asked:
            params["grouping"] = list(asked)
        checked = asked if check_grouping else ()
        return self._http.get(
            query.path(project_id, "billing", "breakdown"),
            lambda data: parsing_usage.parse_billing_breakdown(data, checked),
            "billing breakdown",
            params,
            permission=BILLING_PERMISSION,
        )

    def billing_fields(
        self, project_id: str, *, start: DayLike | None = None, end: DayLike | None = None
    ) -> t.BillingFields:
        """The accessors, deployments, tags and line items (code -> label) of a project's
        billing. Needs `billing:read` (MissingPermissionError without it)."""
        params = query.drop_none({"start": query.day(start), "end": query.day(end)})
        return self._http.get(
            query.path(project_id, "billing", "fields"),
            parsing_usage.parse_billing_fields,
            "billing fields",
            params,
            permission=BILLING_PERMISSION,
        )

    # --- Requests ---------------------------------------------------------------------------

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
        params = query.drop_none(
            {
                "start": query.moment(start),
                "end": query.moment(end),
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
                query.path(project_id, "requests"),
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
            query.path(project_id, "requests", request_id), parsing.parse_request, "request"
        )

    # --- Balances ---------------------------------------------------------------------------

    def list_balances(self, project_id: str) -> list[t.Balance]:
        return self._http.get(
            query.path(project_id, "balances"), parsing.parse_balances, "balances"
        )

    def get_balance(self, project_id: str, balance_id: str) -> t.Balance:
        return self._http.get(
            query.path(project_id, "balances", balance_id), parsing.parse_balance, "balance"
        )


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
