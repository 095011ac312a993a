"""What the line-item modes price from: a month's usage per key and (endpoint, method, model)
for rate-card plans, Deepgram's cost per key and line item for cost-plus plans, and the
month's exchange rate of each cost-plus currency.

Rules:
- Only the customers whose plan needs them are read (hourly plans read none of this).
- Usage and cost are summed per key by the database over the month's UTC days, as stored.
- A cost line's minutes (for a minimum per minute, and read only then) are its speech-to-text
  usage in the plan's billed quantity, mapped to line items by finance's mapping
  (`usage.line_items`); a line item without speech to text has none. Its usage by allowance
  measure (audio hours in the billed quantity, characters, agent hours, tokens in and out) is
  mapped the same way, and read only for a plan with an allowance.
- A cost-plus plan in a currency other than USD takes the month's rate (the last on or before
  its last day); none is none: the draft says so and approval waits.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from customers.models import ApiKey
from usage.line_items import LineItemMapping
from usage.models import DailyCost, DailyUsage, LineItem
from usage.selectors import month_bounds

from ..cost_plus import CostUsage
from ..models import PricePlan
from ..rate_cards import LineUsage
from .fx import Rate, rates_on
from .plans import allowances_of

__all__ = ["LineInputs", "line_inputs_of", "line_item_labels"]

ZERO = Decimal(0)
UNITS = ("hours", "total_hours", "agent_hours", "tts_characters", "tokens_in", "tokens_out")


@dataclass
class LineInputs:
    usage: dict[int, list[LineUsage]] = field(default_factory=dict)  # rate-card customers
    costs: dict[int, list[CostUsage]] = field(default_factory=dict)  # cost-plus customers
    rates: dict[str, Rate] = field(default_factory=dict)  # by currency

    def rate_for(self, plan: PricePlan) -> Rate | None:
        return self.rates.get(plan.currency)


def line_inputs_of(plans: dict[int, PricePlan], period: date) -> LineInputs:
    """The line-item inputs of the customers in `plans` that price by line item."""
    carded = {c for c, p in plans.items() if p.mode == PricePlan.Mode.RATE_CARD}
    costed = {c for c, p in plans.items() if p.mode == PricePlan.Mode.COST_PLUS}
    if not carded and not costed:
        return LineInputs()
    keys = {
        pk: (customer_pk, label)
        for pk, customer_pk, label in ApiKey.objects.filter(
            customer_id__ids_in=carded | costed
        ).values_list("pk", "customer_id", "key_id")
    }
    first, last = month_bounds(period)
    # Usage by line item is read for rate cards, and for cost plus only where a minimum per
    # minute or an allowance needs it.
    minimum = {c for c in costed if plans[c].minimum_per_minute is not None}
    allowed = {c for c in costed if any(allowances_of(plans[c]).values())}
    rows = _usage_rows(
        {k: v for k, v in keys.items() if v[0] in carded | minimum | allowed}, first, last
    )
    inputs = LineInputs()
    for row in rows:
        customer_pk = keys[row.key_pk][0]
        if customer_pk in carded:
            inputs.usage.setdefault(customer_pk, []).append(row)
    if costed:
        inputs.costs = _costs(keys, (minimum, allowed), plans, rows, first, last)
        currencies = {plans[c].currency for c in costed}
        inputs.rates = rates_on(currencies, last)
    return inputs


def _usage_rows(keys: dict, first: date, last: date) -> list[LineUsage]:
    if not keys:
        return []
    sums = (
        DailyUsage.objects.filter(api_key_id__ids_in=list(keys), day__range=(first, last))
        .values_list("api_key_id", "endpoint", "method", "model")
        .annotate(**{unit: Sum(unit) for unit in UNITS})
        .order_by("api_key_id", "endpoint", "method", "model")
    )
    # Tuples, not dicts, and each name kept once: a month of 30,000 keys has 150,000 rows
    # but a handful of endpoints, methods and models. (Not a server-side cursor, which
    # PostgreSQL never reads in parallel.)
    names: dict[str, str] = {}
    return [
        LineUsage(
            key_pk,
            keys[key_pk][1],
            names.setdefault(endpoint, endpoint),
            names.setdefault(method, method),
            names.setdefault(model, model),
            *(amount or 0 for amount in amounts),
        )
        for key_pk, endpoint, method, model, *amounts in sums
    ]


def line_item_labels() -> dict[str, str]:
    """Deepgram's line items' labels by code (what a cost-plus line is called): one query, a
    few hundred rows at most."""
    return dict(LineItem.objects.values_list("code", "label"))


def _costs(keys, measured, plans, rows, first, last) -> dict[int, list[CostUsage]]:
    """Each cost-plus key's line items: dollars, minutes (`measured[0]`: plans with a minimum)
    and usage by allowance measure (`measured[1]`: plans with an allowance)."""
    labels = line_item_labels()
    minimum, allowed = measured
    minutes, measures = _usage_by_line_item(rows, keys, plans, minimum, allowed)
    costed = {pk for pk, plan in plans.items() if plan.mode == PricePlan.Mode.COST_PLUS}
    dollars = (
        DailyCost.objects.filter(
            api_key_id__ids_in=[k for k, (c, _) in keys.items() if c in costed],
            day__range=(first, last),
        )
        .values_list("api_key_id", "line_item")
        .annotate(dollars=Sum("dollars"))
        .order_by("api_key_id", "line_item")
    )
    costs: dict[int, list[CostUsage]] = defaultdict(list)
    for key_pk, code, amount in dollars:
        customer_pk, label = keys[key_pk]
        costs[customer_pk].append(
            CostUsage(
                key_pk,
                label,
                code,
                labels.get(code, code),
                amount or ZERO,
                minutes.get((key_pk, code)),
                tuple(sorted(measures.get((key_pk, code), {}).items())),
            )
        )
    return dict(costs)


def _usage_by_line_item(rows, keys, plans, minimum, allowed):
    """By (key pk, line item code): the speech-to-text minutes of plans with a minimum, and
    the usage by allowance measure of plans with an allowance (finance's mapping)."""
    mapping, minutes = LineItemMapping.load(), defaultdict(Decimal)
    measures: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        customer_pk = keys[row.key_pk][0]
        if customer_pk not in minimum and customer_pk not in allowed:
            continue
        item = mapping.of(row.endpoint, row.method, row.model)
        if item is None:
            continue
        where = (row.key_pk, item.code)
        audio = getattr(row, plans[customer_pk].billed_quantity) if row.endpoint == "listen" else 0
        if customer_pk in minimum and row.endpoint == "listen":
            minutes[where] += audio * 60
        if customer_pk in allowed:
            for measure, used in (
                ("audio", audio),
                ("characters", row.tts_characters),
                ("agent", row.agent_hours),
                ("tokens", row.tokens_in + row.tokens_out),
            ):
                if used:
                    measures[where][measure] += Decimal(used)
    return minutes, {where: dict(found) for where, found in measures.items()}
