"""Syncing a chunk of keys from Deepgram's project-wide breakdowns: plan its ranges of days,
fetch each range (worker threads), store each range in one transaction.

Rules:
- A chunk's keys are windowed as ever (`sync_window`); per project, the union of their
  windows is cut into ranges of days, each small enough that one answer stays bounded:
  USAGE_SYNC_KEY_DAYS_PER_CALL key-days (the project's keys times the range's days; at least
  one day). At 10,000 keys that is a day a call, about 19 MB of JSON (the client refuses more
  than DEEPGRAM_MAX_BODY_BYTES); a project of 100 keys gets its whole window in one call. A
  project whose groupings do not combine is asked key by key, the whole window at once.
- Each range is fetched project-wide (`breakdowns.fetch_project`: four calls) unless the
  chunk is one key synced alone (`sync_usage --key`: the key's own calls, `per_key`). An
  answer whose groupings came back null moves the project to the per-key fallback, remembered
  on the project (`groupings_combine`), as is the model grouping's spelling Deepgram takes
  (`models`, else `model`, tried when it refuses the first).
- A range is stored in one transaction, in order: the chunk's keys' rows of every day of the
  range inside their windows replace what was stored (`storing.store_day_rows`: a day's rows
  as a whole, missing ones zeroed with a correction), and their cost rows likewise; accessors
  that are no key of the portal go to the project's unassigned records (an accessor assigned
  to a key from a day stays unassigned before it); the keys' `synced_through` moves on to the
  range's last day (never back). A key of the portal outside the chunk is left to its own.
- Ranges stored before a failure stay stored: a range that fails (a Deepgram error) fails the
  chunk's keys with its kind, and the ranges after it are not read; the next run starts from
  where each key got to.
- A range claims its run in its transaction (`runs.sync_chunk_claim`): a run taken over, or
  the chunk done, writes nothing more. A range whose answers would wipe out most of the
  chunk's keys' usage in it is held (`storing.MassCutError`) unless the run accepts cuts.
- When the cost of a project's first range in a chunk names a line item the portal does not
  know, that range also asks the billing fields of the chunk's window: their line items (codes
  and labels) seed the line-item mapping (`usage.line_items`), so a new Deepgram model appears
  there, with its pattern's rule, as soon as it is billed (one call, then none while nothing
  new is billed).
- What the sync learns is recorded on the run: calls by endpoint, and projects whose cost could
  not be read (no `billing:read`: said once a run, usage still synced). A range that does not
  reconcile with Deepgram's project totals is never stored (`key_sync`).
"""

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from billing_portal.deepgram import (
    BadRequestError,
    DeepgramClient,
    DeepgramError,
    GroupingIgnoredError,
    MissingPermissionError,
    client_from_settings,
)
from customers.models import ApiKey, DeepgramProject

from ..line_items import seed_line_items
from ..models import KeySyncState, LineItem, UnassignedAccessor
from .breakdowns import FIELDS_CALL, ProjectFetch, fetch_key, fetch_project
from .storing import (
    KEY_COST,
    KEY_USAGE,
    UNASSIGNED_COST,
    UNASSIGNED_USAGE,
    MassCutError,
    refuse_mass_cut,
    store_day_rows,
    stored_day_rows,
)
from .sync_window import KeyWindow
from .unassigned import unassigned_accessor_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Range:
    """Days first..last of one project, for the keys of a chunk (`accessor`: one key alone)."""

    project: DeepgramProject
    first: date
    last: date
    windows: tuple[KeyWindow, ...]
    accessor: str | None = None
    # The first range of a project in a chunk may ask the billing fields of the whole window
    # (first, last), to seed the mapping (`line_items`) when its cost names line items the
    # portal does not know yet (`known`).
    fields_of: tuple[date, date] | None = None
    known: frozenset[str] = frozenset()


@dataclass
class RangeFetch:
    range: Range
    line_items: dict[str, str] | None = None  # billing fields: {code: label}
    fetched: ProjectFetch | None = None
    error: Exception | None = None
    api_calls: int = 0
    retries: int = 0
    learned: dict = field(default_factory=dict)  # project fields to remember


@dataclass
class RangeOutcome:
    """What storing a range did, per key pk: (rows created, rows changed)."""

    rows: dict[int, tuple[int, int]]
    calls_by_endpoint: Counter
    cost_unread: dict[str, str]


def plan_ranges(key_windows: list[KeyWindow], *, per_key: bool = False) -> list[Range]:
    """The chunk's ranges, project by project, in day order (see the module's rules)."""
    by_project: dict[int, list[KeyWindow]] = {}
    for key_window in key_windows:
        by_project.setdefault(key_window.api_key.project_id, []).append(key_window)
    sizes = dict(
        ApiKey.objects.filter(project_id__in=by_project)
        .values("project_id")
        .annotate(n=Count("pk"))
        .values_list("project_id", "n")
        .order_by()
    )
    known = frozenset(LineItem.objects.values_list("code", flat=True))
    ranges = []
    for project_pk, windows in by_project.items():
        project = windows[0].api_key.project
        if per_key:
            for kw in windows:
                ranges += _cut(
                    project, kw.window[0], kw.window[1], (kw,), kw.api_key.key_id, 1, known
                )
            continue
        first = min(kw.window[0] for kw in windows)
        last = max(kw.window[1] for kw in windows)
        keys = max(sizes.get(project_pk, 1), len(windows), 1)
        if project.groupings_combine is False:
            # The fallback asks key by key: each key's answer is small, so the whole window
            # at once (the project-wide cost and totals are halved if they must be).
            keys = 1
        ranges += _cut(project, first, last, tuple(windows), None, keys, known)
    return ranges


def _cut(project, first: date, last: date, windows, accessor, keys: int, known) -> list[Range]:
    days = max(1, settings.USAGE_SYNC_KEY_DAYS_PER_CALL // keys)
    ranges, start = [], first
    while start <= last:
        end = min(last, start + timedelta(days=days - 1))
        fields_of = None if ranges else (first, last)
        ranges.append(Range(project, start, end, windows, accessor, fields_of, known))
        start = end + timedelta(days=1)
    return ranges


def fetch_range(
    part: Range, stop: threading.Event | None = None, client: DeepgramClient | None = None
) -> RangeFetch | None:
    """Ask Deepgram about one range (a worker thread: no database here). None when `stop` was
    set before it began."""
    if stop is not None and stop.is_set():
        return None
    client = client or client_from_settings()
    calls, retries = client.stats.calls, client.stats.retries
    out = RangeFetch(part)
    project = part.project
    spelling = project.model_grouping or "models"
    try:
        if part.accessor is not None:
            out.fetched = fetch_key(
                client, project.project_id, part.first, part.last, part.accessor, spelling
            )
        else:
            out.fetched = _fetch_project(client, part, spelling, out.learned)
        if part.fields_of is not None and _new_line_items(out.fetched, part.known):
            out.line_items = _line_items(client, project.project_id, part.fields_of)
            out.fetched.calls[FIELDS_CALL] += 1
    except DeepgramError as exc:
        out.error = exc
    except Exception as exc:  # a bug must not stop the other chunks
        logger.exception("Fetching usage of project %s failed", project.project_id)
        out.error = exc
    out.api_calls = client.stats.calls - calls
    out.retries = client.stats.retries - retries
    return out


def _new_line_items(fetched: ProjectFetch, known: frozenset[str]) -> bool:
    """Whether the cost names a line item the portal does not know yet."""
    return any(code not in known for (_, _, code) in (fetched.costs or {}))


def _line_items(client, project_id: str, days: tuple[date, date]) -> dict[str, str] | None:
    """The line items (code: label) Deepgram's billing fields list for the days; None when
    the key may not read billing (said with the cost)."""
    try:
        return client.billing_fields(project_id, start=days[0], end=days[1]).line_items
    except MissingPermissionError:
        return None


def _fetch_project(client, part: Range, spelling: str, learned: dict) -> ProjectFetch:
    project = part.project
    combine = project.groupings_combine is not False
    while True:
        try:
            fetched = fetch_project(
                client,
                project.project_id,
                part.first,
                part.last,
                model_grouping=spelling,
                combine=combine,
            )
        except BadRequestError:
            if project.model_grouping or spelling != "models":
                raise
            spelling = "model"  # the docs' spelling, where Deepgram refuses the spec's
            continue
        except GroupingIgnoredError:
            if not combine:
                raise
            logger.warning(
                "Project %s: Deepgram does not combine usage groupings; asking per key",
                project.project_id,
            )
            combine = False
            learned["groupings_combine"] = False
            continue
        break
    if spelling != project.model_grouping:
        learned["model_grouping"] = spelling
    if combine and project.groupings_combine is None and fetched.usage:
        learned["groupings_combine"] = True
    return fetched


@dataclass
class _Owners:
    """Whose each reported row is: a key of the chunk (inside its window), an unassigned
    accessor of the project, or nobody's here (a portal key outside the chunk)."""

    windows: dict[int, tuple[date, date]]  # key pk: its days in this range
    by_key_id: dict[str, int]  # the chunk's keys
    portal_keys: set[str]  # every key of the project in the portal
    assigned: dict[str, date]  # accessor: the day it became a key's
    keep_loose: bool  # project-wide: unassigned rows are kept

    @classmethod
    def of(cls, part: Range) -> "_Owners":
        portal_keys = set(
            ApiKey.objects.filter(project=part.project).values_list("key_id", flat=True)
        )
        assigned = dict(
            UnassignedAccessor.objects.filter(
                project=part.project, assigned_key__isnull=False
            ).values_list("accessor", "assigned_from")
        )
        windows = {}
        for kw in part.windows:
            since = assigned.get(kw.api_key.key_id) or part.first
            first, last = max(kw.window[0], part.first, since), min(kw.window[1], part.last)
            if first <= last:
                windows[kw.api_key.pk] = (first, last)
        by_key_id = {kw.api_key.key_id: kw.api_key.pk for kw in part.windows}
        return cls(windows, by_key_id, portal_keys, assigned, part.accessor is None)

    def split(self, reported: dict, wrap=lambda values: values) -> tuple[dict, dict]:
        """{(accessor, day, *dimensions): values} as ({key pk: rows}, {accessor: rows})."""
        mine: dict[int, dict] = {}
        loose: dict[str, dict] = {}
        for (accessor, day, *dimensions), values in reported.items():
            owner = self.by_key_id.get(accessor)
            if owner in self.windows and day >= self.windows[owner][0]:
                mine.setdefault(owner, {})[(day, *dimensions)] = wrap(values)
            elif self.keep_loose and self._unassigned(accessor, day):
                loose.setdefault(accessor, {})[(day, *dimensions)] = wrap(values)
        return mine, loose

    def _unassigned(self, accessor: str, day: date) -> bool:
        """No key of the portal, or a key assigned from a later day."""
        if accessor not in self.portal_keys:
            return True
        since = self.assigned.get(accessor)
        return since is not None and day < since


def store_range(
    fetch: RangeFetch, *, run_id: int | None, guard: bool = True, now=None
) -> RangeOutcome:
    """Write one fetched range in the caller's transaction (see the module's rules). Raises
    `MassCutError` before writing when its answers would wipe out most of the keys' usage."""
    part, fetched, now = fetch.range, fetch.fetched, now or timezone.now()
    project = part.project
    owners = _Owners.of(part)
    usage, loose_usage = owners.split(fetched.usage)
    stored = stored_day_rows(KEY_USAGE, owners.windows)
    if guard:
        refuse_mass_cut(project.project_id, stored, usage)
    rows = store_day_rows(KEY_USAGE, usage, owners.windows, run_id=run_id, now=now, stored=stored)
    cost_unread, loose_costs = {}, {}
    if fetched.costs is not None:
        costs, loose_costs = owners.split(fetched.costs, wrap=lambda dollars: (dollars,))
        store_day_rows(KEY_COST, costs, owners.windows, run_id=run_id, now=now)
    else:
        cost_unread[project.project_id] = str(fetched.cost_error)
    if owners.keep_loose:
        _store_unassigned(project, part, loose_usage, loose_costs, fetched, run_id, now)
    _move_states({kw.api_key.pk: kw for kw in part.windows}, owners.windows, part.last, now)
    _remember(project, fetch, now)
    if fetch.line_items:
        seed_line_items(fetch.line_items)
    return RangeOutcome(rows, Counter(fetched.calls), cost_unread)


def _remember(project: DeepgramProject, fetch: RangeFetch, now) -> None:
    """What the range taught of the project: its groupings, whether its cost is readable."""
    if fetch.learned:
        DeepgramProject.objects.filter(pk=project.pk).update(
            **fetch.learned, groupings_probed_at=now
        )
    billing_readable = fetch.fetched.costs is not None
    if project.billing_readable is not billing_readable:
        DeepgramProject.objects.filter(pk=project.pk).update(
            billing_readable=billing_readable, billing_checked_at=now
        )


def _store_unassigned(project, part: Range, usage, costs, fetched, run_id, now) -> None:
    """The unassigned accessors' rows of the range: those reported, and those stored before
    (zeroed where no longer reported)."""
    records = {
        record.accessor: record for record in UnassignedAccessor.objects.filter(project=project)
    }
    for accessor in set(usage) | set(costs):
        if accessor not in records:
            records[accessor] = unassigned_accessor_of(project=project, accessor=accessor)
    windows = {record.pk: (part.first, part.last) for record in records.values()}
    by_pk = {records[a].pk: rows for a, rows in usage.items()}
    store_day_rows(UNASSIGNED_USAGE, by_pk, windows, run_id=run_id, now=now)
    if fetched.costs is not None:
        by_pk = {records[a].pk: rows for a, rows in costs.items()}
        store_day_rows(UNASSIGNED_COST, by_pk, windows, run_id=run_id, now=now)


def _move_states(states: dict[int, KeyWindow], windows, last: date, now) -> None:
    """The keys read in this range are synced through its last day (within their windows)."""
    through: dict[date, list[int]] = {}
    for key_pk, kw in states.items():
        if key_pk not in windows and kw.window[0] > last:
            continue  # its window starts after this range
        day = min(kw.window[1], last)
        state = kw.state
        state.synced_through = max(state.synced_through or day, day)
        through.setdefault(state.synced_through, []).append(state.pk)
    for day, pks in through.items():
        KeySyncState.objects.filter(pk__ids_in=pks).update(
            synced_through=day, last_success_at=now, consecutive_failures=0
        )


def fail_keys(windows: list[KeyWindow], exc: Exception, now=None) -> None:
    """Record a failed range on its keys' sync states."""
    now = now or timezone.now()
    kind = type(exc).__name__
    for kw in windows:
        state = kw.state
        state.last_error_at, state.last_error = now, str(exc)[:2000]
        state.last_error_kind = kind
        state.consecutive_failures += 1
        state.save(
            update_fields=["last_error_at", "last_error", "last_error_kind", "consecutive_failures"]
        )


__all__ = [
    "MassCutError",
    "Range",
    "RangeFetch",
    "RangeOutcome",
    "fail_keys",
    "fetch_range",
    "plan_ranges",
    "store_range",
]
