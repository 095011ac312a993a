"""What an issued hourly invoice billed of its month, recorded at its approval: one row per
key, day and billed method (`usage_rows`), the quantity (summed over Deepgram's rows of that
key, day and method) in the plan's billed quantity (hours or total hours) at the line's unit
price; under tiers, where usage lines carry no price, at the rate of the highest tier the
month reached. It is the record of the days an invoice billed (its PDF's daily chart); late
usage is priced again as a whole month (`repricing`), not from these rows. A month billed by
line item (rate card, cost plus), or one of late adjustments only, records none.
"""

from decimal import Decimal

from usage.models import DailyUsage
from usage.selectors import month_bounds

from ..models import BilledUsage, Invoice, InvoiceLine, PricePlan
from .usage_rows import BILLED_METHOD, summed_per_method

__all__ = ["record_billed_usage"]

ZERO = Decimal(0)


def record_billed_usage(invoice: Invoice) -> None:
    """What this hourly invoice billed of its month, per key, day and method."""
    if invoice.pricing_mode != PricePlan.Mode.HOURLY or invoice.adjusts_only:
        return
    first, last = month_bounds(invoice.period)
    # Under tiers usage lines carry no price: the rate of the highest tier the month reached.
    top = invoice.lines.filter(kind=InvoiceLine.Kind.TIER).order_by("-position").first()
    prices = {
        (line.api_key_id, line.method): line.unit_price or (top.unit_price if top else ZERO)
        for line in invoice.lines.filter(kind=InvoiceLine.Kind.USAGE)
    }
    rows = summed_per_method(
        DailyUsage.objects.filter(api_key__customer=invoice.customer, day__range=(first, last)),
        "api_key_id",
        "day",
    )
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
    BilledUsage.objects.bulk_create(billed, batch_size=1000)
