"""Celery interface of the usage sync. Thin: ids in, one service call each, each task named
after the service it runs (former names stay registered for a release).

`sync_run_start` (beat, hourly by default) opens a single-flight run and fans the keys out as
DEEPGRAM_MAX_CONCURRENCY lanes; a lane is a chain of chunk tasks run one after another, so at
most that many calls reach Deepgram at once, however many workers take part.
"""

import logging

from celery import chain
from django.conf import settings
from django.db import transaction

from billing_portal.task_names import shared_task_renamed

from . import selectors, services
from .models import SyncRun

logger = logging.getLogger(__name__)


@shared_task_renamed(formerly="usage.tasks.sync_all_usage")
def sync_run_start(trigger: str = SyncRun.Trigger.BEAT) -> dict:
    """Start a sync of every key that may still change; does nothing while one is running."""
    key_ids = list(selectors.keys_to_sync().order_by("pk").values_list("pk", flat=True))
    run = services.sync_run_start(trigger=trigger, keys_total=len(key_ids))
    if run is None:
        running = selectors.running_sync()
        logger.info("A usage sync is already running (%s); this one does nothing.", running)
        return {"skipped": True, "running_run": running.pk if running else None}
    if not key_ids:
        services.sync_run_record(run_id=run.pk, totals=services.SyncTotals())
        return {"run": run.pk, "keys": 0}
    lanes = services.sync_lanes(
        key_ids, count=settings.DEEPGRAM_MAX_CONCURRENCY, chunk_size=settings.USAGE_SYNC_CHUNK_SIZE
    )
    chunk = 0
    for lane in lanes:
        signatures = []
        for key_chunk in lane:
            signatures.append(usage_sync_keys.si(run.pk, key_chunk, chunk))
            chunk += 1
        transaction.on_commit(chain(*signatures).apply_async)
    return {"run": run.pk, "keys": len(key_ids), "lanes": len(lanes)}


@shared_task_renamed(formerly="usage.tasks.sync_usage_chunk")
def usage_sync_keys(run_id: int, key_ids: list[int], chunk: int | None = None) -> dict:
    """Sync a chunk of keys one after another and add the outcome to the run. Never raises:
    a chunk that breaks counts its keys as failed, so the rest of its lane still runs and the
    run still closes."""
    try:
        totals = services.usage_sync_keys(key_ids=key_ids, run_id=run_id)
    except Exception:
        logger.exception("Usage sync chunk %s of run %s failed", chunk, run_id)
        totals = services.SyncTotals(keys_failed=len(key_ids))
        totals.errors_by_kind["InternalError"] = len(key_ids)
    run = services.sync_run_record(run_id=run_id, totals=totals, chunk=chunk)
    return {"run": run_id, "ok": totals.keys_ok, "failed": totals.keys_failed, "status": run.status}
