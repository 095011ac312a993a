"""A customer's estimated charge for a month so far, for the portal: priced as the month's
draft would be, from the same inputs and by the same pure pricing. Reads only: it saves
nothing (no draft, no line).

Rules:
- The inputs are the draft generation's own, read for the one customer
  (`draft_inputs.read_month`): the plan for the month, its usage stored so far, the tax terms,
  the exchange rate and the late adjustments of earlier months in the plan's currency. They
  are priced by the draft's code (`draft_pricing.price_draft`, `draft_totals`), so an estimate
  and a draft generated from the same stored days have the same lines and the same total.
- Finance's manual lines on a draft are not in it: a draft is never shown to customers, and
  those lines are a person's work until the invoice is issued.
- No number where it would be wrong: no plan for the month, a plan that prices nothing
  (invalid), usage no price covers, no exchange rate known at all. The estimate says which,
  in plain words. A month whose invoice is issued has no estimate: the invoice says it.
- The exchange rate (cost plus in another currency than USD) is the month's, the last on or
  before its last day: while the month runs, that is the latest known. When there is none on
  or before that day, the estimate takes the latest known at all and says so (the draft waits
  for the month's).
- Customers see a key by its name, never by its Deepgram id, and never Deepgram's cost or the
  markup: a cost-plus line reads as on an invoice whose plan hides the markup (its amount).
- Tax as on the draft: at the terms' rate, once, on the subtotal; none under reverse charge
  (with its note). Without billing terms the estimate is before tax, and says so.
- On the first days of a month (`LAST_MONTH_DAYS`) the last full month is shown too, until
  its invoice is issued.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from customers.models import ApiKey, Customer
from usage.selectors import month_bounds

from . import pricing
from .models import Invoice, PricePlan
from .services.draft_inputs import DraftInputs, read_month
from .services.draft_pricing import PricedDraft, draft_totals, price_draft
from .services.fx import Rate, rate_on
from .services.plans import plan_problems_of, previous_month
from .services.repricing import Repriced, pending_repricing

__all__ = ["LAST_MONTH_DAYS", "Estimate", "EstimateGroup", "EstimateLine", "dashboard_estimates"]

LAST_MONTH_DAYS = 7  # the 1st to the 7th also show the month before, until it is invoiced
ZERO = Decimal(0)
LATEST_KNOWN = date(9999, 12, 31)
AMOUNT_ONLY_KINDS = {"minimum", "platform_fee"}
# Line-item units read better as counts: 123.456 k characters are 123,456 characters.
COUNTED_UNITS = {
    "k characters": ("characters", Decimal(1000)),
    "M tokens": ("tokens", Decimal(1_000_000)),
    "M tokens in": ("tokens in", Decimal(1_000_000)),
    "M tokens out": ("tokens out", Decimal(1_000_000)),
}
PROBLEMS = {
    "no_plan": "There is no price plan for {month} on your account yet, so there is nothing to "
    "estimate. Your account manager can tell you more.",
    "invalid_plan": "Your price plan is being corrected by our billing team, so {month} "
    "cannot be estimated right now.",
    "unpriced": "Some of your usage in {month} has no price on your plan yet, so we cannot "
    "estimate the month without a wrong figure. Our billing team has been told.",
    "no_rate": "No exchange rate for {currency} is known yet, so {month} cannot be estimated.",
}


@dataclass
class EstimateLine:
    """A line as the customer sees it: no key id, no cost, no markup. `quantity` None: the
    amount alone; `hours`: a quantity of hours."""

    description: str
    amount: Decimal
    kind: str
    quantity: Decimal | None = None
    unit: str = ""
    hours: bool = False


@dataclass
class EstimateGroup:
    title: str  # the key's name, or "" for the charges of no key (fee, minimum, tiers)
    lines: list[EstimateLine] = field(default_factory=list)


@dataclass
class Estimate:
    """A month's estimated charge so far, or why there is none (`problem`)."""

    period: date
    through: date  # the last UTC day counted
    month_over: bool
    currency: str = ""
    groups: list[EstimateGroup] = field(default_factory=list)
    subtotal: Decimal = ZERO
    tax_rate: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    tax_note: str = ""
    before_tax: bool = False  # no billing terms: tax is not known yet
    minimum: Decimal = ZERO  # the plan's monthly minimum (0: none)
    rate: Rate | None = None  # the exchange rate a cost-plus estimate converted at
    rate_is_fallback: bool = False  # none on or before the month's last day: the latest
    problem: str = ""

    @property
    def has_total(self) -> bool:
        return not self.problem

    @property
    def converted(self) -> bool:
        return self.rate is not None and self.rate.day is not None

    @property
    def has_quantities(self) -> bool:
        """Whether any line shows a quantity (a cost-plus estimate shows amounts alone)."""
        return any(line.quantity is not None for group in self.groups for line in group.lines)

    @property
    def tops_up(self) -> bool:
        """Whether the monthly minimum tops the usage up (so far)."""
        return any(line.kind == "minimum" for group in self.groups for line in group.lines)


def dashboard_estimates(customer: Customer, today: date) -> list[Estimate]:
    """This month's estimate so far and, on the first `LAST_MONTH_DAYS` days, the last
    month's while its invoice is not issued (none for a month without a plan)."""
    estimates = [month_estimate(customer, today.replace(day=1), today)]
    if today.day <= LAST_MONTH_DAYS:
        last = month_estimate(customer, previous_month(today), today, quiet=True)
        if last is not None:
            estimates.append(last)
    return estimates


def month_estimate(customer: Customer, period: date, today: date, *, quiet: bool = False):
    """The month's estimate; None for a month already invoiced, or (`quiet`) without a plan."""
    first, last = month_bounds(period)
    estimate = Estimate(period=first, through=min(today, last), month_over=today > last)
    month = read_month(first, [customer.pk])
    plan = month.plans.get(customer.pk)
    if plan is None:
        return None if quiet else _problem(estimate, "no_plan")
    if customer.pk in month.invoiced and _issued(customer, first):
        return None
    if plan_problems_of(plan):
        return _problem(estimate, "invalid_plan")
    repriced = Repriced()
    if month.billed_before:  # as the generation: else there is nothing to adjust
        repriced = pending_repricing(
            [customer.pk], period=first, currencies={customer.pk: plan.currency}
        ).get(customer.pk, Repriced())
    inputs = month.inputs_for(customer.pk, (), repriced)  # no manual lines: a draft's own
    inputs, fallback = _with_known_rate(plan, inputs)
    priced = price_draft(inputs, first)
    if priced.blockers:
        reason = "unpriced" if plan.mode == PricePlan.Mode.RATE_CARD else "no_rate"
        return _problem(estimate, reason, plan.currency)
    return _priced(estimate, customer, plan, priced, inputs, fallback)


def _issued(customer: Customer, period: date) -> bool:
    return Invoice.objects.issued_invoices().filter(customer=customer, period=period).exists()


def _problem(estimate: Estimate, reason: str, currency: str = "") -> Estimate:
    month = f"{estimate.period:%B %Y}"
    estimate.problem = PROBLEMS[reason].format(month=month, currency=currency)
    return estimate


def _with_known_rate(plan: PricePlan, inputs: DraftInputs) -> tuple[DraftInputs, bool]:
    """A cost-plus plan without the month's rate takes the latest known at all (True: the
    fallback); without any rate it stays without (the draft's pricing then blocks)."""
    if plan.mode != PricePlan.Mode.COST_PLUS or inputs.rate is not None:
        return inputs, False
    latest = rate_on(plan.currency, LATEST_KNOWN)
    return (inputs, False) if latest is None else (replace(inputs, rate=latest), True)


def _priced(estimate, customer, plan, priced: PricedDraft, inputs, fallback) -> Estimate:
    totals = draft_totals(plan, priced, timezone.now())  # the draft's own fields, not saved
    estimate.currency = plan.currency
    estimate.subtotal, estimate.tax, estimate.total = (
        totals["subtotal"],
        totals["tax"],
        totals["total"],
    )
    estimate.tax_rate, estimate.tax_note = totals["tax_rate"], totals["tax_note"]
    estimate.before_tax = inputs.terms is None
    estimate.minimum = plan.monthly_minimum
    estimate.rate = inputs.rate if plan.mode == PricePlan.Mode.COST_PLUS else None
    estimate.rate_is_fallback = fallback
    estimate.groups = customer_groups(priced.lines, _key_names(customer), plan)
    return estimate


def _key_names(customer: Customer) -> dict[int, tuple[str, str]]:
    """Each key's (name, Deepgram id) by pk; a key without a name is shown by its id."""
    keys = ApiKey.objects.filter(customer=customer).values_list("pk", "comment", "key_id")
    return {pk: (comment or key_id, key_id) for pk, comment, key_id in keys}


def customer_groups(lines: list[pricing.Line], keys: dict, plan: PricePlan) -> list:
    """The priced lines as the customer sees them: grouped by key (titled by its name), in
    their order, then the charges of no key; each described without the key's id, and a
    cost-plus line by its amount alone."""
    groups: dict[int | None, EstimateGroup] = {}
    for line in lines:
        name, key_id = keys.get(line.key_pk, ("", "")) if line.key_pk else ("", "")
        group = groups.setdefault(line.key_pk if name else None, EstimateGroup(name))
        group.lines.append(_shown(line, key_id, plan))
    charges = groups.pop(None, None)
    return [*groups.values(), *([charges] if charges else [])]


def _shown(line: pricing.Line, key_id: str, plan: PricePlan) -> EstimateLine:
    description = line.description.replace(f", key {key_id}", "") if key_id else line.description
    if plan.mode == PricePlan.Mode.COST_PLUS and line.unit in (plan.currency, "each"):
        # Deepgram's cost (times the markup): the line item's name and its amount alone
        for basis in (": Deepgram's cost in ", ": at Deepgram's cost"):
            description = description.split(basis)[0]
        return EstimateLine(description, line.amount, line.kind)
    flat = line.kind == "tier" and not line.unit and plan.mode != PricePlan.Mode.HOURLY
    if line.kind in AMOUNT_ONLY_KINDS or line.unit == "each" or flat:
        return EstimateLine(description, line.amount, line.kind)
    if not line.unit:  # an hourly plan's hours (or an adjustment of one)
        return EstimateLine(description, line.amount, line.kind, line.quantity, hours=True)
    unit, factor = COUNTED_UNITS.get(line.unit, (line.unit, Decimal(1)))
    return EstimateLine(
        description, line.amount, line.kind, _readable(line.quantity * factor, unit), unit
    )


def _readable(quantity: Decimal, unit: str) -> Decimal:
    """A quantity to read, not to bill: minutes to a tenth, hours to a hundredth, counts
    whole (the invoice's stored lines keep what was billed)."""
    if unit.endswith("min"):
        places = Decimal("0.1")
    elif unit.split()[-1] == "h" or unit.startswith("h "):
        places = Decimal("0.01")
    elif unit in {name for name, _ in COUNTED_UNITS.values()}:
        places = Decimal(1)
    else:
        return quantity.normalize()
    return quantity.quantize(places, rounding=ROUND_HALF_UP).normalize()
