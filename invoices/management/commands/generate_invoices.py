"""`manage.py generate_invoices --period YYYY-MM`: create or refresh that month's drafts.

Bad input exits 2 and changes nothing: the period must be exactly `YYYY-MM` (four digits, a
dash, a month 01-12; `2026-1` is refused, not read as January) and not after the current UTC
month. The current month is generated as a preview, with a warning.
"""

import re
from datetime import UTC, date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from invoices.services import invoice_generate_drafts

# ASCII digits only: `\d` would also take other scripts' digits.
PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def _this_month() -> date:
    return timezone.now().astimezone(UTC).date().replace(day=1)


def parse_period(value: str) -> date:
    """The first day of the month `value` names, or CommandError(returncode=2)."""
    match = PERIOD.fullmatch(value)
    if match is None or match[1] == "0000":
        raise CommandError(
            f"--period must be a month as YYYY-MM (e.g. 2026-01), not {value!r}.", returncode=2
        )
    period = date(int(match[1]), int(match[2]), 1)
    if period > _this_month():
        raise CommandError(
            f"--period {value} is in the future: there is no usage to bill yet.", returncode=2
        )
    return period


class Command(BaseCommand):
    help = "Create or refresh the invoice drafts of a month (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the month, YYYY-MM (UTC)")

    def handle(self, *args, period, **options):
        month = parse_period(period)
        if month == _this_month():
            self.stderr.write(
                f"{period} is not over yet: these drafts are a preview and will "
                "change with more usage."
            )
        report = invoice_generate_drafts(period=month)
        for label, value in report.counts().items():
            self.stdout.write(f"{label:<15} {value}")
        if report.no_terms:
            self.stderr.write(
                f"{report.no_terms} draft(s) for customers without billing terms: they "
                "cannot be approved until the customer has terms."
            )
        if report.invalid_plan:
            self.stderr.write(
                f"{report.invalid_plan} customer(s) got no draft, their price plan is "
                f"invalid: {report.invalid_plans_text()}"
            )
