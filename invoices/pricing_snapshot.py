"""A plan's pure pricing form as JSON, and back: what an issued invoice keeps of the plan that
priced it (its hourly rates and tiers, rate card or cost rule, allowances, minimum and fee), so
that re-pricing its month later uses that plan as it was, never today's. Pure: no database.

A snapshot taken before hourly plans were kept (rate cards and cost plus only) reads back
with no hourly rates: those modes never use them."""

from decimal import Decimal

from .cost_plus import CostPlus
from .ladders import Ladder, Step
from .pricing import Plan, Tier
from .rate_cards import Entry


def _d(value) -> str | None:
    return None if value is None else str(value)


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def snapshot_of(
    mode: str, plan: Plan, card: tuple[Entry, ...], rule: CostPlus, allowances: dict
) -> dict:
    return {
        "mode": mode,
        "currency": plan.currency,
        "rate_per_hour": _d(plan.rate_per_hour),
        "method_rates": {method: _d(rate) for method, rate in plan.method_rates.items()},
        "tiers": [[_d(t.up_to_hours), _d(t.rate_per_hour)] for t in plan.tiers],
        "included_hours": _d(plan.included_hours),
        "monthly_minimum": _d(plan.monthly_minimum),
        "platform_fee": _d(plan.platform_fee),
        "platform_fee_label": plan.platform_fee_label,
        "allowances": {name: _d(value) for name, value in allowances.items()},
        "cost_plus": {
            "markup_percent": _d(rule.markup_percent),
            "minimum_per_unit": _d(rule.minimum_per_unit),
            "unit": rule.unit,
            "show_markup": rule.show_markup,
        },
        "card": [
            {
                "name": e.name,
                "unit": e.unit,
                "endpoint": e.endpoint,
                "method": e.method,
                "model": e.model,
                "ladder": e.ladder.model,
                "unit_price": _d(e.ladder.unit_price),
                "package_size": _d(e.ladder.package_size),
                "steps": [[_d(s.up_to), _d(s.unit_price), _d(s.flat)] for s in e.ladder.steps],
            }
            for e in card
        ],
    }


def from_snapshot(data: dict) -> tuple[str, Plan, tuple[Entry, ...], CostPlus, dict]:
    plan = Plan(
        currency=data["currency"],
        rate_per_hour=Decimal(data.get("rate_per_hour", 0)),
        method_rates={m: Decimal(r) for m, r in data.get("method_rates", {}).items()},
        tiers=tuple(Tier(_dec(up_to), Decimal(rate)) for up_to, rate in data.get("tiers", [])),
        included_hours=Decimal(data.get("included_hours", 0)),
        monthly_minimum=Decimal(data["monthly_minimum"]),
        platform_fee=Decimal(data["platform_fee"]),
        platform_fee_label=data["platform_fee_label"],
    )
    cost = data["cost_plus"]
    rule = CostPlus(
        markup_percent=Decimal(cost["markup_percent"]),
        minimum_per_unit=_dec(cost["minimum_per_unit"]),
        unit=cost["unit"],
        show_markup=cost["show_markup"],
    )
    card = tuple(
        Entry(
            e["name"],
            e["unit"],
            Ladder(
                e["ladder"],
                unit_price=Decimal(e["unit_price"]),
                steps=tuple(Step(_dec(u), Decimal(p), Decimal(f)) for u, p, f in e["steps"]),
                package_size=Decimal(e["package_size"]),
            ),
            e["endpoint"],
            e["method"],
            e["model"],
        )
        for e in data["card"]
    )
    allowances = {name: Decimal(value) for name, value in data["allowances"].items()}
    return data["mode"], plan, card, rule, allowances
