"""How a draft is priced: its inputs through the plan's pricing (`invoices.pricing`), its
adjustment lines after the usage, and its totals.

Rules:
- Pricing is pure: the same inputs give the same lines, notes and fingerprint.
- Amounts are rounded once per line (in `pricing`); the subtotal is the sum of the computed
  and the manual lines; tax is taken once, on the subtotal, at the terms' rate (0 under
  reverse charge, with its note).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .. import pricing
from ..line_pricing import price_line_items
from ..models import InvoiceLine, PricePlan
from ..pricing_snapshot import snapshot_of
from .draft_inputs import DraftInputs
from .fingerprint import DraftBasis, draft_basis
from .fx import Rate
from .plans import allowances_of, card_of, cost_rule_of, pricing_plan_of

__all__ = ["DRAFT_TOTALS_FIELDS", "PricedDraft", "draft_totals", "price_draft", "price_on_basis"]

ZERO = Decimal(0)


@dataclass
class PricedDraft:
    """A priced draft: its computed lines (usage, fees, adjustments) and what its totals and
    its approval need."""

    lines: list[pricing.Line]
    notes: list[str]
    tax_rate: Decimal
    tax_note: str
    fingerprint: str
    manual: list[InvoiceLine]
    blockers: list[str] = field(default_factory=list)  # what pricing could not do
    rate: Rate | None = None  # the exchange rate Deepgram's cost was converted at


def price_draft(inputs: DraftInputs, period: date) -> PricedDraft:
    """Price a draft from its inputs. Pure: the same inputs give the same lines and
    fingerprint, which is how a stale draft is recognised."""
    return price_on_basis(inputs, draft_basis(inputs), period)


def price_on_basis(inputs: DraftInputs, basis: DraftBasis, period: date) -> PricedDraft:
    """`price_draft` with the basis already taken (a generation takes it first, to skip the
    drafts that did not change)."""
    lines, notes, blockers, rate = _priced_usage(inputs, f"{period:%B %Y}")
    return PricedDraft(
        lines + basis.adjustments,
        notes,
        basis.tax_rate,
        basis.tax_note,
        basis.fingerprint,
        inputs.manual,
        blockers,
        rate,
    )


def _priced_usage(inputs: DraftInputs, month: str):
    """The usage lines in the plan's mode, its notes, what blocks them, the rate used."""
    plan, pure = inputs.plan, pricing_plan_of(inputs.plan)
    if plan.mode == PricePlan.Mode.HOURLY:
        lines, notes = pricing.price_usage(pure, inputs.usage, month)
        return lines, notes, [], None
    return price_line_items(
        plan.mode,
        pure,
        card_of(plan),
        cost_rule_of(plan),
        allowances_of(plan),
        inputs.line_usage,
        inputs.costs,
        inputs.rate,
        month,
    )


def draft_totals(plan: PricePlan, priced: PricedDraft, now) -> dict:
    """A draft's computed fields. Totals are sums of the stored lines; tax once, on the
    subtotal."""
    subtotal = sum((line.amount for line in priced.lines), ZERO) + sum(
        (m.amount for m in priced.manual), ZERO
    )
    tax = pricing.tax_of(subtotal, priced.tax_rate, plan.currency)
    return {
        "currency": plan.currency,
        "billed_quantity": plan.billed_quantity,
        "subtotal": subtotal,
        "tax_rate": priced.tax_rate,
        "tax": tax,
        "total": subtotal + tax,
        "tax_note": priced.tax_note,
        "pricing_notes": priced.notes,
        "pricing_blockers": priced.blockers,
        "pricing_mode": plan.mode,
        "pricing_snapshot": _snapshot(plan),
        "fx_rate": priced.rate.per_usd if priced.rate and priced.rate.day else None,
        "fx_rate_day": priced.rate.day if priced.rate else None,
        "usage_fingerprint": priced.fingerprint,
        "computed_at": now,
    }


def _snapshot(plan: PricePlan) -> dict:
    """The plan's pricing form as an invoice keeps it: built once a plan instance (many
    customers share one in a generation; never changed once built)."""
    cached = getattr(plan, "_snapshot", None)
    if cached is None:
        cached = plan._snapshot = snapshot_of(
            plan.mode, pricing_plan_of(plan), card_of(plan), cost_rule_of(plan), allowances_of(plan)
        )
    return cached


DRAFT_TOTALS_FIELDS = [  # what `draft_totals` sets
    "currency",
    "billed_quantity",
    "subtotal",
    "tax_rate",
    "tax",
    "total",
    "tax_note",
    "pricing_notes",
    "pricing_blockers",
    "pricing_mode",
    "pricing_snapshot",
    "fx_rate",
    "fx_rate_day",
    "usage_fingerprint",
    "computed_at",
]
