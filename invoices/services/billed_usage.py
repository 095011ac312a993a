"""What an issued invoice billed, recorded at its approval: the record late usage is compared
against (`adjustments`), so a later change is billed once.

Rules:
- One row per key, day and billed method (`usage_rows`) of the invoice's month, with the
  quantity (summed over Deepgram's rows of that key, day and method) the invoice
  billed (hours or total hours, as its plan bills) at the line's unit price; under tiers,
  where usage lines carry no price, at the rate of the highest tier the month reached.
- One row per difference its own adjustment lines billed, at the price they billed it.
- A month billed by line item (rate card, cost plus) records no usage rows: a late change
  re-prices it as a whole (`repricing`) instead.
"""

from decimal import Decimal

from usage.models import DailyUsage
from usage.selectors import month_bounds

from ..models import BilledUsage, Invoice, InvoiceLine, PricePlan
from .adjustments import UsageDelta, top_tier_rate
from .usage_rows import BILLED_METHOD, summed_per_method

__all__ = ["record_billed_usage"]

ZERO = Decimal(0)


def record_billed_usage(invoice: Invoice, deltas: list[UsageDelta]) -> None:
    """What this invoice billed, per key, day and method: its month's usage, and the
    differences its adjustment lines billed, so a later change is billed once."""
    first, last = month_bounds(invoice.period)
    prices = {
        (line.api_key_id, line.method): _effective_unit_price(invoice, line)
        for line in invoice.lines.filter(kind=InvoiceLine.Kind.USAGE)
    }
    rows = summed_per_method(
        DailyUsage.objects.filter(api_key__customer=invoice.customer, day__range=(first, last)),
        "api_key_id",
        "day",
    )
    if invoice.pricing_mode != PricePlan.Mode.HOURLY:
        rows = []  # a month billed by line item is priced again as a whole (`repricing`)
    billed = [
        BilledUsage(
            invoice=invoice,
            api_key_id=row["api_key_id"],
            day=row["day"],
            method=row[BILLED_METHOD],
            quantity=row[f"sum_{invoice.billed_quantity}"],
            unit_price=prices.get((row["api_key_id"], row[BILLED_METHOD]), ZERO),
        )
        for row in rows
    ]
    billed += [
        BilledUsage(
            invoice=invoice,
            api_key_id=d.key_pk,
            day=d.day,
            method=d.method,
            quantity=d.quantity,
            unit_price=d.unit_price,
        )
        for d in deltas
    ]
    BilledUsage.objects.bulk_create(billed, batch_size=1000)


def _effective_unit_price(invoice: Invoice, line: InvoiceLine) -> Decimal:
    """A usage line's own rate; under tiers (where usage lines carry no price) the rate of the
    highest tier the month reached, at which a change would have been billed."""
    if line.unit_price:
        return line.unit_price
    top = top_tier_rate(invoice)
    return ZERO if top is None else top
