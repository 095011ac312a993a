"""Usage sync: Deepgram's usage summary per key (by accessor) into one row per key, UTC day
and method.

Rules:
- Window of a key: from its last synced day minus the settlement window (default 3 days), or
  from its creation day, to today (UTC); a revoked key up to its revocation day plus the
  window. An explicit start/end (a backfill) overrides.
- Idempotent: the same window twice changes nothing. A day inside the window that Deepgram no
  longer reports but we stored with usage becomes zero (a correction), never silently kept.
- A key's rows are written in one transaction; a failed key keeps what earlier runs committed
  and is retried by the next run. A failing key never stops the others.
"""

import contextlib
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing_portal.bulk import insert_rows
from billing_portal.deepgram import DeepgramClient, DeepgramError, client_from_settings
from customers.models import ApiKey

from .models import SPLIT_METHODS, DailyUsage, KeySyncState, Method, SyncRun, UsageCorrection
from .signals import usage_synced
from .units import quantize_hours

logger = logging.getLogger(__name__)

Values = tuple[Decimal, Decimal, int]  # hours, total_hours, requests
ZERO: Values = (Decimal(0), Decimal(0), 0)
LOOKAHEAD_CHUNKS = 2


@dataclass
class KeySyncResult:
    key_pk: int
    ok: bool = True
    skipped: bool = False
    rows_created: int = 0
    rows_changed: int = 0
    api_calls: int = 0
    retries: int = 0
    error_kind: str = ""
    error: str = ""
    window: tuple[date, date] | None = None


@dataclass
class SyncTotals:
    """What a batch of key syncs added up to."""

    keys_ok: int = 0
    keys_failed: int = 0
    api_calls: int = 0
    retries: int = 0
    rows_created: int = 0
    rows_changed: int = 0
    errors_by_kind: Counter = field(default_factory=Counter)

    def add(self, result: KeySyncResult) -> None:
        self.keys_ok += result.ok
        self.keys_failed += not result.ok
        self.api_calls += result.api_calls
        self.retries += result.retries
        self.rows_created += result.rows_created
        self.rows_changed += result.rows_changed
        if result.error_kind:
            self.errors_by_kind[result.error_kind] += 1


def utc_today() -> date:
    return timezone.now().astimezone(UTC).date()


def sync_window(
    api_key: ApiKey,
    state: KeySyncState | None,
    *,
    today: date,
    start: date | None = None,
    end: date | None = None,
) -> tuple[date, date] | None:
    """The days to ask Deepgram about for one key, or None when there is nothing to do."""
    settle = timedelta(days=settings.USAGE_SETTLEMENT_DAYS)
    created = api_key.created_at.astimezone(UTC).date()
    last = today if end is None else min(end, today)
    synced = state.synced_through if state else None
    if api_key.revoked_at is not None:
        last = min(last, api_key.revoked_at.astimezone(UTC).date() + settle)
        if start is None and synced and synced >= last:
            return None  # settled: nothing after the revocation window can change
    if start is None:
        start = synced - settle if synced else created
    first = max(start, created)
    return (first, last) if first <= last else None


@dataclass
class _Plan:
    """One key's part of a sync: its window and the methods to ask for."""

    api_key: ApiKey
    state: KeySyncState
    window: tuple[date, date]
    methods: tuple[str, ...]


@dataclass
class _Fetched:
    plan: _Plan
    reported: dict[tuple[date, str], Values] | None = None
    error: Exception | None = None
    api_calls: int = 0
    retries: int = 0


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
    plans, skipped = _plan([api_key], today=today, start=start, end=end)
    if skipped:
        return skipped[0]
    return _store([_fetch(plans[0], client)], run_id)[0]


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
        pending = deque()
        for chunk in chunks:
            pending.append(_start_chunk(chunk, pool, today, start, end))
            if len(pending) > LOOKAHEAD_CHUNKS:
                collect(_finish_chunk(pending.popleft(), run_id))
        while pending:
            collect(_finish_chunk(pending.popleft(), run_id))
    return totals


def _start_chunk(key_ids, pool, today, start, end):
    keys = ApiKey.objects.filter(pk__in=key_ids).select_related("project", "sync_state")
    order = {pk: n for n, pk in enumerate(key_ids)}
    keys = sorted(keys, key=lambda key: order[key.pk])
    plans, skipped = _plan(keys, today=today, start=start, end=end)
    return skipped, [pool.submit(_fetch, plan) for plan in plans]


def _finish_chunk(pending, run_id) -> list[KeySyncResult]:
    skipped, futures = pending
    fetched = [future.result() for future in futures]
    try:
        return skipped + _store(fetched, run_id)
    except Exception as exc:
        logger.exception("Writing the usage of %d keys failed", len(fetched))
        return skipped + [
            KeySyncResult(
                key_pk=f.plan.api_key.pk,
                ok=False,
                error_kind="InternalError",
                error=type(exc).__name__,
                api_calls=f.api_calls,
                retries=f.retries,
            )
            for f in fetched
        ]


def _plan(keys: list[ApiKey], *, today, start, end) -> tuple[list[_Plan], list[KeySyncResult]]:
    states = _states_of(keys)
    plans, skipped = [], []
    settled = []
    for key in keys:
        window = sync_window(key, states[key.pk], today=today, start=start, end=end)
        if window is None:
            skipped.append(KeySyncResult(key_pk=key.pk, skipped=True))
            if key.revoked_at and start is None and not states[key.pk].settled:
                settled.append(states[key.pk].pk)
            continue
        methods = SPLIT_METHODS if key.project.split_usage_by_method else (Method.ALL,)
        plans.append(_Plan(key, states[key.pk], window, methods))
    if settled:  # revoked and synced past the window: later runs leave these keys out
        KeySyncState.objects.filter(pk__in=settled).update(settled=True)
    return plans, skipped


def _states_of(keys: list[ApiKey]) -> dict[int, KeySyncState]:
    """Each key's sync state, creating the missing ones in one query."""
    states = {}
    for key in keys:
        with contextlib.suppress(KeySyncState.DoesNotExist):
            states[key.pk] = key.sync_state
    missing = {key.pk: key for key in keys if key.pk not in states}
    if missing:
        KeySyncState.objects.bulk_create(
            [KeySyncState(api_key_id=pk) for pk in missing], ignore_conflicts=True
        )
        for state in KeySyncState.objects.filter(api_key_id__in=missing):
            missing[state.api_key_id].sync_state = state
            states[state.api_key_id] = state
    return states


def _fetch(plan: _Plan, client: DeepgramClient | None = None) -> _Fetched:
    """Ask Deepgram for one key's window (runs in a worker thread: no database here)."""
    client = client or client_from_settings()
    calls, retries = client.stats.calls, client.stats.retries
    fetched = _Fetched(plan)
    first, last = plan.window
    try:
        reported = {}
        for method in plan.methods:
            summary = client.usage_summary(
                plan.api_key.project.project_id,
                start=first,
                end=last,
                accessor=plan.api_key.key_id,
                method=None if method == Method.ALL else method,
            )
            for row in summary.results:
                if first <= row.start <= last:
                    reported[(row.start, method)] = (
                        quantize_hours(row.hours),
                        quantize_hours(row.total_hours),
                        row.requests,
                    )
        fetched.reported = reported
    except DeepgramError as exc:
        fetched.error = exc
    except Exception as exc:  # a bug must not stop the other keys
        logger.exception("Fetching usage of key %s failed", plan.api_key.key_id)
        fetched.error = exc
    fetched.api_calls = client.stats.calls - calls
    fetched.retries = client.stats.retries - retries
    return fetched


def _store(fetched: list[_Fetched], run_id) -> list[KeySyncResult]:
    """Write every successfully fetched key of a chunk in one transaction: upsert the
    windows' rows, zero the days Deepgram dropped, move the sync states on."""
    now = timezone.now()
    good = [f for f in fetched if f.error is None]
    results = [_failed(f, now) for f in fetched if f.error is not None]
    new: list[tuple] = []
    changed: list[tuple[int, Values, Values]] = []  # pk, old values, new values
    with transaction.atomic():
        stored = _stored_rows(good)
        for f in good:
            result = KeySyncResult(
                key_pk=f.plan.api_key.pk,
                window=f.plan.window,
                api_calls=f.api_calls,
                retries=f.retries,
            )
            rows = stored.get(f.plan.api_key.pk, {})
            for (day, method), values in f.reported.items():
                row = rows.pop((day, method), None)
                if row is None:
                    new.append((f.plan.api_key.pk, day, method, *values))
                    result.rows_created += 1
                elif row[1] != values:
                    changed.append((row[0], row[1], values))
                    result.rows_changed += 1
            for pk, values in rows.values():
                if values != ZERO:  # Deepgram no longer reports this day
                    changed.append((pk, values, ZERO))
                    result.rows_changed += 1
            results.append(result)
        _insert_rows(new, now)
        _update_rows(changed, now, run_id)
        _save_states(fetched, now)
    return results


def _stored_rows(good: list[_Fetched]) -> dict[int, dict[tuple[date, str], tuple[int, Values]]]:
    """The stored rows inside each key's window: {key pk: {(day, method): (pk, values)}}."""
    if not good:
        return {}
    plans = {f.plan.api_key.pk: f.plan for f in good}
    first = min(plan.window[0] for plan in plans.values())
    last = max(plan.window[1] for plan in plans.values())
    rows = DailyUsage.objects.filter(api_key_id__in=plans, day__range=(first, last))
    stored: dict[int, dict] = {}
    for pk, key_pk, day, method, *values in rows.values_list(
        "pk", "api_key_id", "day", "method", "hours", "total_hours", "requests"
    ):
        plan = plans[key_pk]
        # Rows of the other method split (the project changed its setting) are kept here too,
        # so that they are zeroed instead of being counted twice.
        if plan.window[0] <= day <= plan.window[1]:
            stored.setdefault(key_pk, {})[(day, method)] = (pk, tuple(values))
    return stored


_COLUMNS = (
    "api_key_id",
    "day",
    "method",
    "hours",
    "total_hours",
    "requests",
    "first_seen_at",
    "changed_at",
)


def _insert_rows(rows: list[tuple], now) -> None:
    """Insert new daily rows in bulk (COPY on PostgreSQL): the backfill's hot path."""
    if rows:
        insert_rows(DailyUsage._meta.db_table, _COLUMNS, ((*row, now, now) for row in rows))


def _update_rows(changed: list[tuple[int, Values, Values]], now, run_id) -> None:
    """Apply late corrections and keep the old and new values of each."""
    if not changed:
        return
    DailyUsage.objects.bulk_update(
        [
            DailyUsage(pk=pk, hours=new[0], total_hours=new[1], requests=new[2], changed_at=now)
            for pk, _, new in changed
        ],
        ["hours", "total_hours", "requests", "changed_at"],
        batch_size=500,
    )
    UsageCorrection.objects.bulk_create(
        [
            UsageCorrection(
                usage_id=pk,
                run_id=run_id,
                at=now,
                old_hours=old[0],
                new_hours=new[0],
                old_total_hours=old[1],
                new_total_hours=new[1],
                old_requests=old[2],
                new_requests=new[2],
            )
            for pk, old, new in changed
        ],
        batch_size=500,
    )


def _save_states(fetched: list[_Fetched], now) -> None:
    """Successes move on in one UPDATE per distinct last day; failures are saved one by one."""
    through: dict[date, list[int]] = {}
    for f in fetched:
        if f.error is None:
            state, last = f.plan.state, f.plan.window[1]
            state.synced_through = max(state.synced_through or last, last)
            through.setdefault(state.synced_through, []).append(state.pk)
        else:
            f.plan.state.save(
                update_fields=[
                    "last_error_at",
                    "last_error",
                    "last_error_kind",
                    "consecutive_failures",
                ]
            )
    for day, pks in through.items():
        KeySyncState.objects.filter(pk__in=pks).update(
            synced_through=day, last_success_at=now, consecutive_failures=0
        )


def _failed(f: _Fetched, now) -> KeySyncResult:
    state, exc = f.plan.state, f.error
    state.last_error_at, state.last_error = now, str(exc)[:2000]
    state.last_error_kind = type(exc).__name__
    state.consecutive_failures += 1
    kind = type(exc).__name__ if isinstance(exc, DeepgramError) else "InternalError"
    return KeySyncResult(
        key_pk=f.plan.api_key.pk,
        ok=False,
        error_kind=kind,
        error=str(exc),
        window=f.plan.window,
        api_calls=f.api_calls,
        retries=f.retries,
    )


# --- Runs -------------------------------------------------------------------------------------


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
        run.keys_ok += totals.keys_ok
        run.keys_failed += totals.keys_failed
        run.api_calls += totals.api_calls
        run.retries += totals.retries
        run.rows_created += totals.rows_created
        run.rows_changed += totals.rows_changed
        errors = Counter(run.errors_by_kind)
        errors.update(totals.errors_by_kind)
        run.errors_by_kind = {kind: count for kind, count in errors.items() if count}
        fields = [
            "keys_ok",
            "keys_failed",
            "api_calls",
            "retries",
            "rows_created",
            "rows_changed",
            "errors_by_kind",
            "done_chunks",
        ]
        if run.status == SyncRun.Status.RUNNING and run.keys_ok + run.keys_failed >= run.keys_total:
            run.status = _final_status(run)
            run.finished_at = timezone.now()
            fields += ["status", "finished_at"]
            transaction.on_commit(lambda: usage_synced.send(sender=SyncRun, run_id=run_id))
        run.save(update_fields=fields)
    return run


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


def sync_lanes(key_ids: list[int], *, count: int, chunk_size: int) -> list[list[list[int]]]:
    """Split keys into `count` lanes of chunks. Each lane runs its chunks one after another,
    so at most `count` calls reach Deepgram at once, however many workers there are."""
    spread = [key_ids[n::count] for n in range(count)]
    return [
        [lane[i : i + chunk_size] for i in range(0, len(lane), chunk_size)]
        for lane in spread
        if lane
    ]
