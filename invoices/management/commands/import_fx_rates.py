"""`manage.py import_fx_rates FILE`: reference exchange rates into the rates table.

FILE is a CSV: the ECB's reference rates (`eurofxref-hist.csv`, or the daily `eurofxref.csv`,
quoted against the euro: converted through it) or `date,currency,per_usd` rows; `-` reads
standard input. All or nothing: a line that cannot be read fails the file, naming the line.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from invoices.fx_files import RateFileError, read_rates
from invoices.services.fx_import import fx_import_rates


class Command(BaseCommand):
    help = "Import exchange rates (units per 1 USD) from the ECB's CSV or date,currency,per_usd."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file, or - for standard input")
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would change; write nothing"
        )

    def handle(self, *args, file, dry_run, **options):
        try:
            read = self._read(file)
        except RateFileError as exc:
            raise CommandError(f"{file}: {exc} Nothing was imported.") from None
        if not read.rates:
            raise CommandError(f"{file}: no rate in the file. Nothing was imported.")
        days = sorted({rate.day for rate in read.rates})
        self.stdout.write(
            f"{file}: {len(read.rates):,} rates ({read.layout}), "
            f"{len({r.currency for r in read.rates})} currencies, {days[0]} to {days[-1]}."
        )
        counts = fx_import_rates(
            read.rates,
            source=f"import_fx_rates {Path(file).name}"[:200],
            dry_run=dry_run,
            progress=self._progress,
        )
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            self.style.SUCCESS(
                f"{counts.added:,} rates {verb} added, {counts.changed:,} changed, "
                f"{counts.unchanged:,} already stored as they are."
            )
        )
        self._skipped(read)

    def _read(self, file: str):
        if file == "-":
            return read_rates(sys.stdin)
        try:
            with open(file, encoding="utf-8-sig", newline="") as lines:
                return read_rates(lines)
        except OSError as exc:
            raise CommandError(f"{file}: cannot be read ({exc.strerror}).") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file}: is not UTF-8 text (a CSV file is).") from None

    def _progress(self, done: int, total: int) -> None:
        if total > 5_000:
            self.stdout.write(f"  {done:,} of {total:,} ({done * 100 // total} %)")

    def _skipped(self, read) -> None:
        if read.unknown_codes:
            codes = ", ".join(sorted(read.unknown_codes))
            self.stdout.write(
                self.style.WARNING(
                    f"Skipped {sum(read.unknown_codes.values()):,} rates of codes that are no "
                    f"current ISO 4217 currency: {codes}."
                )
            )
        if read.days_without_usd:
            self.stdout.write(
                self.style.WARNING(
                    f"Skipped {read.days_without_usd} days without a USD rate (nothing to "
                    "convert through)."
                )
            )
