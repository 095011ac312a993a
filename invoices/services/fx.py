"""Exchange rates: a currency's rate for a day or a month (reads only; importing them is
`fx_import`).

Rules:
- US dollars need no rate (1). Any other currency uses the last rate on or before the day;
  a month uses the last one on or before its last day (a rate dated after the month never
  prices it). No rate is `None`: the caller says so, nothing guesses one.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Max

from usage.selectors import month_bounds

from ..models import ExchangeRate

__all__ = ["Rate", "month_rate", "rate_on", "rates_on"]


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
