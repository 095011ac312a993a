"""Which price plan applies, and its pure pricing form.

Rules:
- A customer's plan for a month is the latest assignment effective on or before the month's
  first day, or the price change scheduled for that plan and in force by then (scheduled by
  `plan_changes`, followed by `in_force`); a customer without one is not billed ("no plan").
- A plan is priced by `invoices.pricing` from its pure form (`pricing.Plan`: rates, tiers,
  allowance, minimum, fee), built once a plan instance and shared by every customer on it.
- A plan that `pricing.plan_problems` faults (one made outside the admin's forms: a script,
  the ORM) prices nothing: `plan_problems_of` gives the reasons that generation reports and
  approval refuses with.
- Billing periods are calendar months of UTC days: `previous_month` is what the 1st bills; a
  month is over (`month_is_over`) from the first day of the next.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import prefetch_related_objects
from django.utils import timezone

from customers.models import Customer

from .. import pricing
from ..cost_plus import CostPlus
from ..ladders import Ladder, Step
from ..models import CustomerPlan, PricePlan
from ..rate_cards import Entry, card_problems

__all__ = [
    "allowances_of",
    "card_of",
    "cost_rule_of",
    "in_force",
    "month_is_over",
    "plan_for",
    "plan_problems_of",
    "plans_for",
    "previous_month",
    "pricing_plan_of",
    "successors_in_force",
]


def previous_month(today: date | None = None) -> date:
    """The first day of the month before `today`'s (UTC)."""
    first = (today or timezone.now().date()).replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def month_is_over(period: date, today: date | None = None) -> bool:
    """Whether the month of `period` has ended (UTC): before that its draft is a preview."""
    return period.replace(day=1) < (today or timezone.now().date()).replace(day=1)


def plan_problems_of(plan: PricePlan) -> list[str]:
    """What makes the plan unfit to price (its fields, its tiers, its rate card), for
    finance."""
    problems = pricing.plan_problems(pricing_plan_of(plan))
    if plan.mode == PricePlan.Mode.RATE_CARD:
        card = card_of(plan)
        problems += card_problems(card) if card else ["Its rate card has no entries."]
    if plan.mode == PricePlan.Mode.COST_PLUS and plan.markup_percent < 0:
        problems.append(f"Its markup is negative ({plan.markup_percent} %).")
    return problems


def plan_for(customer: Customer, period: date) -> PricePlan | None:
    """The plan in force for the month: the latest assignment not after its first day (or
    the price change scheduled for its plan, in force by then)."""
    assignment = (
        CustomerPlan.objects.filter(customer=customer, effective_from__lte=period)
        .select_related("plan")
        .prefetch_related("plan__tiers", "plan__card_entries__steps")
        .order_by("-effective_from")
        .first()
    )
    return in_force(assignment.plan, period) if assignment else None


def plans_for(customers, period: date) -> dict[int, PricePlan]:
    """Each customer's plan in force for the month (the latest assignment not after it)."""
    assignments = (
        CustomerPlan.objects.filter(customer_id__in=customers, effective_from__lte=period)
        .order_by("customer_id", "-effective_from")
        .values_list("customer_id", "plan_id")
    )
    chosen: dict[int, int] = {}
    for customer_pk, plan_pk in assignments:
        chosen.setdefault(customer_pk, plan_pk)
    # One instance a plan, so its pricing form and fingerprint basis are built once.
    shared = PricePlan.objects.prefetch_related("tiers").in_bulk(set(chosen.values()))
    shared = successors_in_force(shared, period)  # no query unless a change is in force
    carded = [p for p in shared.values() if p.mode == PricePlan.Mode.RATE_CARD]
    prefetch_related_objects(carded, "card_entries__steps")  # no rate card: no query
    return {customer_pk: shared[plan_pk] for customer_pk, plan_pk in chosen.items()}


# A chain longer than this is a loop made outside these services (the ORM): it stops there.
MAX_CHAIN = 120


def in_force(plan: PricePlan, period: date) -> PricePlan:
    """The plan that prices `period` for the customers of `plan`: `plan`, or the scheduled
    change in force by then (a query a change followed; none without one)."""
    for _ in range(MAX_CHAIN):
        if not _replaced_by(plan, period):
            break
        plan = plan.replaced_by
    return plan


def successors_in_force(plans: dict[int, PricePlan], period: date) -> dict[int, PricePlan]:
    """For each plan by pk, the plan that prices `period` for its customers: a query for each
    step of the longest chain in force (none when no change is in force), tiers prefetched."""
    found, instances = dict(plans), {plan.pk: plan for plan in plans.values()}
    pending = {pk: plan for pk, plan in plans.items() if _replaced_by(plan, period)}
    for _ in range(MAX_CHAIN):
        if not pending:
            break
        missing = {plan.replaced_by_id for plan in pending.values()} - set(instances)
        if missing:  # one instance a plan, so its pricing form is built once
            instances |= PricePlan.objects.prefetch_related("tiers").in_bulk(missing)
        pending = {pk: instances[plan.replaced_by_id] for pk, plan in pending.items()}
        found.update(pending)
        pending = {pk: plan for pk, plan in pending.items() if _replaced_by(plan, period)}
    return found


def _replaced_by(plan: PricePlan, period: date) -> bool:
    return bool(plan.replaced_by_id and plan.replaced_from and plan.replaced_from <= period)


def pricing_plan_of(plan: PricePlan) -> pricing.Plan:
    """The plan's pure pricing form (what `pricing.price_usage` takes)."""
    # Many customers share a plan instance within a generation: build its pricing form once.
    cached = getattr(plan, "_pricing_plan", None)
    if cached is None:
        cached = plan._pricing_plan = _build_pricing_plan(plan)
    return cached


def _build_pricing_plan(plan: PricePlan) -> pricing.Plan:
    return pricing.Plan(
        currency=plan.currency,
        rate_per_hour=plan.rate_per_hour,
        method_rates={
            m: getattr(plan, f"rate_{m}")
            for m in ("sync", "async", "streaming")
            if getattr(plan, f"rate_{m}") is not None
        },
        tiers=tuple(pricing.Tier(t.up_to_hours, t.rate_per_hour) for t in plan.tiers.all()),
        included_hours=plan.included_hours,
        monthly_minimum=plan.monthly_minimum,
        platform_fee=plan.platform_fee,
        platform_fee_label=plan.platform_fee_label,
    )


def card_of(plan: PricePlan) -> tuple[Entry, ...]:
    """The plan's rate card in its pure form (what `rate_cards.price_rate_card` takes), in
    the order finance set. Built once a plan instance."""
    cached = getattr(plan, "_card", None)
    if cached is None:
        entries = plan.card_entries.all() if plan.mode == PricePlan.Mode.RATE_CARD else ()
        cached = plan._card = tuple(_entry_of(entry) for entry in entries)
    return cached


def _entry_of(entry) -> Entry:
    steps = tuple(Step(s.up_to, s.unit_price, s.flat) for s in entry.steps.all())
    ladder = Ladder(
        entry.ladder,
        unit_price=entry.unit_price,
        steps=steps,
        package_size=entry.package_size or Decimal(0),
    )
    return Entry(entry.name, entry.unit, ladder, entry.endpoint, entry.method, entry.model)


def cost_rule_of(plan: PricePlan) -> CostPlus:
    return CostPlus(
        markup_percent=plan.markup_percent,
        minimum_per_unit=plan.minimum_per_minute,
        unit="min",
        show_markup=plan.show_markup,
    )


def allowances_of(plan: PricePlan) -> dict[str, Decimal]:
    """The plan's included allowances by measure (`rate_cards.MEASURES`' allowances)."""
    return {
        "audio": plan.included_hours,
        "characters": Decimal(plan.included_characters),
        "agent": plan.included_agent_hours,
        "tokens": Decimal(plan.included_tokens),
    }
