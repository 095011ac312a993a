"""Speed for `key_sync`: many keys, chunk by chunk, with Deepgram's calls in worker threads;
and the command's whole run in this process.

Rules (of speed only; what is synced and stored is `key_sync`'s, what a run records `runs`'s):
- Up to `concurrency` threads call Deepgram (HTTP only, no database), a range of days each;
  this thread loads and windows each chunk, plans its ranges and writes them in order, each
  in its own transaction.
- Lookahead, bounded: at most `concurrency` ranges are fetched at once, and no more than
  USAGE_SYNC_KEY_DAYS_IN_MEMORY key-days of answers (memory stays bounded however long the
  window and however many keys). Results come back in range order.
- While it waits on the threads, this thread beats the run's heartbeat every
  SYNC_HEARTBEAT_SECONDS. When the run is no longer its own (taken over), it stops.
- A chunk the run has done already (or a run no longer this owner's) is not fetched again.
- Stopping: a `threading.Event` the threads check before each range (no signals in threads);
  ranges not started are dropped, a call in flight is left to finish on its own, its answer
  unused. An exception of `stop_on` in this thread (a task's soft time limit), while it waits
  or while it writes (that range rolled back), ends the chunk cleanly after the ranges already
  written: its keys become a new chunk of the run
  (`on_leftover`; they resume from where each got to), or, when nothing was written, the
  chunk stays pending, to be resumed.
"""

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection

from customers.models import ApiKey

from ..models import SyncRun
from .chunk_sync import fetch_range
from .key_sync import HELD, LOST, ChunkWork, chunk_keys, chunk_record
from .lanes import sync_lanes
from .outcomes import KeySyncResult, SyncTotals
from .runs import (
    RunChunk,
    sync_chunk_claim,
    sync_run_beat,
    sync_run_pending,
    sync_run_record,
    sync_run_start,
)
from .sync_window import utc_today, windows_of

_LOST, _LIMIT = "lost", "limit"


@dataclass
class _Worker:
    """What the chunks of one call share: the pool, the stop event, the run and its beat."""

    pool: ThreadPoolExecutor
    concurrency: int
    stop: threading.Event
    run: RunChunk | None
    stop_on: tuple[type[BaseException], ...]
    on_leftover: Callable[[int, list[int]], None] | None
    per_key: bool = False
    on_range: Callable[[int, int, int], None] | None = None
    last_beat: float = 0.0

    def beat(self) -> bool:
        """The heartbeat, at most every SYNC_HEARTBEAT_SECONDS; False when the run is lost."""
        if self.run is None or time.monotonic() - self.last_beat < settings.SYNC_HEARTBEAT_SECONDS:
            return True
        self.last_beat = time.monotonic()
        return sync_run_beat(self.run)


def usage_sync_keys(
    *,
    key_ids: Iterable[int] = (),
    chunks: list[tuple[int | None, list[int]]] | None = None,
    today: date | None = None,
    start: date | None = None,
    end: date | None = None,
    run: RunChunk | None = None,
    concurrency: int = 1,
    chunk_size: int | None = None,
    on_result: Callable[[KeySyncResult], None] | None = None,
    stop_on: tuple[type[BaseException], ...] = (),
    on_leftover: Callable[[int, list[int]], None] | None = None,
    per_key: bool = False,
    on_range: Callable[[int, int, int], None] | None = None,
) -> SyncTotals:
    """Sync many keys chunk by chunk (`key_ids` cut into chunks, or a run's numbered
    `chunks`): up to `concurrency` threads call Deepgram (HTTP only), a range each, while this
    thread writes each range in its own transaction (recorded on `run`). Never raises for one
    key's failure; a range whose write fails counts its keys as failed. `per_key`: each key
    with its own calls (`sync_usage --key`). `on_range(keys, ranges written, ranges)` hears
    each range a chunk writes (progress within a chunk)."""
    today = today or utc_today()
    if chunks is None:
        ids, size = list(key_ids), chunk_size or settings.USAGE_SYNC_CHUNK_SIZE
        chunks = [(None, ids[i : i + size]) for i in range(0, len(ids), size)]
    totals = SyncTotals()
    width = max(1, concurrency)
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="usage-sync")
    worker = _Worker(pool, width, threading.Event(), run, stop_on, on_leftover, per_key, on_range)
    worker.last_beat = time.monotonic()
    try:
        for number, keys in chunks:
            claimed = _may_start(number, worker)
            if not claimed:
                continue
            resume = _resume_of(claimed, number)
            for result in _sync_chunk(number, keys, worker, today, start, end, resume):
                totals.add(result)
                if on_result:
                    on_result(result)
            if worker.stop.is_set():
                break
    finally:
        worker.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
    return totals


def _may_start(number: int | None, worker: _Worker):
    """The run (True without one) when a chunk is still to do (before anything is fetched or
    written for it), else None; a run no longer this owner's stops the rest."""
    if worker.run is None:
        return True
    claimed = sync_chunk_claim(worker.run.of(number), lock=False)
    if claimed:
        return claimed
    if not sync_run_beat(worker.run):
        worker.stop.set()
    return None


def _resume_of(claimed, number: int | None) -> dict[int, date]:
    """Where a chunk left at a time limit goes on: {project pk: first day to read}."""
    if claimed is True or number is None:
        return {}
    days = claimed.resume_from.get(str(number), {})
    return {int(project): date.fromisoformat(day) for project, day in days.items()}


def _sync_chunk(number, key_ids, worker: _Worker, today, start, end, resume) -> list[KeySyncResult]:
    """Fetch a chunk's ranges ahead (at most `concurrency`) and write each in order."""
    run = worker.run.of(number) if worker.run else None
    key_windows, skipped = windows_of(chunk_keys(key_ids), today=today, start=start, end=end)
    work = ChunkWork(key_windows, skipped, per_key=worker.per_key, resume=resume)
    ahead: deque[tuple[object, Future]] = deque()
    todo = deque(work.ranges)
    width = _in_flight(work, worker.concurrency)
    stopped = None
    while todo or ahead:
        while todo and len(ahead) < width:
            part = todo.popleft()
            ahead.append((part, worker.pool.submit(fetch_range, part, worker.stop)))
        part, future = ahead.popleft()
        stopped = _await(future, worker)
        if stopped:
            break
        fetch = future.result()
        if fetch is None:  # stopped before it began
            stopped = _LIMIT
            break
        if work.skips_range(part):
            continue
        try:
            outcome = work.store(fetch, run, stop_on=worker.stop_on)
        except worker.stop_on:
            stopped = _LIMIT  # the limit came while writing: the range is rolled back
            break
        if worker.on_range:
            worker.on_range(len(work.windows), work.stored, len(work.ranges))
        if outcome == LOST:
            stopped = _LOST
            break
        if outcome == HELD:
            worker.stop.set()
            return work.results()
    if stopped:
        worker.stop.set()
    if stopped == _LOST:
        return []
    if stopped == _LIMIT:
        # The limit may have cut a query in the middle (a write, a heartbeat), which leaves the
        # connection unusable: a new one records what was written.
        connection.close()
        if not work.stored:
            return []  # nothing written before the limit: the chunk stays pending
        left, _ = work.left_at_limit()
        if not left:  # every range was written after all
            return chunk_record(work, run)[0]
        results, leftover_chunk = chunk_record(work, run, left)
        if leftover_chunk is not None and worker.on_leftover:
            worker.on_leftover(leftover_chunk, left)
        return results
    results, _ = chunk_record(work, run)
    return results


def _in_flight(work: ChunkWork, concurrency: int) -> int:
    """How many of a chunk's ranges are fetched at once: `concurrency`, but never more answers
    in memory than USAGE_SYNC_KEY_DAYS_IN_MEMORY key-days (a day of 10,000 keys is ~150 MB
    read and parsed), and at least one."""
    if not work.ranges:
        return 1
    part = work.ranges[0]
    key_days = len(part.windows) * ((part.last - part.first).days + 1)
    return max(1, min(concurrency, settings.USAGE_SYNC_KEY_DAYS_IN_MEMORY // max(key_days, 1)))


def _await(future: Future, worker: _Worker) -> str | None:
    """Wait for a fetch, beating the heartbeat; why it stopped early, or None."""
    try:
        while True:
            done, _ = wait([future], timeout=settings.SYNC_HEARTBEAT_SECONDS)
            if done:
                return None
            if not worker.beat():
                return _LOST
    except worker.stop_on:
        return _LIMIT


def usage_sync_run(
    *,
    trigger: str,
    key_ids: list[int],
    start: date | None = None,
    end: date | None = None,
    concurrency: int = 1,
    on_start: Callable[[SyncRun, int], None] | None = None,
    on_result: Callable[[KeySyncResult], None] | None = None,
    per_key: bool = False,
    on_range: Callable[[int, int, int], None] | None = None,
) -> SyncRun | None:
    """A whole run in this process (the command's path): open it, or take over a stale one
    and resume its chunks not done (then `resumed` is set: its own keys and window, not these),
    sync chunk by chunk, close it. None when a live run is in progress. `on_start` hears the
    run and how many keys are left to do."""
    projects = dict(ApiKey.objects.filter(pk__in=key_ids).values_list("pk", "project_id"))
    lanes = sync_lanes(
        [(pk, projects[pk]) for pk in key_ids if pk in projects],
        count=1,
        chunk_size=settings.USAGE_SYNC_CHUNK_SIZE,
    )
    chunks = [chunk for lane in lanes for chunk in lane]
    run = sync_run_start(trigger=trigger, chunks=chunks, window_start=start, window_end=end)
    if run is None:
        return None
    todo = sync_run_pending(run)
    if on_start:
        on_start(run, sum(len(keys) for _, keys in todo))
    ref = RunChunk(run.pk, None, str(run.token))
    usage_sync_keys(
        chunks=todo,
        start=run.window_start,
        end=run.window_end,
        run=ref,
        concurrency=concurrency,
        on_result=on_result,
        per_key=per_key,
        on_range=on_range,
    )
    resumed = run.resumed
    run.refresh_from_db()
    if run.status == SyncRun.Status.RUNNING and not sync_run_pending(run):
        run = sync_run_record(run_id=run.pk, totals=SyncTotals(), token=ref.token)
    run.resumed = resumed
    return run
