"""Importing exchange rates (the write side of `fx`).

Rules:
- An import writes every rate of the file in one transaction (all or nothing): a new day and
  currency is added, a different rate for one already stored replaces it (the stored rate
  was wrong, or finance typed a provisional one), the same rate is left alone. Issued
  invoices keep the rate they used in their own record, so no import changes them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from ..fx_files import ReadRate
from ..models import ExchangeRate

__all__ = ["ImportCounts", "fx_import_rates"]

BATCH = 5_000


@dataclass
class ImportCounts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.added + self.changed + self.unchanged


def fx_import_rates(
    rates: list[ReadRate],
    *,
    source: str,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportCounts:
    """Write `rates` (see the module's rules), calling `progress(done, total)` after each
    batch; with `dry_run`, count what would change and write nothing."""
    counts = ImportCounts()
    with transaction.atomic():
        for start in range(0, len(rates), BATCH):
            _import_batch(rates[start : start + BATCH], source, counts, dry_run)
            if progress:
                progress(min(start + BATCH, len(rates)), len(rates))
    return counts


def _import_batch(batch: list[ReadRate], source: str, counts: ImportCounts, dry_run: bool):
    # The last of a (currency, day) the file repeats wins, as it would row by row.
    given = {(rate.currency, rate.day): rate.per_usd for rate in batch}
    stored = {
        (row.currency, row.day): row
        for row in ExchangeRate.objects.filter(
            currency__in={c for c, _ in given}, day__in={d for _, d in given}
        )
    }
    new, changed, now = [], [], timezone.now()
    for (currency, day), per_usd in given.items():
        row = stored.get((currency, day))
        if row is None:
            new.append(ExchangeRate(currency=currency, day=day, per_usd=per_usd, source=source))
        elif row.per_usd != per_usd:
            row.per_usd, row.source, row.updated_at = per_usd, source, now
            changed.append(row)
    counts.added += len(new)
    counts.changed += len(changed)
    counts.unchanged += len(given) - len(new) - len(changed)
    if not dry_run:
        ExchangeRate.objects.bulk_create(new)
        ExchangeRate.objects.bulk_update(changed, ["per_usd", "source", "updated_at"])
