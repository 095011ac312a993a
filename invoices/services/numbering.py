"""Document numbers: gap-free, one sequence a series and year.

Rules:
- A number is taken at issue (never for a draft), inside the issuing transaction, from a
  counter row locked until commit: a rolled-back approval gives its number back, and two
  concurrent approvals never take the same one.
- Invoices and credit notes have their own series (`BILLING_INVOICE_PREFIX`,
  `BILLING_CREDIT_NOTE_PREFIX`): `PREFIX-YYYY-000001`.
"""

from ..models import InvoiceCounter

__all__ = ["next_number"]


def next_number(series: str, year: int) -> str:
    """The next gap-free number of a series and year, taken under the counter row's lock (the
    caller's transaction holds it until commit, so a rollback gives the number back)."""
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(series=series, year=year)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(series=series, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{series}-{year}-{counter.last_number:06d}"
