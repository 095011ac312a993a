"""Speed for `key_sync`: many keys, chunk by chunk, with Deepgram's calls in worker threads.

Rules (of speed only; what is synced and stored is `key_sync`'s):
- Up to `concurrency` threads call Deepgram (HTTP only, no database); this thread loads and
  windows each chunk, and writes it in one transaction.
- Lookahead: while one chunk is written, the next LOOKAHEAD_CHUNKS chunks are already being
  fetched, so Deepgram is kept busy. Results come back in chunk order.
"""

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date

from django.conf import settings

from .fetching import FetchedUsage, fetch_usage
from .key_sync import chunk_keys, chunk_store
from .outcomes import KeySyncResult, SyncTotals
from .sync_window import utc_today, windows_of

LOOKAHEAD_CHUNKS = 2

_Pending = tuple[list[KeySyncResult], list[Future[FetchedUsage]]]  # skipped, fetches


def usage_sync_keys(
    *,
    key_ids: Iterable[int],
    today: date | None = None,
    start: date | None = None,
    end: date | None = None,
    run_id: int | None = None,
    concurrency: int = 1,
    chunk_size: int | None = None,
    on_result: Callable[[KeySyncResult], None] | None = None,
) -> SyncTotals:
    """Sync many keys chunk by chunk: up to `concurrency` threads call Deepgram (HTTP only),
    while this thread writes each chunk in one transaction and plans the next. Never raises
    for one key's failure; a chunk whose write fails counts its keys as failed."""
    today = today or utc_today()
    ids = list(key_ids)
    size = chunk_size or settings.USAGE_SYNC_CHUNK_SIZE
    chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
    totals = SyncTotals()

    def collect(results: list[KeySyncResult]) -> None:
        for result in results:
            totals.add(result)
            if on_result:
                on_result(result)

    with ThreadPoolExecutor(
        max_workers=max(1, concurrency), thread_name_prefix="usage-sync"
    ) as pool:
        # Keep Deepgram busy with the next chunks while this thread writes one.
        pending: deque[_Pending] = deque()
        for chunk in chunks:
            pending.append(_start_chunk(chunk, pool, today, start, end))
            if len(pending) > LOOKAHEAD_CHUNKS:
                collect(_finish_chunk(pending.popleft(), run_id))
        while pending:
            collect(_finish_chunk(pending.popleft(), run_id))
    return totals


def _start_chunk(
    key_ids: list[int],
    pool: ThreadPoolExecutor,
    today: date,
    start: date | None,
    end: date | None,
) -> _Pending:
    key_windows, skipped = windows_of(chunk_keys(key_ids), today=today, start=start, end=end)
    return skipped, [pool.submit(fetch_usage, key_window) for key_window in key_windows]


def _finish_chunk(pending: _Pending, run_id: int | None) -> list[KeySyncResult]:
    skipped, futures = pending
    return chunk_store(skipped, [future.result() for future in futures], run_id)
