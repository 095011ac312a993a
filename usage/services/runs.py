"""Sync runs: the record of one sync of many keys, whoever does the work.

Rules:
- Single flight: at most one run is `running` (a unique constraint enforces it); a run left
  running longer than SYNC_RUN_STALE_HOURS is abandoned before a new one opens.
- A run adds up the totals of its chunks; a chunk recorded before (a redelivered task) is not
  counted twice.
- A run closes when every key is accounted for (ok or failed): SUCCEEDED when none failed,
  PARTIAL when some did, FAILED when all did. `usage_synced` is sent after the closing commit.
"""

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import SyncRun
from ..signals import usage_synced
from .key_sync_pool import usage_sync_keys
from .outcomes import KeySyncResult, SyncTotals
from .sync_window import utc_today

_TOTAL_FIELDS = [
    "keys_ok",
    "keys_failed",
    "api_calls",
    "retries",
    "rows_created",
    "rows_changed",
    "errors_by_kind",
    "done_chunks",
]


def sync_run_start(
    *,
    trigger: str,
    keys_total: int,
    window_start: date | None = None,
    window_end: date | None = None,
) -> SyncRun | None:
    """Open a run, or None when one is already running (single flight, enforced by a unique
    constraint). A run left `running` longer than SYNC_RUN_STALE_HOURS is abandoned first."""
    stale = timezone.now() - timedelta(hours=settings.SYNC_RUN_STALE_HOURS)
    SyncRun.objects.filter(status=SyncRun.Status.RUNNING, started_at__lt=stale).update(
        status=SyncRun.Status.ABANDONED, finished_at=timezone.now()
    )
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                trigger=trigger,
                started_at=timezone.now(),
                keys_total=keys_total,
                window_start=window_start,
                window_end=window_end or utc_today(),
            )
    except IntegrityError:
        return None


def sync_run_record(*, run_id: int, totals: SyncTotals, chunk: int | None = None) -> SyncRun:
    """Add a batch's totals to the run; close the run when every key is accounted for. A
    chunk recorded before (a redelivered task) is not counted twice."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run_id)
        if chunk is not None:
            if chunk in run.done_chunks:
                return run
            run.done_chunks = [*run.done_chunks, chunk]
        _add_totals(run, totals)
        fields = list(_TOTAL_FIELDS)
        if run.status == SyncRun.Status.RUNNING and run.keys_ok + run.keys_failed >= run.keys_total:
            run.status = _final_status(run)
            run.finished_at = timezone.now()
            fields += ["status", "finished_at"]
            transaction.on_commit(lambda: usage_synced.send(sender=SyncRun, run_id=run_id))
        run.save(update_fields=fields)
    return run


def _add_totals(run: SyncRun, totals: SyncTotals) -> None:
    run.keys_ok += totals.keys_ok
    run.keys_failed += totals.keys_failed
    run.api_calls += totals.api_calls
    run.retries += totals.retries
    run.rows_created += totals.rows_created
    run.rows_changed += totals.rows_changed
    errors = Counter(run.errors_by_kind)
    errors.update(totals.errors_by_kind)
    run.errors_by_kind = {kind: count for kind, count in errors.items() if count}


def _final_status(run: SyncRun) -> str:
    if not run.keys_failed:
        return SyncRun.Status.SUCCEEDED
    return SyncRun.Status.PARTIAL if run.keys_ok else SyncRun.Status.FAILED


def usage_sync_run(
    *,
    trigger: str,
    key_ids: list[int],
    start: date | None = None,
    end: date | None = None,
    concurrency: int = 1,
    on_result: Callable[[KeySyncResult], None] | None = None,
) -> SyncRun | None:
    """A whole run in this process (the command's path): open it, sync, close it. None when
    another run is in progress."""
    run = sync_run_start(
        trigger=trigger, keys_total=len(key_ids), window_start=start, window_end=end
    )
    if run is None:
        return None
    totals = usage_sync_keys(
        key_ids=key_ids,
        start=start,
        end=end,
        run_id=run.pk,
        concurrency=concurrency,
        on_result=on_result,
    )
    return sync_run_record(run_id=run.pk, totals=totals)
