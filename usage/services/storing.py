"""Writing fetched usage: one row per key, UTC day and method; corrections; sync states.

Rules:
- Idempotent: the same window twice changes nothing. A new day is inserted; a stored day whose
  values differ is updated and the change recorded as a `UsageCorrection` (old and new values,
  the run that saw it).
- A day inside the window that Deepgram no longer reports but we stored with usage becomes
  zero (`NO_USAGE`, a correction), never silently kept. Rows of the other method split (the
  project changed its setting) are zeroed the same way, so nothing is counted twice.
- The keys of a chunk are written in one transaction, so a key's rows are never half written;
  a key whose fetch failed writes no rows, keeps what earlier runs committed, and is retried
  by the next run.
- Mass cut: when the answers of a chunk would zero, or cut by more than 90 %, the stored
  usage (total hours over the window) of most of a project's keys that had usage in it (at
  least SYNC_MASS_CUT_MIN_KEYS keys), nothing is written and `MassCutError` is raised: a broken
  upstream, not a correction, until ops accept it (`guard=False`). A cut of a few keys applies.
- Sync state: a success moves `synced_through` on to the window's last day (never back) and
  clears the failure count; a failure records the error and counts one more failure.
"""

from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing_portal.bulk import insert_rows
from billing_portal.deepgram import DeepgramError

from ..models import DailyUsage, KeySyncState, UsageCorrection
from .fetching import FetchedUsage, UsageValues
from .outcomes import KeySyncResult

NO_USAGE: UsageValues = (Decimal(0), Decimal(0), 0)
CUT_TO = Decimal("0.1")  # what is left of a key's usage after a cut of more than 90 %


class MassCutError(Exception):
    """A chunk's answers would wipe out the usage of most of a project's keys."""


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


def store_fetched(
    fetched: list[FetchedUsage], run_id: int | None, *, guard: bool = True
) -> list[KeySyncResult]:
    """Write every successfully fetched key of a chunk in one transaction: upsert the
    windows' rows, zero the days Deepgram dropped, move the sync states on. Raises
    `MassCutError` before writing when the answers would wipe out most of a project's usage
    (unless not `guard`)."""
    now = timezone.now()
    good = [f for f in fetched if f.error is None]
    new: list[tuple] = []
    changed: list[tuple[int, UsageValues, UsageValues]] = []  # pk, old values, new values
    with transaction.atomic():
        stored = _stored_rows(good)
        if guard:
            _refuse_mass_cut(good, stored)
        results = [_failed(f, now) for f in fetched if f.error is not None]
        for f in good:
            key_window = f.key_window
            result = KeySyncResult(
                key_pk=key_window.api_key.pk,
                window=key_window.window,
                api_calls=f.api_calls,
                retries=f.retries,
            )
            rows = stored.get(key_window.api_key.pk, {})
            for (day, method), values in f.reported.items():
                row = rows.pop((day, method), None)
                if row is None:
                    new.append((key_window.api_key.pk, day, method, *values))
                    result.rows_created += 1
                elif row[1] != values:
                    changed.append((row[0], row[1], values))
                    result.rows_changed += 1
            for pk, values in rows.values():
                if values != NO_USAGE:  # Deepgram no longer reports this day
                    changed.append((pk, values, NO_USAGE))
                    result.rows_changed += 1
            results.append(result)
        _insert_rows(new, now)
        _update_rows(changed, now, run_id)
        _save_states(fetched, now)
    return results


def _refuse_mass_cut(good: list[FetchedUsage], stored: dict) -> None:
    """Raise `MassCutError` when most of a project's keys with stored usage in their window
    (at least SYNC_MASS_CUT_MIN_KEYS) would lose all of it, or more than 90 %."""
    counts: dict[str, list[int]] = {}  # project id: [keys with usage, keys cut]
    for f in good:
        old = sum(values[1] for _, values in stored.get(f.key_window.api_key.pk, {}).values())
        if old <= 0:
            continue
        new = sum(values[1] for values in f.reported.values())
        count = counts.setdefault(f.key_window.api_key.project.project_id, [0, 0])
        count[0] += 1
        count[1] += new < old * CUT_TO
    for project_id, (with_usage, cut) in counts.items():
        if with_usage >= settings.SYNC_MASS_CUT_MIN_KEYS and cut * 2 > with_usage:
            raise MassCutError(
                f"Deepgram's answers would zero, or cut by more than 90 %, the usage of {cut} "
                f"of the {with_usage} keys of project {project_id} that had usage in the "
                "window: nothing was written. If the cut is real, accept it in the sync runs."
            )


def _stored_rows(
    good: list[FetchedUsage],
) -> dict[int, dict[tuple[date, str], tuple[int, UsageValues]]]:
    """The stored rows inside each key's window: {key pk: {(day, method): (pk, values)}}."""
    if not good:
        return {}
    windows = {f.key_window.api_key.pk: f.key_window.window for f in good}
    first = min(window[0] for window in windows.values())
    last = max(window[1] for window in windows.values())
    rows = DailyUsage.objects.filter(api_key_id__in=windows, day__range=(first, last))
    stored: dict[int, dict] = {}
    for pk, key_pk, day, method, *values in rows.values_list(
        "pk", "api_key_id", "day", "method", "hours", "total_hours", "requests"
    ):
        window = windows[key_pk]
        # Rows of the other method split (the project changed its setting) are kept here too,
        # so that they are zeroed instead of being counted twice.
        if window[0] <= day <= window[1]:
            stored.setdefault(key_pk, {})[(day, method)] = (pk, tuple(values))
    return stored


def _insert_rows(rows: list[tuple], now: datetime) -> None:
    """Insert new daily rows in bulk (COPY on PostgreSQL): the backfill's hot path."""
    if rows:
        insert_rows(DailyUsage._meta.db_table, _COLUMNS, ((*row, now, now) for row in rows))


def _update_rows(
    changed: list[tuple[int, UsageValues, UsageValues]], now: datetime, run_id: int | None
) -> None:
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


def _save_states(fetched: list[FetchedUsage], now: datetime) -> None:
    """Successes move on in one UPDATE per distinct last day; failures are saved one by one."""
    through: dict[date, list[int]] = {}
    for f in fetched:
        state = f.key_window.state
        if f.error is None:
            last = f.key_window.window[1]
            state.synced_through = max(state.synced_through or last, last)
            through.setdefault(state.synced_through, []).append(state.pk)
        else:
            state.save(
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


def _failed(f: FetchedUsage, now: datetime) -> KeySyncResult:
    """Record a failed fetch on the key's sync state (saved by `_save_states`)."""
    state, exc = f.key_window.state, f.error
    state.last_error_at, state.last_error = now, str(exc)[:2000]
    state.last_error_kind = type(exc).__name__
    state.consecutive_failures += 1
    kind = type(exc).__name__ if isinstance(exc, DeepgramError) else "InternalError"
    return KeySyncResult(
        key_pk=f.key_window.api_key.pk,
        ok=False,
        error_kind=kind,
        error=str(exc),
        window=f.key_window.window,
        api_calls=f.api_calls,
        retries=f.retries,
    )
