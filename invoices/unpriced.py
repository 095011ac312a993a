"""Usage no rate card prices, across every customer of a month: what finance prices once (an
entry on the plan) instead of draft by draft. Reads only."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from customers.models import Customer

from .models import PricePlan
from .rate_cards import unpriced_of
from .services.line_inputs import line_inputs_of
from .services.plans import card_of, plans_for


@dataclass
class UnpricedGroup:
    plan: PricePlan
    endpoint: str
    method: str
    model: str
    measure: str
    customers: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)


def unpriced_usage(period: date) -> list[UnpricedGroup]:
    """By plan and (endpoint, method, model, measure): the customers and keys whose usage of
    the month no entry of their rate card prices."""
    plans = {
        customer: plan
        for customer, plan in plans_for(Customer.objects.values("pk"), period).items()
        if plan.mode == PricePlan.Mode.RATE_CARD
    }
    usage = line_inputs_of(plans, period).usage
    names = dict(Customer.objects.filter(pk__in=usage).values_list("pk", "name"))
    groups: dict[tuple, UnpricedGroup] = {}
    for customer_pk, rows in usage.items():
        plan = plans[customer_pk]
        for item in unpriced_of(card_of(plan), rows):
            where = (plan.pk, item.endpoint, item.method, item.model, item.measure)
            group = groups.get(where) or groups.setdefault(where, UnpricedGroup(plan, *where[1:]))
            group.customers.add(names[customer_pk])
            group.keys.add(item.key_label)
    ordered = defaultdict(list)
    for group in groups.values():
        ordered[group.plan.name].append(group)
    return [g for name in sorted(ordered) for g in sorted(ordered[name], key=_by_dimensions)]


def _by_dimensions(group: UnpricedGroup):
    return group.endpoint, group.method, group.model, group.measure
