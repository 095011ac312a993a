"""Syncing keys: window, fetch, store; for one key, or for a chunk of keys at once.

Rules:
- One key: its window (`windows_of`), one summary call per method, then one transaction of
  upserts. Deepgram errors are recorded on the key's sync state, not raised.
- A chunk: its keys are loaded in one query, in the order asked for, and written in one
  transaction. A chunk whose write fails counts every key it asked Deepgram about as failed
  ("InternalError"; the keys it skipped stay skipped): its rows and sync states are rolled
  back and the next run reads the same days again.
- A chunk of a run writes only while the run is still its own (`runs.sync_chunk_claim`, in
  the write's transaction): a late chunk of a run taken over, or a chunk done before, writes
  nothing. Its totals are added to the run in the same transaction.
- A chunk whose answers would wipe out most of a project's usage (`storing.MassCutError`)
  writes nothing and holds its run (FAILED, with the reason), unless the run applies a cut ops
  accepted; its keys count as failed ("MassCut").
"""

import logging
from collections.abc import Iterable
from datetime import date

from django.db import transaction

from billing_portal.deepgram import DeepgramClient
from customers.models import ApiKey

from .fetching import FetchedUsage, fetch_usage
from .outcomes import KeySyncResult, SyncTotals
from .runs import RunChunk, sync_chunk_claim, sync_run_hold, sync_run_record
from .storing import MassCutError, store_fetched
from .sync_window import windows_of

logger = logging.getLogger(__name__)


def usage_sync_key(
    *,
    api_key: ApiKey,
    client: DeepgramClient,
    today: date,
    start: date | None = None,
    end: date | None = None,
    run_id: int | None = None,
) -> KeySyncResult:
    """Sync one key's window: one summary call (one per method when the project splits),
    then one transaction of upserts. Deepgram errors are recorded on the key, not raised."""
    key_windows, skipped = windows_of([api_key], today=today, start=start, end=end)
    if skipped:
        return skipped[0]
    return store_fetched([fetch_usage(key_windows[0], client)], run_id)[0]


def chunk_keys(key_ids: Iterable[int]) -> list[ApiKey]:
    """The chunk's keys with their project and sync state, in the order of `key_ids`."""
    key_ids = list(key_ids)
    keys = ApiKey.objects.filter(pk__in=key_ids).select_related("project", "sync_state")
    order = {pk: n for n, pk in enumerate(key_ids)}
    return sorted(keys, key=lambda key: order[key.pk])


def chunk_store(
    skipped: list[KeySyncResult],
    fetched: list[FetchedUsage],
    run: RunChunk | None = None,
    leftover: list[int] | None = None,
) -> tuple[list[KeySyncResult] | None, int | None]:
    """Write a chunk's fetched usage and record it on its run, in one transaction; when the
    write fails, every fetched key failed (recorded so). Returns the results and the number
    the `leftover` keys got as a chunk of the run; no results when the run is no longer the
    chunk's (taken over, closed, or the chunk done before): then nothing is written."""
    try:
        with transaction.atomic():
            claimed = sync_chunk_claim(run) if run is not None else None
            if run is not None and claimed is None:
                return None, None
            guard = not (claimed and claimed.allow_mass_cut)
            results = skipped + store_fetched(fetched, run and run.run_id, guard=guard)
            return results, _record(run, results, leftover)
    except MassCutError as exc:
        if run is not None:
            sync_run_hold(run, reason=str(exc), keys=len(fetched))
        return skipped + [_failed(f, "MassCut", str(exc)) for f in fetched], None
    except Exception as exc:
        logger.exception("Writing the usage of %d keys failed", len(fetched))
        results = skipped + [_failed(f, "InternalError", type(exc).__name__) for f in fetched]
        return results, _record(run, results, leftover)


def _failed(f: FetchedUsage, kind: str, error: str) -> KeySyncResult:
    return KeySyncResult(
        key_pk=f.key_window.api_key.pk,
        ok=False,
        error_kind=kind,
        error=error,
        api_calls=f.api_calls,
        retries=f.retries,
    )


def _record(run: RunChunk | None, results: list[KeySyncResult], leftover) -> int | None:
    if run is None:
        return None
    totals = SyncTotals()
    for result in results:
        totals.add(result)
    recorded = sync_run_record(
        run_id=run.run_id, totals=totals, chunk=run.chunk, token=run.token, leftover=leftover
    )
    return recorded.leftover_chunk
