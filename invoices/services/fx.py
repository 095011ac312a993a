"""Exchange rates: a currency's rate for a day or a month, and importing a file of them.

Rules:
- US dollars need no rate (1). Any other currency uses the last rate on or before the day;
  a month uses the last one on or before its last day (a rate dated after the month never
  prices it). No rate is `None`: the caller says so, nothing guesses one.
- An import writes every rate of the file in one transaction (all or nothing): a new day and
  currency is added, a different rate for one already stored replaces it (the stored rate
  was wrong, or finance typed a provisional one), the same rate is left alone. Issued
  invoices keep the rate they used in their own record, so no import changes them.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from usage.selectors import month_bounds

from ..fx_files import ReadRate
from ..models import ExchangeRate

__all__ = ["ImportCounts", "Rate", "fx_import_rates", "month_rate", "rate_on", "rates_on"]

BATCH = 5_000


@dataclass(frozen=True)
class Rate:
    """Units of `currency` per 1 USD, as of `day` (None for USD itself: always 1)."""

    currency: str
    per_usd: Decimal
    day: date | None

    def __str__(self) -> str:
        if self.day is None:
            return "USD (no conversion)"
        return (
            f"1 USD = {self.per_usd.normalize():f} {self.currency} (rate of {self.day:%-d %b %Y})"
        )


def rate_on(currency: str, day: date) -> Rate | None:
    """The rate of `currency` on `day`: the last one on or before it; None without one."""
    return rates_on([currency], day).get(currency)


def month_rate(currency: str, period: date) -> Rate | None:
    """The rate a month is priced at: the last one on or before its last day."""
    return rate_on(currency, month_bounds(period)[1])


def rates_on(currencies: Iterable[str], day: date) -> dict[str, Rate]:
    """`rate_on` for several currencies in two queries (a generation's currencies)."""
    wanted = set(currencies)
    rates = {"USD": Rate("USD", Decimal(1), None)} if "USD" in wanted else {}
    wanted.discard("USD")
    if not wanted:
        return rates
    latest = dict(
        ExchangeRate.objects.filter(currency__in=wanted, day__lte=day)
        .values("currency")
        .annotate(last=Max("day"))
        .values_list("currency", "last")
    )
    if latest:
        rows = ExchangeRate.objects.filter(currency__in=latest, day__in=set(latest.values()))
        for row in rows:
            if latest[row.currency] == row.day:
                rates[row.currency] = Rate(row.currency, row.per_usd, row.day)
    return rates


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
