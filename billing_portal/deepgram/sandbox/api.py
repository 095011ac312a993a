"""The Deepgram management endpoints the sandbox answers, in the documented shapes.

Handlers assume the caller is authenticated; `SandboxServer` checks the token, latency and
faults before it gets here.
"""

import dataclasses
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from . import breakdowns, catalog, reports, request_log
from .config import Config
from .memo import DayLinesMemo
from .params import (
    Query,
    UsageFilter,
    billing_filter,
    billing_groupings,
    bounded_int,
    first,
    groupings,
    moment_range,
    usage_filter,
)
from .replies import (
    ApiError,
    Reply,
    bad_body,
    bad_query,
    json_reply,
    legacy_error,
    no_permission,
    not_found,
)
from .state import Key, State, parse_moment


class Clock:
    """Today and now in UTC; a `today` callable moves the date but keeps the time of day."""

    def __init__(self, today=None):
        self._today = today

    def today(self) -> date:
        return self._today() if self._today else datetime.now(UTC).date()

    def now(self) -> datetime:
        wall = datetime.now(UTC)
        return datetime.combine(self.today(), wall.timetz()) if self._today else wall


@dataclass(frozen=True)
class Call:
    query: Query
    body: bytes


_PROJECT = r"/v1/projects/(?P<project>[^/]+)"
ROUTES = [
    (verb, re.compile(pattern), name)
    for verb, pattern, name in (
        ("GET", r"/v1/projects", "list_projects"),
        ("GET", _PROJECT, "get_project"),
        ("GET", _PROJECT + r"/keys", "list_keys"),
        ("POST", _PROJECT + r"/keys", "create_key"),
        ("GET", _PROJECT + r"/keys/(?P<key_id>[^/]+)", "get_key"),
        ("GET", _PROJECT + r"/members", "list_members"),
        ("DELETE", _PROJECT + r"/keys/(?P<key_id>[^/]+)", "delete_key"),
        ("GET", _PROJECT + r"/usage", "usage_summary"),
        ("GET", _PROJECT + r"/usage/breakdown", "usage_breakdown"),
        ("GET", _PROJECT + r"/usage/fields", "usage_fields"),
        ("GET", _PROJECT + r"/requests", "list_requests"),
        ("GET", _PROJECT + r"/requests/(?P<request_id>[^/]+)", "get_request"),
        ("GET", _PROJECT + r"/billing/breakdown", "billing_breakdown"),
        ("GET", _PROJECT + r"/billing/fields", "billing_fields"),
        ("GET", _PROJECT + r"/balances", "list_balances"),
        ("GET", _PROJECT + r"/balances/(?P<balance_id>[^/]+)", "get_balance"),
    )
]


class Api:
    def __init__(self, state: State, projects: dict[str, str], config: Config, clock: Clock):
        self.state, self.projects, self.config, self.clock = state, projects, config, clock
        self.memo = DayLinesMemo()

    def answer(self, method: str, path: str, query: Query, body: bytes) -> Reply:
        """Route one authenticated call; unknown paths and methods are a 404."""
        for verb, pattern, name in ROUTES:
            match = pattern.fullmatch(path)
            if match is None or verb != method:
                continue
            try:
                if "project" in match.groupdict():
                    self._check_project(match["project"])
                return getattr(self, name)(Call(query, body), **match.groupdict())
            except ApiError as error:
                return error.reply()
        return legacy_error(404, "NOT_FOUND", "Not found.")

    def _check_project(self, project_id: str) -> None:
        if not catalog.is_uuid(project_id):
            raise ApiError(404, "text", "", f"UUID parsing failed: invalid UUID {project_id!r}")
        if project_id not in self.projects:
            raise ApiError(404, "legacy", "PROJECT_NOT_FOUND", "Project not found.")

    # --- projects and balances ------------------------------------------------------------

    def list_projects(self, call: Call) -> Reply:
        projects = [{"project_id": pid, "name": name} for pid, name in self.projects.items()]
        return json_reply({"projects": projects})

    def get_project(self, call: Call, project: str) -> Reply:
        return json_reply(
            {"project_id": project, "name": self.projects[project], "mip_opt_out": False}
        )

    def list_members(self, call: Call, project: str) -> Reply:
        """The one member, the project's owner, whose console key every project has."""
        return json_reply({"members": [{**catalog.MEMBER, "scopes": ["owner"]}]})

    def list_balances(self, call: Call, project: str) -> Reply:
        return json_reply({"balances": [catalog.balance_of(project)]})

    def get_balance(self, call: Call, project: str, balance_id: str) -> Reply:
        balance = catalog.balance_of(project)
        if balance["balance_id"] != balance_id:
            raise not_found("Balance not found.")
        return json_reply(balance)

    # --- keys -----------------------------------------------------------------------------

    def list_keys(self, call: Call, project: str) -> Reply:
        """Live keys in creation order; `status` keeps only active or only expired ones."""
        status = first(call.query, "status")
        if status not in (None, "active", "expired"):
            raise bad_query(f"Invalid value for status: {status!r}.")
        now = self.clock.now()
        keys = [
            k
            for k in self.state.project_keys(project)
            if status is None or k.is_expired(now) == (status == "expired")
        ]
        return json_reply({"api_keys": [_member_and_key(k) for k in keys]})

    def get_key(self, call: Call, project: str, key_id: str) -> Reply:
        key = self.state.live_key(project, key_id)
        if key is None:
            raise not_found("API key not found.")
        if self.config.key_envelope == "item":
            return json_reply({"item": {"member": {**catalog.MEMBER, "api_key": key.as_api_key()}}})
        return json_reply(_member_and_key(key))

    def create_key(self, call: Call, project: str) -> Reply:
        """Make a key from {comment, scopes, tags?, expiration_date | time_to_live_in_seconds}.

        The secret goes out in this answer only; the state never sees it.
        """
        fields = _key_fields(call.body)
        now = self.clock.now()
        key = Key(
            api_key_id=str(uuid.uuid4()),
            project_id=project,
            comment=fields["comment"],
            scopes=tuple(fields["scopes"]),
            tags=tuple(fields.get("tags") or ()),
            created=now,
            expiration=_expiration(fields, now),
        )
        self.state.put(key)
        secret = secrets.token_hex(20)
        return json_reply({"api_key_id": key.api_key_id, "key": secret, **key.as_api_key()})

    def delete_key(self, call: Call, project: str, key_id: str) -> Reply:
        if not self.state.delete(project, key_id, self.clock.now()):
            raise not_found("API key not found.")
        return json_reply({"message": "Successfully deleted the API key!"})

    # --- usage ----------------------------------------------------------------------------

    def _keys(self, project: str, where: UsageFilter) -> list[Key]:
        if where.accessors is not None:
            return self.state.keys_by_id(project, where.accessors)
        return self.state.project_keys(project, include_deleted=True)

    def _units(self, project: str, where: UsageFilter):
        corrections = self.state.corrections()
        return reports.units(self._keys(project, where), corrections, where, self.clock.today())

    def _lines(self, project: str, where: UsageFilter):
        corrections, today = self.state.corrections(), self.clock.today()
        keys = self._keys(project, where)
        return reports.lines(keys, corrections, where, today, self.memo.lines)

    def usage_summary(self, call: Call, project: str) -> Reply:
        where = usage_filter(call.query, self.clock.today())
        lines = self._lines(project, where)
        return json_reply(reports.summary(lines, where, self.config.summary_extras))

    def usage_breakdown(self, call: Call, project: str) -> Reply:
        grouping = groupings(call.query, self.config.model_grouping)
        where = usage_filter(call.query, self.clock.today())
        shape = breakdowns.Shape(
            model_names=self.config.model_names,
            combine=self.config.combine_groupings,
            drop_every=self.config.drop_grouped_rows,
        )
        lines = self._lines(project, where)
        return json_reply(breakdowns.usage_breakdown(lines, where, grouping, shape))

    def usage_fields(self, call: Call, project: str) -> Reply:
        days = {name: call.query[name] for name in ("start", "end") if name in call.query}
        where = usage_filter(days, self.clock.today())
        return json_reply(reports.usage_fields(self._lines(project, where)))

    # --- billing --------------------------------------------------------------------------

    def _check_billing_read(self, project: str) -> None:
        if not self.config.may_read_billing(project):
            raise no_permission()

    def billing_breakdown(self, call: Call, project: str) -> Reply:
        self._check_billing_read(project)
        grouping = billing_groupings(call.query)
        where = billing_filter(call.query, self.clock.today())
        lines = self._lines(project, where)
        noise = self.config.float_noise
        return json_reply(breakdowns.billing_breakdown(lines, where, grouping, noise))

    def billing_fields(self, call: Call, project: str) -> Reply:
        self._check_billing_read(project)
        days = {name: call.query[name] for name in ("start", "end") if name in call.query}
        where = billing_filter(days, self.clock.today())
        return json_reply(breakdowns.billing_fields(self._lines(project, where)))

    # --- requests -------------------------------------------------------------------------

    def list_requests(self, call: Call, project: str) -> Reply:
        """A page of requests, newest first, consistent with the usage summary."""
        page = _page(call.query, self.clock.now())
        where = self._request_filter(call.query, page)
        if "request_id" in call.query:
            found = self._one_request(project, first(call.query, "request_id"), where)
            return _request_page(page, found if page.page == 0 else [])
        return _request_page(page, request_log.request_page(self._units(project, where), page))

    def _request_filter(self, query: Query, page: request_log.Page) -> UsageFilter:
        """The usage filter for a requests page: its days, and nothing when asking for failures
        (every sandbox request succeeds)."""
        status = first(query, "status")
        if status not in (None, "succeeded", "failed"):
            raise bad_query(f"Invalid value for status: {status!r}.")
        days = {"start": [page.start.date().isoformat()], "end": [page.end.date().isoformat()]}
        where = usage_filter({**query, **days}, self.clock.today())
        return dataclasses.replace(where, products=frozenset()) if status == "failed" else where

    def _one_request(self, project: str, request_id: str, where: UsageFilter) -> list[dict]:
        found = self._find_request(project, request_id)
        if found is None or found["response"]["details"]["method"] not in where.methods:
            return []
        if where.accessors is not None and found["accessor"] not in where.accessors:
            return []
        return [found]

    def get_request(self, call: Call, project: str, request_id: str) -> Reply:
        found = self._find_request(project, request_id)
        if found is None:
            raise not_found("Request not found.")
        if self.config.request_envelope == "wrapped":
            return json_reply({"request": found})
        return json_reply(found)

    def _find_request(self, project: str, request_id: str) -> dict | None:
        keys = self.state.project_keys(project, include_deleted=True)
        corrections = self.state.corrections()
        return request_log.find_request(request_id, keys, corrections, self.clock.today())


def _member_and_key(key: Key) -> dict:
    return {"member": dict(catalog.MEMBER), "api_key": key.as_api_key()}


def _key_fields(body: bytes) -> dict:
    """The create-key body, checked: comment and scopes required, at most one expiry."""
    try:
        fields = json.loads(body or b"null")
    except ValueError:
        raise bad_body("The request body is not valid JSON.") from None
    if not isinstance(fields, dict):
        raise bad_body("The request body must be a JSON object.")
    comment, scopes, tags = fields.get("comment"), fields.get("scopes"), fields.get("tags")
    if not isinstance(comment, str) or not comment.strip():
        raise bad_body("comment is required and must be a non-empty string.")
    if not isinstance(scopes, list) or not scopes:
        raise bad_body("scopes is required and must be a non-empty list.")
    unknown = [s for s in scopes if not isinstance(s, str) or s not in catalog.SCOPES]
    if unknown:
        raise bad_body(f"Unknown scopes: {unknown!r}.")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise bad_body("tags must be a list of strings.")
    if "expiration_date" in fields and "time_to_live_in_seconds" in fields:
        raise bad_body("Give expiration_date or time_to_live_in_seconds, not both.")
    return fields


def _expiration(fields: dict, now: datetime) -> datetime | None:
    if "expiration_date" in fields:
        try:
            return parse_moment(str(fields["expiration_date"]))
        except ValueError:
            raise bad_body("expiration_date must be an ISO 8601 date-time.") from None
    if "time_to_live_in_seconds" in fields:
        ttl = fields["time_to_live_in_seconds"]
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
            raise bad_body("time_to_live_in_seconds must be a positive whole number.")
        return now + timedelta(seconds=ttl)
    return None


def _page(query: Query, now: datetime) -> request_log.Page:
    start, end = moment_range(query, now)
    limit = bounded_int(query, "limit", 10, 1, 1000)
    page = bounded_int(query, "page", 0, 0, 1_000_000)
    return request_log.Page(start, end, page, limit)


def _request_page(page: request_log.Page, requests: list[dict]) -> Reply:
    return json_reply({"page": page.page, "limit": page.limit, "requests": requests})
