"""Price ladders: what a quantity costs under one price rule. Pure: no database, no rounding
(the caller rounds each line once, to the currency's minor unit).

The models are those of Lago, Kill Bill, OpenMeter and Stripe, by their names:
- `unit`: every unit at one price.
- `graduated`: each band of units at its own step's price ("tiered" in Kill Bill and Stripe's
  `graduated`): 485 units over steps up to 100 @ 1.00 and above @ 0.80 are 100 x 1.00 + 385 x
  0.80. A step's flat amount is charged once when the quantity enters the step.
- `volume`: every unit at the price of the step the whole quantity reaches (Kill Bill's
  "volume", Stripe's `volume`), plus that step's flat amount.
- `package`: blocks of `package_size` units, each at `unit_price`, the last block rounded up
  (121 units in blocks of 10 are 13 blocks).

Steps are cumulative upper bounds (`up_to`, in the ladder's unit), strictly rising, the last
one open (None). A quantity exactly at a bound stays in the step it closes (Lago's 0-10 / 11-
ranges for whole units). No usage is no charge: a flat amount is never billed for 0.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
MODELS = {
    "unit": "per unit",
    "graduated": "graduated tiers",
    "volume": "volume tiers",
    "package": "packages",
}


@dataclass(frozen=True)
class Step:
    up_to: Decimal | None  # None: the last, open step
    unit_price: Decimal
    flat: Decimal = ZERO


@dataclass(frozen=True)
class Ladder:
    model: str = "unit"
    unit_price: Decimal = ZERO  # `unit` and `package` (a block's price)
    steps: tuple[Step, ...] = ()  # `graduated` and `volume`
    package_size: Decimal = ZERO  # `package`


@dataclass(frozen=True)
class Charge:
    """One part of a ladder's price: `quantity` (units, or blocks for packages) at
    `unit_price`, plus `flat`; `span` says which units ("100 to 485", "" for all)."""

    span: str
    quantity: Decimal
    unit_price: Decimal
    flat: Decimal = ZERO

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price + self.flat


def ladder_charges(ladder: Ladder, quantity: Decimal) -> list[Charge]:
    """The charges of `quantity` units under `ladder` (valid: see `ladder_problems`)."""
    if quantity <= 0:
        return []
    if ladder.model == "unit":
        return [Charge("", quantity, ladder.unit_price)]
    if ladder.model == "package":
        blocks = Decimal(math.ceil(quantity / ladder.package_size))
        return [Charge(f"{blocks} x {ladder.package_size}", blocks, ladder.unit_price)]
    if ladder.model == "volume":
        step, floor = _step_reached(ladder.steps, quantity)
        return [Charge(_span(floor, step.up_to), quantity, step.unit_price, step.flat)]
    if ladder.model == "graduated":
        return _graduated(ladder.steps, quantity)
    raise ValueError(f"unknown ladder model {ladder.model!r}")


def ladder_amount(ladder: Ladder, quantity: Decimal) -> Decimal:
    return sum((charge.amount for charge in ladder_charges(ladder, quantity)), ZERO)


def _graduated(steps: tuple[Step, ...], quantity: Decimal) -> list[Charge]:
    charges, floor = [], ZERO
    for step in steps:
        ceiling = quantity if step.up_to is None else min(quantity, step.up_to)
        band = ceiling - floor
        if band <= 0:
            break
        charges.append(Charge(_span(floor, step.up_to), band, step.unit_price, step.flat))
        if step.up_to is None or quantity <= step.up_to:
            break
        floor = step.up_to
    return charges


def _step_reached(steps: tuple[Step, ...], quantity: Decimal) -> tuple[Step, Decimal]:
    floor = ZERO
    for step in steps:
        if step.up_to is None or quantity <= step.up_to:
            return step, floor
        floor = step.up_to
    raise ValueError("the ladder has no open last step")


def _span(floor: Decimal, up_to: Decimal | None) -> str:
    if up_to is None:
        return f"above {floor:,f}" if floor else ""
    return f"{floor:,f} to {up_to:,f}"


def ladder_problems(ladder: Ladder, what: str = "The ladder") -> list[str]:
    """What makes a ladder unfit to price, in words for finance (empty: nothing)."""
    if ladder.model not in MODELS:
        return [f"{what} has an unknown model {ladder.model!r} (one of {', '.join(MODELS)})."]
    problems = []
    if ladder.model in ("unit", "package") and ladder.unit_price < 0:
        problems.append(f"{what}'s price is negative ({ladder.unit_price}).")
    if ladder.model == "package" and ladder.package_size <= 0:
        problems.append(
            f"{what}'s package size is {ladder.package_size}: a package holds more than 0 units."
        )
    if ladder.model in ("graduated", "volume"):
        if not ladder.steps:
            return [*problems, f"{what} has no tiers."]
        problems += step_problems(ladder.steps, tier=f"{what}'s tier", last=f"{what}'s last tier")
    return problems


def step_problems(
    steps, *, tier: str = "Tier", last: str = "The last tier", unit: str = "", units="units"
) -> list[str]:
    """What is wrong with cumulative steps (a ladder's, or an hourly plan's tiers): each upper
    bound above the one before (the first above 0), only the last one open, no negative price
    or flat amount. `tier` and `last` name them in the words ("Tier", "Entry 1's tier"); `unit`
    follows a bound (" h") and `units` says what would go unbilled ("hours")."""
    problems, floor = [], ZERO
    for n, step in enumerate(steps, start=1):
        if step.unit_price < 0:
            problems.append(f"{tier} {n}'s rate is negative ({step.unit_price}).")
        if step.flat < 0:
            problems.append(f"{tier} {n}'s flat amount is negative ({step.flat}).")
        if step.up_to is None:
            if n < len(steps):
                problems.append(f"{tier} {n} is open (no upper bound) but is not the last one.")
            continue
        if step.up_to <= floor:
            problems.append(
                f"{tier} {n} ends at {step.up_to}{unit}: tiers must rise strictly, each above "
                f"the one before (here above {floor}{unit}); tiers that overlap price nothing."
            )
        floor = max(floor, step.up_to)
    if steps and steps[-1].up_to is not None:
        problems.append(
            f"{last} ends at {steps[-1].up_to}{unit}: it must be open (no upper bound), or the "
            f"{units} above it would not be billed."
        )
    return problems
