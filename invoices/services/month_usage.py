"""A month's usage as hourly pricing takes it, for hourly plans only: per key and method, in
each plan's billed quantity (hours or total hours), summed by the database (`usage_rows`) and
rounded to the stored 6 decimals; a customer's usage ordered by key and method, so the same
usage gives the same lines. Read by drafts and by the re-pricing of a billed month."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from billing_portal.bulk import memory_to_group
from customers.models import ApiKey
from usage.models import DailyUsage
from usage.selectors import month_bounds
from usage.units import quantize_hours

from .. import pricing
from ..models import PricePlan
from .usage_rows import BILLED_METHOD, summed_per_method

__all__ = ["usage_of"]

ZERO = Decimal(0)


def usage_of(
    plans: dict[int, PricePlan], period: date, *, everyone: bool = False
) -> dict[int, list[pricing.Usage]]:
    """The month's usage of the customers in `plans` priced by the hour (the line-item modes
    read theirs by line item, `line_inputs`), in each plan's quantity: summed per key and
    method by the database, then labelled and grouped by customer from the keys. With
    `everyone` (and every plan hourly), the whole month is summed and the keys of customers
    without a plan dropped: cheaper than naming thousands of customers."""
    hourly = {c: p for c, p in plans.items() if p.mode == PricePlan.Mode.HOURLY}
    if not hourly:
        return {}
    everyone, plans = everyone and len(hourly) == len(plans), hourly
    first, last = month_bounds(period)
    keys, rows = ApiKey.objects.all(), DailyUsage.objects.filter(day__range=(first, last))
    if not everyone:
        keys = keys.filter(customer_id__ids_in=list(plans))
        rows = rows.filter(api_key__customer_id__ids_in=list(plans))
    keys = list(keys.values_list("pk", "customer_id", "key_id"))
    owners = {
        key_pk: (customer_pk, label) for key_pk, customer_pk, label in keys if customer_pk in plans
    }
    quantities = sorted({plan.billed_quantity for plan in plans.values()})
    sums = [f"sum_{quantity}" for quantity in quantities]
    rows = summed_per_method(rows, "api_key_id").values_list("api_key_id", BILLED_METHOD, *sums)
    with memory_to_group(len(keys)):
        rows = list(rows)
    usage = defaultdict(list)
    for key_pk, method, *summed in rows:
        if key_pk not in owners:
            continue
        customer_pk, label = owners[key_pk]
        quantity = summed[quantities.index(plans[customer_pk].billed_quantity)]
        usage[customer_pk].append(
            pricing.Usage(key_pk, label, method, quantize_hours(quantity or ZERO))
        )
    for items in usage.values():
        items.sort(key=_by_key_and_method)
    return usage


def _by_key_and_method(usage: pricing.Usage):
    return usage.key_pk, usage.method
