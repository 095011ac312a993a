"""Syncing a chunk of keys, range by range (`chunk_sync`), and one key alone.

Rules:
- One key (`usage_sync_key`): its window, asked with the key as a filter (the key's own
  calls), stored range by range. Deepgram errors are recorded on the key, not raised.
- A chunk: its keys are loaded in one query, in the order asked for, windowed, and their
  projects' ranges fetched ahead by worker threads (`key_sync_pool`) and stored here in order,
  each in its own transaction (`ChunkWork.store`). A chunk is recorded on its run once, after
  its last range (`ChunkWork.results`): its keys ok, or failed with the kind of the range
  that failed them ("InternalError" for a write that failed: its rows roll back, the next run
  reads the same days again).
- A range of a run writes only while the run is still its own (`runs.sync_chunk_claim`, in
  the write's transaction): a late chunk of a run taken over, or a chunk done before, writes
  nothing. The range's calls, rows and unread costs are added to
  the run in that transaction.
- A range whose answers would wipe out most of the keys' usage (`storing.MassCutError`) writes
  nothing and holds its run (FAILED, with the reason), unless the run applies a cut ops
  accepted; the chunk's keys count as failed ("MassCut").
- A range whose per-key rows do not add up to Deepgram's project totals (the reconciliation:
  rows missing, as when a grouping is applied in part) writes nothing: its keys fail
  ("UnreconciledError"), and the run records each difference (project, day, unit, the two
  figures) for ops; stored usage is never cut by an incomplete answer.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django.db import transaction

from billing_portal.deepgram import DeepgramClient, DeepgramError
from customers.models import ApiKey

from .chunk_sync import RangeFetch, fail_keys, fetch_range, plan_ranges, store_range
from .outcomes import KeySyncResult, SyncTotals
from .runs import RunChunk, sync_chunk_claim, sync_run_hold, sync_run_record
from .storing import MassCutError
from .sync_window import KeyWindow, windows_of

logger = logging.getLogger(__name__)

HELD, LOST = "held", "lost"


class UnreconciledError(Exception):
    """A range whose per-key rows do not add up to Deepgram's own project totals."""


def usage_sync_key(
    *,
    api_key: ApiKey,
    client: DeepgramClient | None = None,
    today: date,
    start: date | None = None,
    end: date | None = None,
    run_id: int | None = None,
) -> KeySyncResult:
    """Sync one key's window with the key's own calls, range by range. Deepgram errors are
    recorded on the key, not raised."""
    key_windows, skipped = windows_of([api_key], today=today, start=start, end=end)
    if skipped:
        return skipped[0]
    work = ChunkWork(key_windows, [], per_key=True)
    for part in work.ranges:
        if work.store(fetch_range(part, client=client), run=None) is not None:
            break
    return work.results()[0]


def chunk_keys(key_ids: Iterable[int]) -> list[ApiKey]:
    """The chunk's keys with their project and sync state, in the order of `key_ids`."""
    key_ids = list(key_ids)
    keys = ApiKey.objects.filter(pk__in=key_ids).select_related("project", "sync_state")
    order = {pk: n for n, pk in enumerate(key_ids)}
    return sorted(keys, key=lambda key: order[key.pk])


@dataclass
class ChunkWork:
    """One chunk's keys, windows and ranges, and what storing its ranges did so far."""

    windows: list[KeyWindow]
    skipped: list[KeySyncResult]
    per_key: bool = False
    # A chunk left at a time limit goes on from where it stopped: {project pk: first day}.
    resume: dict[int, date] = field(default_factory=dict)
    ranges: list = field(init=False)
    done_through: dict[int, date] = field(default_factory=dict)  # project pk: last day stored
    rows: dict[int, list[int]] = field(init=False)  # key pk: [created, changed]
    failed: dict[int, tuple[str, str]] = field(default_factory=dict)  # key pk: kind, error
    stored: int = 0  # ranges stored
    # The calls and retries not recorded on the run with their range (ranges that failed,
    # or every range when there is no run): the results carry them.
    failed_calls: int = 0
    failed_retries: int = 0

    def __post_init__(self):
        if self.resume:
            self.windows, done = self._resumed()
            self.skipped = [*self.skipped, *done]
        self.ranges = plan_ranges(self.windows, per_key=self.per_key)
        self.rows = {kw.api_key.pk: [0, 0] for kw in self.windows}

    def _resumed(self) -> tuple[list[KeyWindow], list[KeySyncResult]]:
        """The windows from where the chunk stopped; keys with nothing left are done."""
        windows, done = [], []
        for kw in self.windows:
            first = max(kw.window[0], self.resume.get(kw.api_key.project_id, kw.window[0]))
            if first > kw.window[1]:
                done.append(KeySyncResult(key_pk=kw.api_key.pk, window=kw.window))
            else:
                windows.append(replace(kw, window=(first, kw.window[1])))
        return windows, done

    def left_at_limit(self) -> tuple[list[int], dict[int, date]]:
        """The keys still to read when the chunk stops (those of projects with ranges not
        stored), and where each project goes on."""
        unread = {part.project.pk for part in self.ranges} - set(self.finished)
        keys = [kw.api_key.pk for kw in self.windows if kw.api_key.project_id in unread]
        resume = {
            project: day + timedelta(days=1)
            for project, day in self.done_through.items()
            if project in unread
        }
        return keys, resume

    @property
    def finished(self) -> set[int]:
        """The projects whose every range is stored."""
        last = {}
        for part in self.ranges:
            last[part.project.pk] = max(last.get(part.project.pk, part.last), part.last)
        return {pk for pk, day in last.items() if self.done_through.get(pk) == day}

    def store(self, fetch: RangeFetch, run: RunChunk | None, *, stop_on: tuple = ()) -> str | None:
        """Write one fetched range (one transaction). None when it was stored or failed its
        keys; HELD when it held the run; LOST when the run is no longer the chunk's. An
        exception of `stop_on` (a task's soft time limit) is raised: the range is not stored."""
        part = fetch.range
        differences = fetch.fetched.differences() if fetch.error is None else []
        if differences:
            return self._refuse_unreconciled(fetch, differences, run)
        if fetch.error is not None:
            self._fail(part.windows, fetch.error, fetch)
            fail_keys(part.windows, fetch.error)
            return None
        try:
            with transaction.atomic():
                claimed = sync_chunk_claim(run) if run is not None else None
                if run is not None and claimed is None:
                    return LOST
                guard = not (claimed and claimed.allow_mass_cut)
                outcome = store_range(fetch, run_id=run and run.run_id, guard=guard)
                totals = SyncTotals(api_calls=fetch.api_calls, retries=fetch.retries)
                for key_pk, (created, changed) in outcome.rows.items():
                    self.rows[key_pk][0] += created
                    self.rows[key_pk][1] += changed
                    totals.rows_created += created
                    totals.rows_changed += changed
                totals.calls_by_endpoint.update(outcome.calls_by_endpoint)
                totals.cost_unread.update(outcome.cost_unread)
                if run is not None:
                    sync_run_record(run_id=run.run_id, totals=totals, token=run.token)
                else:
                    self.failed_calls += fetch.api_calls
                    self.failed_retries += fetch.retries
        except MassCutError as exc:
            if run is not None:
                sync_run_hold(run, reason=str(exc), keys=len(self.windows))
            self._fail(self.windows, exc, None, kind="MassCut")
            return HELD
        except Exception as exc:
            if isinstance(exc, stop_on):
                raise
            logger.exception("Writing the usage of %d keys failed", len(part.windows))
            self._fail(part.windows, exc, None, kind="InternalError")
            return None
        self.stored += 1
        self.done_through[part.project.pk] = part.last
        return None

    def _refuse_unreconciled(self, fetch: RangeFetch, found, run: RunChunk | None) -> str | None:
        """A range whose rows do not add up to Deepgram's project totals is an answer with
        rows missing (or extra): nothing of it is written, its keys fail, and the run records
        the differences (ops see them; the operators are told of the failed keys)."""
        part = fetch.range
        error = UnreconciledError(
            f"Deepgram's per-key rows of {part.first}..{part.last} do not add up to its "
            f"project totals ({len(found)} day(s) and unit(s)): nothing of the range was written."
        )
        differences = [{"project": part.project.project_id, **d.as_json()} for d in found]
        if run is not None:
            with transaction.atomic():
                if sync_chunk_claim(run) is None:
                    return LOST
                totals = SyncTotals(api_calls=fetch.api_calls, retries=fetch.retries)
                totals.differences = differences
                sync_run_record(run_id=run.run_id, totals=totals, token=run.token)
        else:
            self.failed_calls += fetch.api_calls
            self.failed_retries += fetch.retries
        for difference in differences:
            logger.warning(
                "Project %(project)s, %(day)s: the grouped %(unit)s add up to %(grouped)s, "
                "Deepgram's project total is %(reported)s: the range is not written",
                difference,
            )
        self._fail(part.windows, error, None, kind="UnreconciledError")
        fail_keys(part.windows, error)
        return None

    def _fail(self, windows, exc: Exception, fetch: RangeFetch | None, kind: str = "") -> None:
        if not kind:
            kind = type(exc).__name__ if isinstance(exc, DeepgramError) else "InternalError"
        for kw in windows:
            self.failed.setdefault(kw.api_key.pk, (kind, str(exc) or type(exc).__name__))
        if fetch is not None:
            self.failed_calls += fetch.api_calls
            self.failed_retries += fetch.retries

    def results(self) -> list[KeySyncResult]:
        """One result per key of the chunk (the skipped ones first)."""
        results = list(self.skipped)
        for n, kw in enumerate(self.windows):
            key_pk = kw.api_key.pk
            kind, error = self.failed.get(key_pk, ("", ""))
            results.append(
                KeySyncResult(
                    key_pk=key_pk,
                    ok=not kind,
                    error_kind=kind,
                    error=error,
                    window=kw.window,
                    rows_created=self.rows[key_pk][0],
                    rows_changed=self.rows[key_pk][1],
                    # Calls not recorded with their range are on the first key, so the
                    # run's totals are whole.
                    api_calls=self.failed_calls if n == 0 else 0,
                    retries=self.failed_retries if n == 0 else 0,
                )
            )
        return results

    def skips_range(self, part) -> bool:
        """Whether every key of a range failed already (a range before it failed them)."""
        return all(kw.api_key.pk in self.failed for kw in part.windows)


def chunk_record(
    work: ChunkWork, run: RunChunk | None, leftover: list[int] | None = None
) -> tuple[list[KeySyncResult], int | None]:
    """Record a chunk's results on its run (its keys, the chunk done; `leftover` keys become a
    new chunk, resumed where this one stopped); returns the results and the leftover's chunk
    number."""
    resume = None
    if leftover is None:
        results = work.results()
    else:
        left = set(leftover)
        results = [r for r in work.results() if r.key_pk not in left or r.skipped]
        resume = work.left_at_limit()[1]
    if run is None:
        return results, None
    totals = SyncTotals()
    for result in results:
        totals.add(result)
    # The rows were recorded on the run with their range; calls too, but those of ranges that
    # failed, which the results carry.
    totals.rows_created = totals.rows_changed = 0
    if leftover is not None:
        totals.api_calls += work.failed_calls
        totals.retries += work.failed_retries
    recorded = sync_run_record(
        run_id=run.run_id,
        totals=totals,
        chunk=run.chunk,
        token=run.token,
        leftover=leftover,
        resume_from=resume,
    )
    return results, recorded.leftover_chunk
