"""Celery interface of the usage sync. Thin: ids in, one service call each, each task named
after the service it runs (former names stay registered for a release).

`sync_run_start` (beat, hourly by default) opens a single-flight run, or takes over a stale one
(its heartbeat too old), and fans the chunks not done (a project's keys each, see
`services.lanes`) out as at most DEEPGRAM_MAX_CONCURRENCY lanes; a lane is a chain of chunk
tasks run one after another, each fetching its ranges of days `range_concurrency` at a time,
so at most that many calls reach Deepgram at once, however many workers take part.

A chunk task carries its run's token: a chunk of a run taken over since, or done before (a
redelivery under late acks), does nothing. It runs under USAGE_SYNC_CHUNK_SOFT_TIME_LIMIT and
USAGE_SYNC_CHUNK_TIME_LIMIT: at the soft limit its fetching threads stop, what they fetched is
written, and its lane goes on with the keys left (a new chunk of the run) and then its next
chunks; a chunk that fetched nothing stays pending and is resumed by the next takeover.

`sync_report_stale_keys` (beat, daily) tells the operators of keys not synced for 24 h.

`usage_sum_month_costs` runs after every finished sync, once its rows have settled: it brings
the kept monthly sums of Deepgram's cost up to date, for the Margin page.
"""

import logging

from celery import chain, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction

from billing_portal.task_names import shared_task_renamed

from . import month_costs, selectors, services
from .models import SyncRun

logger = logging.getLogger(__name__)


@shared_task_renamed(formerly="usage.tasks.sync_all_usage")
def sync_run_start(trigger: str = SyncRun.Trigger.BEAT) -> dict:
    """Start a sync of every key that may still change, or resume a stale run; does nothing
    while a live one is running."""
    keys = list(selectors.keys_to_sync().order_by("pk").values_list("pk", "project_id"))
    lanes = services.sync_lanes(
        keys, count=settings.DEEPGRAM_MAX_CONCURRENCY, chunk_size=settings.USAGE_SYNC_CHUNK_SIZE
    )
    run = services.sync_run_start(trigger=trigger, chunks=[c for lane in lanes for c in lane])
    if run is None:
        running = selectors.running_sync()
        logger.info("A usage sync is already running (%s); this one does nothing.", running)
        return {"skipped": True, "running_run": running.pk if running else None}
    todo, token = services.sync_run_pending(run), str(run.token)
    if not todo:
        services.sync_run_record(run_id=run.pk, totals=services.SyncTotals(), token=token)
        return {"run": run.pk, "keys": 0, "resumed": run.resumed}
    lanes = services.chunk_lanes(todo, count=settings.DEEPGRAM_MAX_CONCURRENCY)
    width = services.range_concurrency(settings.DEEPGRAM_MAX_CONCURRENCY, len(lanes))
    for lane in lanes:
        signatures = [_chunk_task(run.pk, number, keys, token, width) for number, keys in lane]
        transaction.on_commit(chain(*signatures).apply_async)
    keys = sum(len(keys) for _, keys in todo)
    return {"run": run.pk, "keys": keys, "lanes": len(lanes), "resumed": run.resumed}


def _chunk_task(run_id: int, chunk: int, key_ids: list[int], token: str, concurrency: int = 1):
    return usage_sync_keys.si(run_id, key_ids, chunk, token, concurrency).set(
        soft_time_limit=settings.USAGE_SYNC_CHUNK_SOFT_TIME_LIMIT,
        time_limit=settings.USAGE_SYNC_CHUNK_TIME_LIMIT,
    )


@shared_task_renamed(formerly="usage.tasks.sync_usage_chunk", bind=True)
def usage_sync_keys(
    self,
    run_id: int,
    key_ids: list[int],
    chunk: int | None = None,
    token: str | None = None,
    concurrency: int = 1,
) -> dict:
    """Sync a chunk of keys and add the outcome to the run, in the chunk's write transaction.
    Never raises: a chunk that breaks counts its keys as failed, so the rest of its lane still
    runs and the run still closes. Past its soft time limit it ends cleanly and its lane goes
    on with the keys it left."""
    ref = services.RunChunk(run_id, chunk, token)
    if not services.sync_chunk_claim(ref, lock=False):
        return {"run": run_id, "chunk": chunk, "skipped": True}
    leftovers: list[tuple[int, list[int]]] = []
    try:
        totals = services.usage_sync_keys(
            chunks=[(chunk, key_ids)],
            run=services.RunChunk(run_id, None, token),
            concurrency=concurrency,
            stop_on=(SoftTimeLimitExceeded,),
            on_leftover=lambda number, keys: leftovers.append((number, keys)),
        )
    except SoftTimeLimitExceeded:
        logger.warning("Usage sync chunk %s of run %s stopped at its soft time limit while "
                       "writing; it stays pending, to be resumed", chunk, run_id)  # fmt: skip
        return {"run": run_id, "chunk": chunk, "stopped": True}
    except Exception:
        logger.exception("Usage sync chunk %s of run %s failed", chunk, run_id)
        totals = services.SyncTotals(keys_failed=len(key_ids))
        totals.errors_by_kind["InternalError"] = len(key_ids)
        services.sync_run_record(run_id=run_id, totals=totals, chunk=chunk, token=token)
    if leftovers and token is not None:
        number, keys = leftovers[0]
        logger.info("Chunk %s of run %s ended at its soft time limit; its lane goes on with "
                    "its %d keys left (chunk %s)", chunk, run_id, len(keys), number)  # fmt: skip
        raise self.replace(_chunk_task(run_id, number, keys, token, concurrency))
    return {"run": run_id, "chunk": chunk, "ok": totals.keys_ok, "failed": totals.keys_failed}


@shared_task
def sync_report_stale_keys() -> dict:
    """Report the keys whose usage has not synced for 24 h (log and ADMINS e-mail), at most
    once a UTC day."""
    return {"reported": services.sync_report_stale_keys()}


@shared_task
def usage_sum_month_costs() -> dict:
    """Sum again what changed of the current and the previous month's Deepgram cost."""
    return month_costs.sum_synced_months()
