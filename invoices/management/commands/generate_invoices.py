"""`manage.py generate_invoices --period YYYY-MM`: create or refresh that month's drafts."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from invoices.services import invoice_generate_drafts


def _period(value: str) -> date:
    try:
        year, month = (int(part) for part in value.split("-"))
        period = date(year, month, 1)
    except ValueError:
        raise CommandError(f"Not a month (YYYY-MM): {value!r}", returncode=2) from None
    if period > timezone.now().date().replace(day=1):
        raise CommandError(
            f"{value} is in the future: there is no usage to bill yet.", returncode=2
        )
    return period


class Command(BaseCommand):
    help = "Create or refresh the invoice drafts of a month (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the month, YYYY-MM (UTC)")

    def handle(self, *args, period, **options):
        month = _period(period)
        if month == timezone.now().date().replace(day=1):
            self.stderr.write(
                f"{period} is not over yet: these drafts are a preview and will "
                "change with more usage."
            )
        report = invoice_generate_drafts(period=month)
        for label, value in report.counts().items():
            self.stdout.write(f"{label:<15} {value}")
