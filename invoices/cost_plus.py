"""Cost plus: each key's line items billed at Deepgram's own cost, converted, plus a markup.
Pure: no database.

Rules (also in the README):
- A line per key and line item: Deepgram's dollars for the month, times the month's exchange
  rate (units of the plan's currency per USD), times (1 + markup %). Markup 0 is exact pass-
  through: the line equals Deepgram's cost converted, within half a minor unit.
- An optional minimum per unit (0.005 per audio minute, say) bills a line at least its usage
  times that price, where the line item's usage is known in that unit; the line says which
  rule priced it.
- The line shows what it is based on: Deepgram's cost in the plan's currency and the factor,
  or, when finance hides the markup, the amount alone.
- Included allowances (free audio hours, characters, agent hours, tokens) come off next, as in
  every mode: each measure's allowance is credited against the lines whose usage is known in
  it (a line item's usage mapped to it), dearest per unit first, each line at its own price
  per unit (its amount over its usage), never below zero; a line covered whole is credited its
  whole amount. Each credit is its own line (customer-wide: "Included voice agent hours: 1 h of
  Voice agent, key k1"). Then the monthly minimum and the platform fee, as in every mode.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from usage.units import quantize_hours

from .money import quantize_money
from .pricing import Line, Plan, priced_line, with_minimum_and_fee

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
TENTH = Decimal("0.1")


class CostUsage(NamedTuple):
    """One key's month of one line item: Deepgram's dollars and, where known, its usage in
    the unit of the minimum (None: not measured in it)."""

    key_pk: int
    key_label: str
    line_item: str
    label: str  # "Nova-3, streaming" (Deepgram's label, or the line item)
    dollars: Decimal
    quantity: Decimal | None = None
    # Its month's usage by allowance measure (("agent", 12.5), ...), read where the plan has
    # allowances: what they are credited against.
    measures: tuple = ()


@dataclass(frozen=True)
class CostPlus:
    markup_percent: Decimal = ZERO
    minimum_per_unit: Decimal | None = None  # in the plan's currency, per `unit`
    unit: str = "min"
    show_markup: bool = True


def price_cost_plus(
    plan: Plan,
    rule: CostPlus,
    costs: list[CostUsage],
    per_usd: Decimal,
    period_label: str,
    allowances: dict | None = None,
) -> tuple[list[Line], list[str]]:
    """The priced lines of a month of Deepgram's cost under `rule`, at `per_usd` units of
    the plan's currency per US dollar, less the plan's `allowances` (by measure)."""
    factor = ONE + rule.markup_percent / HUNDRED
    notes = [_basis(plan, rule, per_usd, period_label)]
    priced = []
    for cost in sorted(costs, key=lambda c: (c.key_label, c.line_item)):
        if not cost.dollars and not cost.quantity:
            continue
        converted = cost.dollars * per_usd
        priced.append((cost, _line(plan, rule, cost, converted, factor)))
    lines = [line for _, line in priced]
    for measure, allowance in (allowances or {}).items():
        if allowance > 0:
            lines += _included(plan, measure, allowance, priced, notes)
    return with_minimum_and_fee(plan, lines, notes, period_label)


# An allowance's measure: how its credit lines and notes name it, and its unit.
MEASURE_WORDS = {
    "audio": ("audio hours", "h"),
    "characters": ("text-to-speech characters", "characters"),
    "agent": ("voice agent hours", "h"),
    "tokens": ("tokens", "tokens"),
}


def _included(plan: Plan, measure: str, allowance: Decimal, priced, notes) -> list[Line]:
    """The credits of one measure's allowance: against the lines measured in it, dearest per
    unit first (then by key and line item), each at its own price per unit."""
    words, unit = MEASURE_WORDS[measure]
    measured = []
    for cost, line in priced:
        used = dict(cost.measures).get(measure, ZERO)
        if used > 0 and line.amount > 0:
            measured.append((line.amount / used, cost, line, used))
    measured.sort(key=lambda m: (-m[0], m[1].key_label, m[1].line_item))
    credits, left = [], allowance
    for _, cost, line, used in measured:
        if left <= 0:
            break
        take = min(left, used)
        left -= take
        credit = (
            line.amount
            if take == used
            else quantize_money(line.amount * take / used, plan.currency)
        )
        credits.append(
            Line(
                "free_hours",
                f"Included {words}: {take.normalize():,f} {unit} of {cost.label}, key "
                f"{cost.key_label}",
                ONE,
                -credit,
                -credit,
                unit="each",
            )
        )
    taken = allowance - left
    if credits:
        notes.append(
            f"{taken.normalize():,f} of {allowance.normalize():,f} included {words} credited, "
            "dearest per unit first."
        )
    return credits


def _line(plan: Plan, rule: CostPlus, cost: CostUsage, converted: Decimal, factor) -> Line:
    name = f"{cost.label}, key {cost.key_label}"
    floor = None
    if rule.minimum_per_unit is not None and cost.quantity is not None:
        floor = cost.quantity * rule.minimum_per_unit
    if floor is not None and floor > converted * factor:
        return priced_line(
            plan,
            "usage",
            f"{name}: {_readable(cost.quantity)} {rule.unit} at the minimum of "
            f"{_price(rule.minimum_per_unit)}/{rule.unit}",
            cost.quantity,
            rule.minimum_per_unit,
            key_pk=cost.key_pk,
        )._replace(unit=rule.unit, item=cost.line_item)
    # The amount from the exact converted cost (rounded once); the quantity shown keeps the
    # stored 6 decimals.
    amount = quantize_money(converted * factor, plan.currency)
    if not rule.show_markup:
        return Line(
            "usage", f"{name}: at Deepgram's cost", ONE, amount, amount, cost.key_pk,
            unit="each", item=cost.line_item,
        )  # fmt: skip
    return Line(
        "usage",
        f"{name}: Deepgram's cost in {plan.currency} plus {rule.markup_percent.normalize():f} %",
        quantize_hours(converted),
        factor,
        amount,
        cost.key_pk,
        unit=plan.currency,  # a cost in the plan's currency, times the factor
        item=cost.line_item,
    )


def _readable(quantity: Decimal) -> str:
    """A quantity for the line's words, to a tenth (the line's quantity keeps its decimals):
    2661.769860000000 -> '2,661.8'."""
    return f"{quantity.quantize(TENTH, rounding=ROUND_HALF_UP):,f}"


def _price(price: Decimal) -> str:
    """A minimum price for the line's words, without trailing zeros past a tenth of a cent:
    0.004000 -> '0.004', 0.010 -> '0.010', 0.00425 -> '0.00425'."""
    places = -price.normalize().as_tuple().exponent
    return f"{price.quantize(Decimal(1).scaleb(-max(places, 3))):f}"


def _basis(plan: Plan, rule: CostPlus, per_usd: Decimal, period_label: str) -> str:
    rate = "" if plan.currency == "USD" else f", at 1 USD = {per_usd:f} {plan.currency}"
    markup = f" plus {rule.markup_percent.normalize():f} %" if rule.show_markup else ""
    return f"Deepgram's cost of each key and line item in {period_label}{rate}{markup}."
