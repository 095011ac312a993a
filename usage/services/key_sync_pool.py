"""Speed for `key_sync`: many keys, chunk by chunk, with Deepgram's calls in worker threads;
and the command's whole run in this process.

Rules (of speed only; what is synced and stored is `key_sync`'s, what a run records `runs`'s):
- Up to `concurrency` threads call Deepgram (HTTP only, no database); this thread loads and
  windows each chunk, and writes it in one transaction.
- Lookahead: while one chunk is written, the next LOOKAHEAD_CHUNKS chunks are already being
  fetched, so Deepgram is kept busy. Results come back in chunk order.
- While it waits on the threads, this thread beats the run's heartbeat every
  SYNC_HEARTBEAT_SECONDS. When the run is no longer its own (taken over), it stops.
- A chunk the run has done already (or a run no longer this owner's) is not fetched again.
- Stopping: a `threading.Event` the threads check before each key (no signals in threads);
  keys not started are dropped, a call in flight is left to finish on its own, its answer
  unused. An exception of `stop_on` in this thread (a task's soft time limit) ends the chunk
  cleanly: what was fetched is written, the other keys become a new chunk of the run
  (`on_leftover`), or, when nothing was fetched, the chunk stays pending, to be resumed.
"""

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date

from django.conf import settings

from ..models import SyncRun
from .fetching import FetchedUsage, fetch_usage
from .key_sync import chunk_keys, chunk_store
from .outcomes import KeySyncResult, SyncTotals
from .runs import (
    RunChunk,
    sync_chunk_claim,
    sync_run_beat,
    sync_run_pending,
    sync_run_record,
    sync_run_start,
)
from .sync_window import KeyWindow, utc_today, windows_of

LOOKAHEAD_CHUNKS = 2
_LOST, _LIMIT = "lost", "limit"


@dataclass
class _Pending:
    number: int | None
    skipped: list[KeySyncResult]
    fetches: list[tuple[int, Future]]  # key pk, its fetch (None when stopped before it)


@dataclass
class _Worker:
    """What the chunks of one call share: the pool, the stop event, the run and its beat."""

    pool: ThreadPoolExecutor
    stop: threading.Event
    run: RunChunk | None
    stop_on: tuple[type[BaseException], ...]
    on_leftover: Callable[[int, list[int]], None] | None
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
) -> SyncTotals:
    """Sync many keys chunk by chunk (`key_ids` cut into chunks, or a run's numbered
    `chunks`): up to `concurrency` threads call Deepgram (HTTP only), while this thread writes
    each chunk in one transaction (recorded on `run`) and plans the next. Never raises for one
    key's failure; a chunk whose write fails counts its keys as failed."""
    today = today or utc_today()
    if chunks is None:
        ids, size = list(key_ids), chunk_size or settings.USAGE_SYNC_CHUNK_SIZE
        chunks = [(None, ids[i : i + size]) for i in range(0, len(ids), size)]
    totals = SyncTotals()

    def collect(results: list[KeySyncResult]) -> None:
        for result in results:
            totals.add(result)
            if on_result:
                on_result(result)

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="usage-sync")
    worker = _Worker(pool, threading.Event(), run, stop_on, on_leftover, time.monotonic())
    try:
        # Keep Deepgram busy with the next chunks while this thread writes one.
        pending: deque[_Pending] = deque()
        for number, keys in chunks:
            if not _may_start(number, worker):
                continue
            pending.append(_start_chunk(number, keys, worker, today, start, end))
            if len(pending) > LOOKAHEAD_CHUNKS:
                collect(_finish_chunk(pending.popleft(), worker))
            if worker.stop.is_set():
                break
        while pending and not worker.stop.is_set():
            collect(_finish_chunk(pending.popleft(), worker))
    finally:
        worker.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
    return totals


def _may_start(number: int | None, worker: _Worker) -> bool:
    """Whether a chunk is still to do (before anything is fetched or written for it); a run
    no longer this owner's stops the rest."""
    if worker.run is None or sync_chunk_claim(worker.run.of(number), lock=False):
        return True
    if not sync_run_beat(worker.run):
        worker.stop.set()
    return False


def _fetch_unless_stopped(key_window: KeyWindow, stop: threading.Event) -> FetchedUsage | None:
    return None if stop.is_set() else fetch_usage(key_window, stop=stop)


def _start_chunk(
    number: int | None,
    key_ids: list[int],
    worker: _Worker,
    today: date,
    start: date | None,
    end: date | None,
) -> _Pending:
    key_windows, skipped = windows_of(chunk_keys(key_ids), today=today, start=start, end=end)
    fetches = [
        (kw.api_key.pk, worker.pool.submit(_fetch_unless_stopped, kw, worker.stop))
        for kw in key_windows
    ]
    return _Pending(number, skipped, fetches)


def _await(futures: list[Future], worker: _Worker) -> str | None:
    """Wait for the fetches, beating the heartbeat; why it stopped early, or None."""
    waiting = set(futures)
    try:
        while waiting:
            _, waiting = wait(waiting, timeout=settings.SYNC_HEARTBEAT_SECONDS)
            if waiting and not worker.beat():
                return _LOST
    except worker.stop_on:
        return _LIMIT
    return None


def _finish_chunk(pending: _Pending, worker: _Worker) -> list[KeySyncResult]:
    run = worker.run.of(pending.number) if worker.run else None
    stopped = _await([future for _, future in pending.fetches], worker)
    if stopped:
        worker.stop.set()
    if stopped == _LOST:
        return []
    fetched, left = [], []
    for key_pk, future in pending.fetches:
        usage = future.result() if future.done() and not future.cancelled() else None
        if usage is None:
            left.append(key_pk)
        else:
            fetched.append(usage)
    if left and not fetched:
        return []  # nothing fetched before the limit: the chunk stays pending, to be resumed
    results, leftover_chunk = chunk_store(pending.skipped, fetched, run, left or None)
    if leftover_chunk is not None and worker.on_leftover:
        worker.on_leftover(leftover_chunk, left)
    return results or []


def usage_sync_run(
    *,
    trigger: str,
    key_ids: list[int],
    start: date | None = None,
    end: date | None = None,
    concurrency: int = 1,
    on_start: Callable[[SyncRun, int], None] | None = None,
    on_result: Callable[[KeySyncResult], None] | None = None,
) -> SyncRun | None:
    """A whole run in this process (the command's path): open it, or take over a stale one
    and resume its chunks not done (then `resumed` is set: its own keys and window, not these),
    sync chunk by chunk, close it. None when a live run is in progress. `on_start` hears the
    run and how many keys are left to do."""
    size = settings.USAGE_SYNC_CHUNK_SIZE
    chunks = [key_ids[i : i + size] for i in range(0, len(key_ids), size)]
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
    )
    resumed = run.resumed
    run.refresh_from_db()
    if run.status == SyncRun.Status.RUNNING and not sync_run_pending(run):
        run = sync_run_record(run_id=run.pk, totals=SyncTotals(), token=ref.token)
    run.resumed = resumed
    return run
