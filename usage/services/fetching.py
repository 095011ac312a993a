"""Asking Deepgram for one key's usage: one summary call per method, filtered by the key's id
as the accessor.

Rules:
- Only days inside the key's window are kept; hours are rounded as they are stored
  (`quantize_hours`), requests kept as counted.
- An answer too large to read (`ResponseTooLargeError`) is asked for again as two halves of
  its days, each half again as needed, down to a single day; a single day still too large
  fails the key with that kind. An answer Deepgram got wrong (missing data, impossible
  numbers: see the client) fails the key, so nothing of it is stored.
- No database here: this runs in worker threads, each with its own client.
- A Deepgram error, or any other exception (a bug), is kept on the result instead of raised,
  so a failing key never stops the others. The calls and retries it took are counted either way.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from billing_portal.deepgram import (
    DeepgramClient,
    DeepgramError,
    ResponseTooLargeError,
    client_from_settings,
)
from billing_portal.deepgram.types import UsageDay

from ..models import Method
from ..units import quantize_hours
from .sync_window import KeyWindow

logger = logging.getLogger(__name__)

UsageValues = tuple[Decimal, Decimal, int]  # hours, total_hours, requests


@dataclass
class FetchedUsage:
    """What Deepgram reported for a key's window, {(day, method): values}, or the error."""

    key_window: KeyWindow
    reported: dict[tuple[date, str], UsageValues] | None = None
    error: Exception | None = None
    api_calls: int = 0
    retries: int = 0


def fetch_usage(
    key_window: KeyWindow,
    client: DeepgramClient | None = None,
    *,
    stop: threading.Event | None = None,
) -> FetchedUsage | None:
    """Ask Deepgram for one key's window (runs in a worker thread: no database here). None
    when `stop` is set between two of its calls: a key read in part is never stored (its
    unread methods would look like days Deepgram dropped), it is left for later whole."""
    client = client or client_from_settings()
    calls, retries = client.stats.calls, client.stats.retries
    fetched = FetchedUsage(key_window)
    first, last = key_window.window
    try:
        reported = {}
        for method in key_window.methods:
            if stop is not None and stop.is_set():
                return None
            for row in _summary_rows(client, key_window, method, first, last):
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
        logger.exception("Fetching usage of key %s failed", key_window.api_key.key_id)
        fetched.error = exc
    fetched.api_calls = client.stats.calls - calls
    fetched.retries = client.stats.retries - retries
    return fetched


def _summary_rows(
    client: DeepgramClient, key_window: KeyWindow, method: str, first: date, last: date
) -> list[UsageDay]:
    """The summary's rows of first..last for one method; an answer too large to read is
    asked for again in two halves, down to a single day."""
    try:
        summary = client.usage_summary(
            key_window.api_key.project.project_id,
            start=first,
            end=last,
            accessor=key_window.api_key.key_id,
            method=None if method == Method.ALL else method,
        )
    except ResponseTooLargeError:
        if first == last:
            raise
        middle = first + timedelta(days=(last - first).days // 2)
        logger.info(
            "Usage of key %s, %s..%s, is asked for in halves",
            key_window.api_key.key_id,
            first,
            last,
        )
        return _summary_rows(client, key_window, method, first, middle) + _summary_rows(
            client, key_window, method, middle + timedelta(days=1), last
        )
    return list(summary.results)
