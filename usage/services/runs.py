"""Sync runs: the record of one sync of many keys, whoever does the work.

Rules:
- Single flight: at most one run is `running` (a unique constraint enforces it).
- A run is split into numbered chunks of keys (`chunks`); each chunk is recorded once
  (`done_chunks`), in the same transaction that writes its usage, so "done" and "written"
  never disagree. A chunk recorded before (a redelivered task) writes and counts nothing.
- Heartbeat: the run's owner beats `heartbeat_at` while it works. A run whose heartbeat is
  older than `stale_after()` (the longest one Deepgram call may take with its retries, plus a
  heartbeat; SYNC_RUN_STALE_SECONDS overrides it) is taken over by the next sync: a
  conditional UPDATE on its old token and old heartbeat gives it a new token, so exactly one
  taker wins, and the taker resumes the chunks not yet done. A chunk of the former owner (its
  token) that arrives late writes nothing.
  A stale run of an older release (no chunks recorded) is abandoned instead, and a new run opens.
- A chunk ended early (its task's soft time limit) records what it wrote; its keys are
  appended to its chunks as a new one, to be resumed from the first day it did not write
  (`resume_from`): the settlement window is read again once a run, not once a chunk.
- Held: a chunk whose answers would wipe out most of a project's usage (`storing`) stops the
  run before it writes: FAILED, with the reason (`held_reason`). Ops accept a real cut
  (`sync_run_accept_cut`): the next run to open applies it (`allow_mass_cut`), once.
- A run closes when every key is accounted for (ok or failed): SUCCEEDED when none failed,
  PARTIAL when some did, FAILED when all did. `usage_synced` is sent after the closing commit;
  a PARTIAL or FAILED run (a held one too) is told to the operators then, once (`alerts`).
"""

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing_portal.deepgram import client

from ..models import SyncRun
from ..signals import usage_synced
from .alerts import sync_run_alert
from .outcomes import SyncTotals
from .sync_window import utc_today

logger = logging.getLogger(__name__)

_TOTAL_FIELDS = [
    "keys_ok",
    "keys_failed",
    "api_calls",
    "retries",
    "rows_created",
    "rows_changed",
    "errors_by_kind",
    "calls_by_endpoint",
    "differences",
    "cost_unread",
    "done_chunks",
    "heartbeat_at",
]


@dataclass(frozen=True)
class RunChunk:
    """One chunk of a run as its worker knows it: the run, the chunk's number and the token
    the run had when the chunk was handed out (None: a task queued by an older release)."""

    run_id: int
    chunk: int | None = None
    token: str | None = None

    def of(self, chunk: int) -> "RunChunk":
        return RunChunk(self.run_id, chunk, self.token)


def stale_after() -> timedelta:
    """How old a running run's heartbeat may be before the run is taken over:
    SYNC_RUN_STALE_SECONDS, or (0) the longest one call may take with its retries (every try
    at its deadline, DEEPGRAM_CALL_DEADLINE, or else its connect and read timeouts; every wait
    at its longest) plus one heartbeat."""
    if settings.SYNC_RUN_STALE_SECONDS:
        return timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS)
    longest_wait = max(client.BACKOFF_CAP_SECONDS, client.MAX_RETRY_AFTER_SECONDS)
    one_try = settings.DEEPGRAM_CALL_DEADLINE or (
        settings.DEEPGRAM_CONNECT_TIMEOUT + settings.DEEPGRAM_READ_TIMEOUT
    )
    retries = settings.DEEPGRAM_MAX_RETRIES
    call = (retries + 1) * one_try + retries * longest_wait
    return timedelta(seconds=call + settings.SYNC_HEARTBEAT_SECONDS)


def sync_run_start(
    *,
    trigger: str,
    chunks: list[list[int]],
    window_start: date | None = None,
    window_end: date | None = None,
) -> SyncRun | None:
    """Open a run of these chunks, or take over the running one when it is stale (then the
    returned run is that one, with `resumed` set, its chunks and window kept), or None when a
    live run is in progress (single flight)."""
    running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).first()
    if running is not None:
        if running.heartbeat_at >= timezone.now() - stale_after():
            return None
        if running.chunks or not running.keys_total:
            return sync_run_take_over(running)
        SyncRun.objects.filter(pk=running.pk, token=running.token).update(
            status=SyncRun.Status.ABANDONED, finished_at=timezone.now()
        )
    last = SyncRun.objects.exclude(status=SyncRun.Status.RUNNING).first()
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                trigger=trigger,
                started_at=timezone.now(),
                keys_total=sum(len(chunk) for chunk in chunks),
                chunks=chunks,
                window_start=window_start,
                window_end=window_end or utc_today(),
                allow_mass_cut=bool(last and last.held_reason and last.accepted_at),
            )
    except IntegrityError:
        return None
    run.resumed = False
    return run


def sync_run_take_over(stale: SyncRun) -> SyncRun | None:
    """Take over a stale run as read: one conditional UPDATE on its old token and heartbeat,
    so of two takers exactly one wins (the other, and a taker that finds the run beating
    again, gets None). The winner's run has a new token and `resumed` set."""
    token, now = uuid.uuid4(), timezone.now()
    won = SyncRun.objects.filter(
        pk=stale.pk,
        status=SyncRun.Status.RUNNING,
        token=stale.token,
        heartbeat_at=stale.heartbeat_at,
    ).update(token=token, heartbeat_at=now, takeovers=F("takeovers") + 1)
    if not won:
        return None
    run = SyncRun.objects.get(pk=stale.pk)
    logger.warning(
        "Took over sync run %s (no heartbeat since %s); resuming %d of its %d chunks",
        run.pk,
        stale.heartbeat_at,
        len(sync_run_pending(run)),
        len(run.chunks),
    )
    run.resumed = True
    return run


def sync_run_pending(run: SyncRun) -> list[tuple[int, list[int]]]:
    """The run's chunks not yet done, as (number, key pks), in order."""
    done = set(run.done_chunks)
    return [(n, keys) for n, keys in enumerate(run.chunks) if n not in done]


def sync_run_beat(ref: RunChunk) -> bool:
    """Show the run is alive; False when it is no longer this owner's (taken over, closed)."""
    runs = SyncRun.objects.filter(pk=ref.run_id, status=SyncRun.Status.RUNNING)
    if ref.token is not None:
        runs = runs.filter(token=ref.token)
    return bool(runs.update(heartbeat_at=timezone.now()))


def sync_chunk_claim(ref: RunChunk, *, lock: bool = True) -> SyncRun | None:
    """The run when this chunk may still write (the run is running, still the token's, and
    the chunk not done), else None. Inside the chunk's write transaction (`lock`), the run row
    is locked, so the answer holds until the chunk is recorded. Says in the log why not."""
    runs = SyncRun.objects.select_for_update() if lock else SyncRun.objects
    fields = ("status", "token", "done_chunks", "allow_mass_cut", "resume_from")
    run = runs.filter(pk=ref.run_id).only(*fields).first()
    if run is None or run.status != SyncRun.Status.RUNNING:
        reason = "the run is closed"
    elif ref.token is not None and str(run.token) != str(ref.token):
        reason = "the run was taken over"
    elif ref.chunk is not None and ref.chunk in run.done_chunks:
        reason = "the chunk is done already"
    else:
        return run
    logger.warning(
        "Chunk %s of sync run %s writes nothing: %s (a late or redelivered chunk)",
        ref.chunk,
        ref.run_id,
        reason,
    )
    return None


def sync_run_record(
    *,
    run_id: int,
    totals: SyncTotals,
    chunk: int | None = None,
    token: str | None = None,
    leftover: list[int] | None = None,
    resume_from: dict[int, date] | None = None,
) -> SyncRun:
    """Add a chunk's totals to the run and mark the chunk done; `leftover` keys (a chunk ended
    early) become a new chunk of the run (`run.leftover_chunk`), read from `resume_from`
    ({project pk: first day not yet read}) on. Closes the run when every
    key is accounted for. A chunk recorded before, or of a former owner (`token`), counts
    nothing."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run_id)
        run.leftover_chunk = None
        if not sync_chunk_claim(RunChunk(run_id, chunk, token), lock=False):
            return run
        fields = list(_TOTAL_FIELDS)
        if chunk is not None:
            run.done_chunks = [*run.done_chunks, chunk]
        if leftover:
            run.chunks, run.leftover_chunk = [*run.chunks, leftover], len(run.chunks)
            fields.append("chunks")
            if resume_from:
                days = {str(project): day.isoformat() for project, day in resume_from.items()}
                run.resume_from = {**run.resume_from, str(run.leftover_chunk): days}
                fields.append("resume_from")
        _add_totals(run, totals)
        run.heartbeat_at = timezone.now()
        if run.keys_ok + run.keys_failed >= run.keys_total and not leftover:
            run.status = _final_status(run)
            run.finished_at = timezone.now()
            fields += ["status", "finished_at"]
            transaction.on_commit(lambda: usage_synced.send(sender=SyncRun, run_id=run_id))
            if run.status != SyncRun.Status.SUCCEEDED:
                transaction.on_commit(partial(sync_run_alert, run_id), robust=True)
        run.save(update_fields=fields)
    return run


def sync_run_hold(ref: RunChunk, *, reason: str, keys: int) -> SyncRun | None:
    """Stop the run before it writes a mass cut: FAILED, with the reason and the chunk's
    `keys` counted as failed ("MassCut"). Nothing when the run is no longer the chunk's."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=ref.run_id)
        if not sync_chunk_claim(ref, lock=False):
            return None
        run.status, run.finished_at, run.held_reason = SyncRun.Status.FAILED, timezone.now(), reason
        run.keys_failed += keys
        run.errors_by_kind = {**run.errors_by_kind, "MassCut": keys}
        run.save(
            update_fields=["status", "finished_at", "held_reason", "keys_failed", "errors_by_kind"]
        )
        # The alert's error line says why it stopped.
        transaction.on_commit(partial(sync_run_alert, run.pk), robust=True)
    return run


def sync_run_accept_cut(*, run_id: int, user) -> bool:
    """Ops say the cut a held run saw is real: the next run to open applies it. False when
    the run was not held, or is accepted already."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run_id)
        if not run.held_reason or run.accepted_at:
            return False
        run.accepted_at, run.accepted_by = timezone.now(), user
        run.save(update_fields=["accepted_at", "accepted_by"])
    logger.warning("Sync run %s: its usage cut was accepted by %s", run_id, user)
    return True


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
    calls = Counter(run.calls_by_endpoint)
    calls.update(totals.calls_by_endpoint)
    run.calls_by_endpoint = dict(calls)
    if totals.differences:
        # A day read by several chunks of a project is reported once.
        seen = {(d["project"], d["day"], d["unit"]) for d in run.differences}
        for difference in totals.differences:
            if (difference["project"], difference["day"], difference["unit"]) not in seen:
                run.differences = [*run.differences, difference]
    run.cost_unread = {**run.cost_unread, **totals.cost_unread}


def _final_status(run: SyncRun) -> str:
    if not run.keys_failed:
        return SyncRun.Status.SUCCEEDED
    return SyncRun.Status.PARTIAL if run.keys_ok else SyncRun.Status.FAILED
