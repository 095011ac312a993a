"""Which days of a key a sync reads from Deepgram.

Rules:
- "Today" is the UTC day (`utc_today`); Deepgram's usage days are UTC days.
- Window of a key: from its last synced day minus the settlement window
  (USAGE_SETTLEMENT_DAYS, default 3 days), or from its creation day, to today; never before
  its creation day. An explicit start/end (a backfill) overrides the start and caps the end.
- A revoked key is read up to its revocation day plus the settlement window. Once it is synced
  past that, it has nothing left to read: it is skipped and marked settled, so later runs leave
  it out (a backfill with an explicit start still reads it, and marks nothing).
- A key of a project that splits its usage by method is read once per method; otherwise once
  for all methods.
"""

import contextlib
from dataclasses import dataclass
from datetime import UTC, date, timedelta

from django.conf import settings
from django.utils import timezone

from customers.models import ApiKey

from ..models import SPLIT_METHODS, KeySyncState, Method
from .outcomes import KeySyncResult


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
class KeyWindow:
    """One key's part of a sync: the key, its sync state, the days to read (first, last) and
    the methods to ask for."""

    api_key: ApiKey
    state: KeySyncState
    window: tuple[date, date]
    methods: tuple[str, ...]


def windows_of(
    keys: list[ApiKey], *, today: date, start: date | None, end: date | None
) -> tuple[list[KeyWindow], list[KeySyncResult]]:
    """The window of each key that has days to read, and a skipped result for each other key.
    Creates the missing sync states; marks revoked keys synced past their window settled."""
    states = _states_of(keys)
    windows, skipped = [], []
    settled = []
    for key in keys:
        window = sync_window(key, states[key.pk], today=today, start=start, end=end)
        if window is None:
            skipped.append(KeySyncResult(key_pk=key.pk, skipped=True))
            if key.revoked_at and start is None and not states[key.pk].settled:
                settled.append(states[key.pk].pk)
            continue
        methods = SPLIT_METHODS if key.project.split_usage_by_method else (Method.ALL,)
        windows.append(KeyWindow(key, states[key.pk], window, methods))
    if settled:  # revoked and synced past the window: later runs leave these keys out
        KeySyncState.objects.filter(pk__in=settled).update(settled=True)
    return windows, skipped


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
