"""Syncing keys: window, fetch, store; for one key, or for a chunk of keys at once.

Rules:
- One key: its window (`windows_of`), one summary call per method, then one transaction of
  upserts. Deepgram errors are recorded on the key's sync state, not raised.
- A chunk: its keys are loaded in one query, in the order asked for, and written in one
  transaction. A chunk whose write fails counts every key it asked Deepgram about as failed
  ("InternalError"; the keys it skipped stay skipped): its rows and sync states are rolled
  back and the next run reads the same days again.
"""

import logging
from collections.abc import Iterable
from datetime import date

from billing_portal.deepgram import DeepgramClient
from customers.models import ApiKey

from .fetching import FetchedUsage, fetch_usage
from .outcomes import KeySyncResult
from .storing import store_fetched
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
    skipped: list[KeySyncResult], fetched: list[FetchedUsage], run_id: int | None
) -> list[KeySyncResult]:
    """Write a chunk's fetched usage; when the write fails, every fetched key failed."""
    try:
        return skipped + store_fetched(fetched, run_id)
    except Exception as exc:
        logger.exception("Writing the usage of %d keys failed", len(fetched))
        return skipped + [
            KeySyncResult(
                key_pk=f.key_window.api_key.pk,
                ok=False,
                error_kind="InternalError",
                error=type(exc).__name__,
                api_calls=f.api_calls,
                retries=f.retries,
            )
            for f in fetched
        ]
