"""`manage.py sync_usage`: the beat's work, synchronous, for backfills and checks.

Shows progress (keys done, rate, ETA), prints a summary table, and exits non-zero when any key
failed (1) or the input is bad (2). Bad input changes nothing (no sync run is opened):
`--start` and `--end` must be real days written YYYY-MM-DD, neither after today (UTC), the
start not after the end; `--customer` and `--key` must name something, and together with
the other options leave at least one key to sync; `--concurrency` is a whole number >= 1.
A run left running by a dead sync (its heartbeat too old) is taken over and finished first,
with its own keys and window: the command says so; a second call then syncs what was asked.
"""

import re
import sys
import time
import uuid
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from customers.models import ApiKey, Customer
from usage import selectors, services
from usage.models import SyncRun

# ASCII digits only; date.fromisoformat alone would also take 20261005 or 2026-W41-1.
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def bad_input(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _day(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value) if DAY.fullmatch(value) else None
    except ValueError:
        day = None
    if day is None:
        raise bad_input(f"{option} must be a real day as YYYY-MM-DD, not {value!r}.")
    if day > services.utc_today():
        raise bad_input(f"{option} {value} is in the future (UTC): Deepgram has no usage yet.")
    return day


def _window(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    start_day, end_day = _day("--start", start), _day("--end", end)
    if start_day and end_day and end_day < start_day:
        raise bad_input(f"--end {end} is before --start {start}.")
    return start_day, end_day


def _concurrency(value: int | str) -> int:
    # Parsed here, not by argparse, so that call_command also answers bad input with 2.
    text = str(value).strip()
    number = int(text) if re.fullmatch(r"[0-9]+", text) else 0
    if number < 1:
        raise bad_input(f"--concurrency must be a whole number, at least 1, not {value!r}.")
    return number


class Progress:
    """One status line: done/total, keys per second, time left. A chunk's keys are done when
    its last range is written; meanwhile each range written counts its share of them (a chunk
    of a 10,000-key project moves a day at a time)."""

    def __init__(self, total: int, stream, interactive: bool):
        self.total, self.stream, self.interactive = total, stream, interactive
        self.done = self.failed = 0
        self.partial = 0.0  # the share of the chunk in progress, in keys
        self.began = self.last_print = time.monotonic()

    def step(self, result: services.KeySyncResult) -> None:
        self.done += 1
        self.failed += not result.ok
        self.partial = 0.0
        self._maybe_show(final=self.done == self.total)

    def range_step(self, keys: int, written: int, ranges: int) -> None:
        self.partial = keys * written / ranges if ranges and written < ranges else 0.0
        self._maybe_show(final=False)

    def _maybe_show(self, *, final: bool) -> None:
        now = time.monotonic()
        if final or now - self.last_print >= (0.2 if self.interactive else 5):
            self.last_print = now
            self.show(now)

    def show(self, now: float) -> None:
        elapsed = max(now - self.began, 1e-9)
        done = min(self.total, int(self.done + self.partial))
        rate = (self.done + self.partial) / elapsed
        left = (self.total - done) / rate if rate else 0
        width = 30
        filled = int(width * done / self.total) if self.total else width
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} keys "
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
            default=settings.DEEPGRAM_MAX_CONCURRENCY,
            help="calls to Deepgram at once (default DEEPGRAM_MAX_CONCURRENCY)",
        )

    def handle(
        self, *args, start=None, end=None, customer=None, key=None, concurrency=8, **options
    ):
        start_day, end_day = _window(start, end)
        concurrency = _concurrency(concurrency)
        key_ids = _key_ids(_customer(customer), _key(key), backfill=start_day is not None)
        progress = Progress(len(key_ids), self.stderr._out, sys.stderr.isatty())
        began = time.monotonic()
        run = services.usage_sync_run(
            trigger=SyncRun.Trigger.COMMAND,
            key_ids=key_ids,
            start=start_day,
            end=end_day,
            concurrency=concurrency,
            per_key=key is not None,
            on_start=lambda run, left: self._started(run, left, progress),
            on_result=progress.step,
            on_range=progress.range_step,
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
            ("API calls", f"{run.api_calls} ({run.retries} retries){_by_endpoint(run)}"),
            ("rows", f"{run.rows_created} created, {run.rows_changed} changed"),
            ("errors", run.errors_text()),
            *([("held", run.held_reason)] if run.held_reason else []),
            *_reconciliation(run),
            *[("no cost", f"project {project}: {why}") for project, why in run.cost_unread.items()],
            ("time", f"{seconds:,.1f} s"),
        ]
        for label, value in rows:
            self.stdout.write(f"{label:<10} {value}")


def _by_endpoint(run: SyncRun) -> str:
    return f": {run.calls_text()}" if run.calls_by_endpoint else ""


def _reconciliation(run: SyncRun) -> list[tuple[str, str]]:
    """What did not add up to Deepgram's project totals, a line a day and unit."""
    return [("mismatch", line) for line in run.differences_text().splitlines()]


def _customer(value: str | None) -> Customer | None:
    """The customer an id, public id or exact name names (exactly one), or bad input."""
    if value is None:
        return None
    text = value.strip()
    customers = Customer.objects.all()
    if text.isdecimal() and text.isascii():
        found = customers.filter(pk=int(text))
    else:
        try:
            found = customers.filter(public_id=uuid.UUID(text))
        except ValueError:
            found = customers.filter(name=value)
    matches = list(found[:2])
    if not matches:
        raise bad_input(f"--customer {value!r} matches no customer (id, public id or name).")
    if len(matches) > 1:
        raise bad_input(f"--customer {value!r} names several customers: give its id.")
    return matches[0]


def _key(value: str | None) -> ApiKey | None:
    if value is None:
        return None
    key = ApiKey.objects.filter(key_id=value.strip()).first() if value.strip() else None
    if key is None:
        raise bad_input(f"--key {value!r} matches no key (a Deepgram key id).")
    return key


def _key_ids(customer: Customer | None, key: ApiKey | None, *, backfill: bool) -> list[int]:
    """The keys to sync; a --customer or --key that leaves none is bad input, not a sync of
    nothing. A backfill (--start) also covers revoked keys the regular sync has left behind."""
    keys = selectors.keys_to_sync(customer=customer, key=key, include_settled=backfill)
    key_ids = list(keys.order_by("pk").values_list("pk", flat=True))
    if key_ids or (customer is None and key is None):
        return key_ids
    if customer and key and key.customer_id != customer.pk:
        raise bad_input(f"--key {key.key_id} is not a key of {customer}.")
    if key:
        raise bad_input(
            f"--key {key.key_id} is revoked and settled: nothing left to sync "
            "(backfill it with --start)."
        )
    raise bad_input(f"--customer {customer} has no keys to sync (backfill with --start).")
