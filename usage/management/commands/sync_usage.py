"""`manage.py sync_usage`: the beat's work, synchronous, for backfills and checks.

Shows progress (keys done, rate, ETA), prints a summary table, and exits non-zero when any key
failed (1) or the input is bad (2).
A run left running by a dead sync (its heartbeat too old) is taken over and finished first,
with its own keys and window: the command says so; a second call then syncs what was asked.
"""

import sys
import time
import uuid
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from customers.models import ApiKey, Customer
from usage import selectors, services
from usage.models import SyncRun


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}", returncode=2) from None


class Progress:
    """One status line: done/total, keys per second, time left."""

    def __init__(self, total: int, stream, interactive: bool):
        self.total, self.stream, self.interactive = total, stream, interactive
        self.done = self.failed = 0
        self.began = self.last_print = time.monotonic()

    def step(self, result: services.KeySyncResult) -> None:
        self.done += 1
        self.failed += not result.ok
        now = time.monotonic()
        if self.done == self.total or now - self.last_print >= (0.2 if self.interactive else 5):
            self.last_print = now
            self.show(now)

    def show(self, now: float) -> None:
        elapsed = max(now - self.began, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} keys "
            f"{rate:,.1f} keys/s ETA {left:,.0f}s failed {self.failed}"
        )
        self.stream.write(f"\r{line}" if self.interactive else f"{line}\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Sync Deepgram usage into daily usage rows (all keys, or one customer or key)."

    def add_arguments(self, parser):
        parser.add_argument("--start", type=str, help="first UTC day (YYYY-MM-DD), a backfill")
        parser.add_argument("--end", type=str, help="last UTC day (YYYY-MM-DD); default today")
        parser.add_argument("--customer", help="customer id, public id or exact name")
        parser.add_argument("--key", help="Deepgram key id (accessor)")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.DEEPGRAM_MAX_CONCURRENCY,
            help="calls to Deepgram at once (default DEEPGRAM_MAX_CONCURRENCY)",
        )

    def handle(
        self, *args, start=None, end=None, customer=None, key=None, concurrency=8, **options
    ):
        start_day, end_day = (_day(start) if start else None), (_day(end) if end else None)
        if start_day and end_day and end_day < start_day:
            raise CommandError("--end is before --start.", returncode=2)
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1.", returncode=2)
        # A backfill (--start) also covers revoked keys the regular sync has left behind.
        keys = selectors.keys_to_sync(
            customer=_customer(customer), key=_key(key), include_settled=start_day is not None
        )
        key_ids = list(keys.order_by("pk").values_list("pk", flat=True))
        progress = Progress(len(key_ids), self.stderr._out, sys.stderr.isatty())
        began = time.monotonic()
        run = services.usage_sync_run(
            trigger=SyncRun.Trigger.COMMAND,
            key_ids=key_ids,
            start=start_day,
            end=end_day,
            concurrency=concurrency,
            on_start=lambda run, left: self._started(run, left, progress),
            on_result=progress.step,
        )
        if run is None:
            raise CommandError(
                f"A usage sync is already running ({selectors.running_sync()}); "
                "try again when it has finished.",
                returncode=1,
            )
        if progress.interactive:
            self.stderr.write("")
        self._summary(run, time.monotonic() - began)
        if run.keys_failed:
            raise CommandError(
                f"{run.keys_failed} key(s) failed; see the sync run in the admin.", returncode=1
            )

    def _started(self, run: SyncRun, keys_left: int, progress: Progress) -> None:
        progress.total = keys_left
        if run.resumed:
            self.stdout.write(
                f"Took over sync run {run.pk} (no heartbeat for too long): resuming its "
                f"{keys_left} keys not done; run the command again for a new sync."
            )

    def _summary(self, run: SyncRun, seconds: float) -> None:
        rows = [
            ("status", run.get_status_display()),
            ("keys", f"{run.keys_total} ({run.keys_ok} ok, {run.keys_failed} failed)"),
            ("API calls", f"{run.api_calls} ({run.retries} retries)"),
            ("rows", f"{run.rows_created} created, {run.rows_changed} changed"),
            ("errors", run.errors_text()),
            ("time", f"{seconds:,.1f} s"),
        ]
        for label, value in rows:
            self.stdout.write(f"{label:<10} {value}")


def _customer(value: str | None) -> Customer | None:
    if not value:
        return None
    customers = Customer.objects.all()
    if value.isdigit():
        found = customers.filter(pk=int(value))
    else:
        try:
            found = customers.filter(public_id=uuid.UUID(value))
        except ValueError:
            found = customers.filter(name=value)
    customer = found.first()
    if customer is None:
        raise CommandError(f"No such customer: {value!r}", returncode=2)
    return customer


def _key(value: str | None) -> ApiKey | None:
    if not value:
        return None
    key = ApiKey.objects.filter(key_id=value).first()
    if key is None:
        raise CommandError(f"No such key: {value!r}", returncode=2)
    return key
