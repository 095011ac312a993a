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

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from billing_portal.deepgram import DeepgramClient, DeepgramError, client_from_settings
from customers.models import ApiKey

from .models import SPLIT_METHODS, DailyUsage, KeySyncState, Method, SyncRun, UsageCorrection

logger = logging.getLogger(__name__)

HOURS = Decimal("0.000001")
Values = tuple[Decimal, Decimal, int]  # hours, total_hours, requests
ZERO: Values = (Decimal(0), Decimal(0), 0)


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
    state = _state_of(api_key)
    result = KeySyncResult(key_pk=api_key.pk)
    window = sync_window(api_key, state, today=today, start=start, end=end)
    if window is None:
        result.skipped = True
        return result
    result.window = window
    methods = SPLIT_METHODS if api_key.project.split_usage_by_method else (Method.ALL,)
    calls, retries = client.stats.calls, client.stats.retries
    try:
        reported = _fetch(client, api_key, window, methods)
    except DeepgramError as exc:
        _record_failure(state, exc)
        result.ok, result.error_kind, result.error = False, type(exc).__name__, str(exc)
    else:
        result.rows_created, result.rows_changed = _store(
            api_key, state, window, methods, reported, run_id
        )
    finally:
        result.api_calls = client.stats.calls - calls
        result.retries = client.stats.retries - retries
    return result


def _state_of(api_key: ApiKey) -> KeySyncState:
    try:
        return api_key.sync_state
    except KeySyncState.DoesNotExist:
        state, _ = KeySyncState.objects.get_or_create(api_key=api_key)
        return state


def _fetch(client, api_key, window, methods) -> dict[tuple[date, str], Values]:
    first, last = window
    reported = {}
    for method in methods:
        summary = client.usage_summary(
            api_key.project.project_id,
            start=first,
            end=last,
            accessor=api_key.key_id,
            method=None if method == Method.ALL else method,
        )
        for row in summary.results:
            if first <= row.start <= last:
                reported[(row.start, method)] = (
                    _hours(row.hours),
                    _hours(row.total_hours),
                    row.requests,
                )
    return reported


def _hours(value: Decimal) -> Decimal:
    return value.quantize(HOURS, rounding=ROUND_HALF_UP)


def _store(api_key, state, window, methods, reported, run_id) -> tuple[int, int]:
    """Upsert the window's rows in one transaction; zero the days Deepgram dropped."""
    now = timezone.now()
    with transaction.atomic():
        stored = {
            (row.day, row.method): row
            for row in DailyUsage.objects.filter(
                api_key=api_key, day__range=window, method__in=methods
            )
        }
        new, changed, corrections = [], [], []
        for (day, method), values in reported.items():
            row = stored.pop((day, method), None)
            if row is None:
                new.append(_new_row(api_key, day, method, values, now))
            elif _values(row) != values:
                corrections.append(_correct(row, values, now, run_id))
                changed.append(row)
        for row in stored.values():
            if _values(row) != ZERO:  # Deepgram no longer reports this day
                corrections.append(_correct(row, ZERO, now, run_id))
                changed.append(row)
        DailyUsage.objects.bulk_create(new)
        DailyUsage.objects.bulk_update(changed, ["hours", "total_hours", "requests", "changed_at"])
        UsageCorrection.objects.bulk_create(corrections)
        synced = state.synced_through
        state.synced_through = max(synced, window[1]) if synced else window[1]
        state.last_success_at, state.consecutive_failures = now, 0
        state.save(update_fields=["synced_through", "last_success_at", "consecutive_failures"])
    return len(new), len(changed)


def _values(row: DailyUsage) -> Values:
    return (row.hours, row.total_hours, row.requests)


def _new_row(api_key, day, method, values: Values, now) -> DailyUsage:
    hours, total_hours, requests = values
    return DailyUsage(
        api_key=api_key,
        day=day,
        method=method,
        hours=hours,
        total_hours=total_hours,
        requests=requests,
        first_seen_at=now,
        changed_at=now,
    )


def _correct(row: DailyUsage, values: Values, now, run_id) -> UsageCorrection:
    correction = UsageCorrection(
        usage=row,
        run_id=run_id,
        at=now,
        old_hours=row.hours,
        new_hours=values[0],
        old_total_hours=row.total_hours,
        new_total_hours=values[1],
        old_requests=row.requests,
        new_requests=values[2],
    )
    row.hours, row.total_hours, row.requests = values
    row.changed_at = now
    return correction


def _record_failure(state: KeySyncState, exc: DeepgramError) -> None:
    KeySyncState.objects.filter(pk=state.pk).update(
        last_error_at=timezone.now(),
        last_error=str(exc)[:2000],
        last_error_kind=type(exc).__name__,
        consecutive_failures=F("consecutive_failures") + 1,
    )


# --- Many keys --------------------------------------------------------------------------------


def usage_sync_keys(
    *,
    key_ids: Iterable[int],
    today: date | None = None,
    start: date | None = None,
    end: date | None = None,
    run_id: int | None = None,
    concurrency: int = 1,
    on_result: Callable[[KeySyncResult], None] | None = None,
) -> SyncTotals:
    """Sync several keys, `concurrency` at a time (threads, each with its own client and
    database connection). Never raises for one key's failure."""
    today = today or utc_today()
    key_ids = list(key_ids)
    totals = SyncTotals()

    def one(key_pk: int) -> KeySyncResult:
        try:
            api_key = ApiKey.objects.select_related("project", "sync_state").get(pk=key_pk)
            return usage_sync_key(
                api_key=api_key,
                client=client_from_settings(),
                today=today,
                start=start,
                end=end,
                run_id=run_id,
            )
        except Exception as exc:
            logger.exception("Usage sync of key %s failed", key_pk)
            return KeySyncResult(
                key_pk=key_pk, ok=False, error_kind="InternalError", error=type(exc).__name__
            )
        finally:
            if concurrency > 1:
                close_old_connections()

    def collect(result: KeySyncResult) -> None:
        totals.add(result)
        if on_result:
            on_result(result)

    if concurrency <= 1:
        for key_pk in key_ids:
            collect(one(key_pk))
        return totals
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="usage-sync") as pool:
        for result in pool.map(one, key_ids):
            collect(result)
    return totals


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


def sync_run_record(*, run_id: int, totals: SyncTotals) -> SyncRun:
    """Add a batch's totals to the run; close the run when every key is accounted for."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run_id)
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
        ]
        if run.status == SyncRun.Status.RUNNING and run.keys_ok + run.keys_failed >= run.keys_total:
            run.status = _final_status(run)
            run.finished_at = timezone.now()
            fields += ["status", "finished_at"]
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


def lanes(key_ids: list[int], *, lanes: int, chunk_size: int) -> list[list[list[int]]]:
    """Split keys into `lanes` lanes of chunks. Each lane runs its chunks one after another,
    so at most `lanes` calls reach Deepgram at once, however many workers there are."""
    spread = [key_ids[n::lanes] for n in range(lanes)]
    return [
        [lane[i : i + chunk_size] for i in range(0, len(lane), chunk_size)]
        for lane in spread
        if lane
    ]
