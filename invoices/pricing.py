"""Pricing: a month of one customer's usage and a plan in, priced lines out. Pure: no database.

Rules (also in the README):
- The billed quantity is the plan's (`total_hours` by default), summed per key and method over
  the month; hours keep 6 decimals.
- Included hours come off first. With tiers, the remaining hours are priced by graduated tiers
  (each band at its own rate); without, each key and method at its method's rate, and the
  included hours are credited against the dearest usage first, at its rate.
- A monthly minimum tops the usage charge up to the minimum; the platform fee is its own line.
- Each line's amount is quantity times unit price rounded half-up once to the currency's minor unit.
- A plan prices only when `plan_problems` finds nothing: an ISO 4217 currency; no negative
  rate, allowance, minimum or fee; tiers strictly increasing from zero, the last one open.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from usage.units import quantize_hours

from .ladders import Step, step_problems
from .money import currency_problem, quantize_money

ZERO = Decimal(0)
METHOD_NAMES = {
    "all": "",
    "sync": "pre-recorded (sync)",
    "async": "pre-recorded (async)",
    "streaming": "streaming",
}


class Usage(NamedTuple):
    """One key's billed quantity for one method over the month. A plain tuple: a generation
    builds tens of thousands of them."""

    key_pk: int
    key_label: str
    method: str
    quantity: Decimal


class Tier(NamedTuple):
    up_to_hours: Decimal | None
    rate_per_hour: Decimal


@dataclass(frozen=True)
class Plan:
    currency: str
    rate_per_hour: Decimal
    method_rates: dict[str, Decimal] = field(default_factory=dict)
    tiers: tuple[Tier, ...] = ()
    included_hours: Decimal = ZERO
    monthly_minimum: Decimal = ZERO
    platform_fee: Decimal = ZERO
    platform_fee_label: str = "Platform subscription"

    def rate_for(self, method: str) -> Decimal:
        """The method's own rate where the plan has one (0 is a rate: free), else the
        default rate."""
        return self.method_rates.get(method, self.rate_per_hour)


class Line(NamedTuple):
    """One priced line (a plain tuple, like `Usage`)."""

    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    key_pk: int | None = None
    method: str = ""
    corrects: int | None = None  # an adjustment's: the invoice whose month it re-priced
    unit: str = ""  # a line-item line's unit ("min", "agent h"); "" an hour-priced line
    # A per-key line's line item: its rate-card entry's name ("Aura text to speech"), or under
    # cost plus Deepgram's line item code ("streaming::nova-3"); "" an hour-priced line.
    item: str = ""


def price_usage(plan: Plan, usage: list[Usage], period_label: str) -> tuple[list[Line], list[str]]:
    """The priced lines for a month of usage, and the pricing steps in words."""
    usage = [u for u in usage if u.quantity]
    total = quantize_hours(sum((u.quantity for u in usage), ZERO))
    free = min(total, plan.included_hours)
    notes = [f"{total} h of usage in {period_label}."]
    if plan.tiers:
        lines = _usage_lines(plan, usage, priced=False) + _tier_lines(plan, total - free, notes)
        if free:
            lines.insert(
                len(usage),
                priced_line(plan, "free_hours", f"Included hours ({free} h)", free, ZERO),
            )
            notes.insert(1, f"The first {free} h are included in the plan.")
    else:
        lines = _usage_lines(plan, usage, priced=True)
        lines += _included_hours(plan, lines, free)
        if free:
            notes.append(f"{free} h included in the plan, taken off the dearest usage first.")
    return with_minimum_and_fee(plan, lines, notes, period_label)


def with_minimum_and_fee(
    plan: Plan, lines: list[Line], notes: list[str], period_label: str
) -> tuple[list[Line], list[str]]:
    """The usage lines topped up to the monthly minimum, then the platform fee: the last two
    steps of every pricing mode."""
    usage_charge = sum((line.amount for line in lines), ZERO)
    if usage_charge < plan.monthly_minimum:
        top_up = plan.monthly_minimum - usage_charge
        lines.append(
            priced_line(
                plan,
                "minimum",
                f"Monthly minimum of {plan.monthly_minimum} "
                f"{plan.currency} (usage came to {usage_charge})",
                Decimal(1),
                top_up,
            )
        )
        notes.append(
            f"Usage came to {usage_charge} {plan.currency}, below the monthly minimum "
            f"of {plan.monthly_minimum}: {top_up} added."
        )
    if plan.platform_fee:
        lines.append(
            priced_line(
                plan,
                "platform_fee",
                f"{plan.platform_fee_label}, {period_label}",
                Decimal(1),
                plan.platform_fee,
            )
        )
    return lines, notes


def plan_problems(plan: Plan) -> list[str]:
    """What makes a plan unfit to price, in words for finance (empty: nothing)."""
    problems = [currency_problem(plan.currency)] if currency_problem(plan.currency) else []
    amounts = {
        "the rate per hour": plan.rate_per_hour,
        **{f"the {METHOD_NAMES[m]} rate": rate for m, rate in plan.method_rates.items()},
        "the included hours": plan.included_hours,
        "the monthly minimum": plan.monthly_minimum,
        "the platform fee": plan.platform_fee,
    }
    problems += [f"{name} is negative ({value})." for name, value in amounts.items() if value < 0]
    return problems + tier_problems(plan.tiers)


def tier_problems(tiers: "list[Tier] | tuple[Tier, ...]") -> list[str]:
    """What is wrong with graduated tiers (none at all is fine): as any ladder's steps
    (`ladders.step_problems`), in hours."""
    steps = [Step(t.up_to_hours, t.rate_per_hour) for t in tiers]
    return step_problems(steps, unit=" h", units="hours")


def _usage_lines(plan: Plan, usage: list[Usage], *, priced: bool) -> list[Line]:
    lines = []
    for u in sorted(usage, key=lambda u: (u.key_label, u.method)):
        method = METHOD_NAMES.get(u.method, u.method)
        label = f"Speech usage, key {u.key_label}" + (f", {method}" if method else "")
        if priced:
            lines.append(
                priced_line(
                    plan,
                    "usage",
                    label,
                    u.quantity,
                    plan.rate_for(u.method),
                    key_pk=u.key_pk,
                    method=u.method,
                )
            )
        else:
            lines.append(
                priced_line(
                    plan,
                    "usage",
                    f"{label} (priced by the tiers below)",
                    u.quantity,
                    ZERO,
                    key_pk=u.key_pk,
                    method=u.method,
                )
            )
    return lines


def _included_hours(plan: Plan, usage_lines: list[Line], free: Decimal) -> list[Line]:
    """Included hours come off the usage lines with the highest rate first, each credit at
    that line's own rate, so the usage charge never goes below zero."""
    credits, left = [], free
    for line in sorted(usage_lines, key=lambda line: -line.unit_price):
        if left <= 0:
            break
        taken = min(line.quantity, left)
        credits.append(
            priced_line(
                plan,
                "free_hours",
                f"Included hours: {line.description}",
                -taken,
                line.unit_price,
                key_pk=line.key_pk,
                method=line.method,
            )
        )
        left -= taken
    return credits


def _tier_lines(plan: Plan, billable: Decimal, notes: list[str]) -> list[Line]:
    lines, floor = [], ZERO
    for tier in plan.tiers:
        ceiling = tier.up_to_hours
        band = billable - floor if ceiling is None else min(billable, ceiling) - floor
        if band <= 0:
            break
        span = f"{floor} h and above" if ceiling is None else f"{floor} to {ceiling} h"
        lines.append(priced_line(plan, "tier", f"Tier {span}", band, tier.rate_per_hour))
        notes.append(f"{band} h in the tier {span} at {tier.rate_per_hour}/h.")
        if ceiling is None or billable <= ceiling:
            break
        floor = ceiling
    return lines


def priced_line(
    plan: Plan,
    kind: str,
    description: str,
    quantity: Decimal,
    unit_price: Decimal,
    key_pk: int | None = None,
    method: str = "",
) -> Line:
    quantity = quantize_hours(quantity)
    amount = quantize_money(quantity * unit_price, plan.currency)
    return Line(kind, description, quantity, unit_price, amount, key_pk, method)


def tax_of(subtotal: Decimal, rate_percent: Decimal, currency: str) -> Decimal:
    """Tax once, on the subtotal."""
    return quantize_money(subtotal * rate_percent / 100, currency)
