"""Price changes scheduled ahead: new prices for every customer of a plan from the first day of
a coming month, set up and edited before the month comes.

Rules:
- Scheduling copies the plan (its fields, tiers, rate card entries and their steps) as a new
  plan named "<name> from <Month YYYY>". The plan keeps pricing the months before; from that
  month on its customers are priced by the copy (`plans.in_force`), whatever their
  assignment says.
- The month must come after the current UTC month, so that nothing billed, drafted or
  estimated changes when a change is scheduled, edited or cancelled.
- A plan has at most one scheduled change; the copy may be given its own, for a later month
  (a chain, followed in month order).
- Cancelling deletes the copy, which only a copy that has billed nothing allows (its versions
  and assignments protect it); once it billed a month it is a plan like any other.
"""

from datetime import date

from django.db import transaction
from django.utils import timezone

from ..exceptions import InvoicesError
from ..models import PricePlan, PriceTier, RateCardEntry, RateCardStep

__all__ = ["cancel_price_change", "schedule_price_change"]


@transaction.atomic
def schedule_price_change(plan: PricePlan, month: date, *, today: date | None = None) -> PricePlan:
    """Copy `plan` as its customers' plan from `month` (a first day) on; the copy is for
    finance to edit before then."""
    given, plan = plan, PricePlan.objects.select_for_update().get(pk=plan.pk)
    this_month = (today or timezone.now().date()).replace(day=1)
    if month.day != 1:
        raise InvoicesError("A price change starts on the first day of a month.")
    if month <= this_month:
        raise InvoicesError(
            f"A price change is scheduled for a coming month (after {this_month:%B %Y}): "
            "to change this month's prices, edit the plan itself; its drafts follow."
        )
    if plan.replaced_by_id:
        raise InvoicesError(
            f"{plan.name} already changes on {plan.replaced_from:%-d %B %Y} (to "
            f"{plan.replaced_by.name}): edit that plan, or cancel the change first."
        )
    since = getattr(getattr(plan, "replaces", None), "replaced_from", None)
    if since and month <= since:
        raise InvoicesError(
            f"{plan.name} itself starts in {since:%B %Y}: its change must come later."
        )
    name = f"{plan.name} from {month:%B %Y}"[: PricePlan._meta.get_field("name").max_length]
    if PricePlan.objects.filter(name=name).exists():
        raise InvoicesError(f"A plan named {name!r} exists already: rename it first.")
    copy = _copy(plan, name)
    for instance in (plan, given):  # so that the caller's instance saved later keeps it
        instance.replaced_by, instance.replaced_from = copy, month
    # Not `save()`: the plan's own prices did not change, so its drafts are not stale.
    PricePlan.objects.filter(pk=plan.pk).update(replaced_by=copy, replaced_from=month)
    return copy


@transaction.atomic
def cancel_price_change(plan: PricePlan) -> str:
    """Cancel the change scheduled for `plan`'s customers: its copy is deleted. Returns the
    copy's name."""
    given, plan = plan, PricePlan.objects.select_for_update().get(pk=plan.pk)
    copy = plan.replaced_by
    if copy is None:
        raise InvoicesError(f"{plan.name} has no scheduled price change.")
    if copy.replaced_by_id:
        raise InvoicesError(
            f"{copy.name} has a change of its own scheduled: cancel that one first."
        )
    if copy.versions.exists() or copy.assignments.exists():
        raise InvoicesError(
            f"{copy.name} has billed a month or is assigned to a customer: it is kept."
        )
    name = copy.name
    PricePlan.objects.filter(pk=plan.pk).update(replaced_by=None, replaced_from=None)
    given.replaced_by, given.replaced_from = None, None
    copy.delete()
    return name


def _copy(plan: PricePlan, name: str) -> PricePlan:
    excluded = {"id", "name", "replaced_by", "replaced_from", "updated_at"}
    fields = {
        f.attname: getattr(plan, f.attname)
        for f in PricePlan._meta.concrete_fields
        if f.name not in excluded
    }
    copy = PricePlan.objects.create(name=name, **fields)
    PriceTier.objects.bulk_create(
        PriceTier(plan=copy, up_to_hours=t.up_to_hours, rate_per_hour=t.rate_per_hour)
        for t in plan.tiers.all()
    )
    entry_fields = [
        f.attname
        for f in RateCardEntry._meta.concrete_fields
        if f.name not in {"id", "plan", "updated_at"}
    ]
    for entry in plan.card_entries.prefetch_related("steps"):
        twin = RateCardEntry.objects.create(
            plan=copy, **{name: getattr(entry, name) for name in entry_fields}
        )
        RateCardStep.objects.bulk_create(
            RateCardStep(entry=twin, up_to=s.up_to, unit_price=s.unit_price, flat=s.flat)
            for s in entry.steps.all()
        )
    return copy
