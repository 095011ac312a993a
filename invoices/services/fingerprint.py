"""What a draft was computed from, and whether it is stale.

Rules:
- A draft's fingerprint is a SHA-256 over everything its lines and totals follow from: the
  plan (its id, last change, billed quantity, mode, tiers and rate card entries with their
  tiers), the tax rate and note, the month's usage per key and method (and, for the line-item
  modes, per key and line item, and Deepgram's cost), the exchange rate, the adjustments and
  the manual lines.
- A draft whose fingerprint still matches its inputs is not priced again (a refresh leaves it
  as it is); one that no longer matches is stale: approval refuses it until it is refreshed.
- Cheap next to pricing, so an unchanged draft is recognised before it is priced.
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from .. import pricing
from ..models import BillingTerms, Invoice, InvoiceLine, PricePlan
from .draft_inputs import DraftInputs, inputs_for_draft
from .plans import plan_for
from .repricing import Repriced, pending_repricing

__all__ = [
    "DraftBasis",
    "adjustments_fingerprint",
    "current_fingerprint",
    "current_inputs",
    "draft_basis",
    "invoice_is_stale",
    "plan_fingerprint_basis",
    "tax_terms",
]

ZERO = Decimal(0)


@dataclass
class DraftBasis:
    """A draft's tax terms and adjustment lines, and the fingerprint of all its inputs."""

    tax_rate: Decimal
    tax_note: str
    adjustments: list[pricing.Line]
    fingerprint: str


def draft_basis(inputs: DraftInputs) -> DraftBasis:
    """What a draft's fingerprint covers: the plan (its id, last change and tiers), the tax
    terms, the month's usage per key and method, the adjustments and the manual lines. Cheap
    next to pricing, so an unchanged draft is recognised before it is priced."""
    plan = inputs.plan
    adjustments = inputs.repriced
    tax_rate, tax_note = tax_terms(inputs.terms)
    plan_head, plan_tiers = plan_fingerprint_basis(plan)
    basis = [
        *plan_head,
        str(tax_rate),
        tax_note,
        *plan_tiers,
        *(f"{u.key_pk}/{u.method}/{u.quantity}" for u in inputs.usage),
        *(f"{a.key_pk}/{a.method}/{a.quantity}/{a.unit_price}/{a.amount}/{a.corrects}"
          for a in adjustments),
        *(f"m/{m.pk}/{m.amount}" for m in inputs.manual),
        *(f"l/{u.key_pk}/{u.endpoint}/{u.method}/{u.model}/{'/'.join(map(str, u[5:]))}"
          for u in inputs.line_usage),
        *(f"c/{c.key_pk}/{c.line_item}/{c.dollars}/{c.quantity}"
          + (f"/{c.measures}" if c.measures else "") for c in inputs.costs),
        *((f"fx/{inputs.rate.per_usd}/{inputs.rate.day}",) if inputs.rate else ()),
    ]  # fmt: skip
    fingerprint = hashlib.sha256("|".join(map(str, basis)).encode()).hexdigest()
    return DraftBasis(tax_rate, tax_note, adjustments, fingerprint)


def tax_terms(terms: BillingTerms | None) -> tuple[Decimal, str]:
    """The tax rate and note of a draft under `terms` (0 and the note under reverse charge;
    0 without terms, which approval refuses anyway)."""
    reverse = bool(terms and terms.reverse_charge)
    tax_rate = ZERO if reverse or terms is None else terms.tax_rate
    return tax_rate, terms.reverse_charge_note if reverse else ""


def adjustments_fingerprint(lines: list[pricing.Line], terms, manual) -> str:
    """The fingerprint of a draft of late adjustments only (`adjusts_only`): its lines (as
    described: the days they name), its tax terms and its manual lines."""
    tax_rate, tax_note = tax_terms(terms)
    basis = [
        "adjusts-only",
        str(tax_rate),
        tax_note,
        *(f"{a.key_pk}/{a.method}/{a.quantity}/{a.unit_price}/{a.amount}/{a.corrects}/"
          f"{a.description}" for a in lines),
        *(f"m/{m.pk}/{m.amount}" for m in manual),
    ]  # fmt: skip
    return hashlib.sha256("|".join(basis).encode()).hexdigest()


def plan_fingerprint_basis(plan: PricePlan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the fingerprint takes of a plan: its head (id, last change, billed quantity) and
    its tiers. Built once a plan instance, like its pricing form."""
    cached = getattr(plan, "_fingerprint_basis", None)
    if cached is None:
        # A plan's mode and fields change its `updated_at`; a rate card's entries and tiers
        # are rows of their own. An hourly plan's basis is what it always was, so no draft
        # made before rate cards turns stale.
        entries = plan.card_entries.all() if plan.mode == PricePlan.Mode.RATE_CARD else ()
        cached = plan._fingerprint_basis = (
            (str(plan.pk), plan.updated_at.isoformat(), plan.billed_quantity),
            (
                *(f"t/{t.up_to_hours}/{t.rate_per_hour}" for t in plan.tiers.all()),
                *(
                    f"e/{e.pk}/{e.position}/{e.updated_at.isoformat()}/"
                    + ",".join(f"{s.up_to}:{s.unit_price}:{s.flat}" for s in e.steps.all())
                    for e in entries
                ),
            ),
        )
    return cached


def current_inputs(invoice: Invoice) -> DraftInputs | None:
    """A draft's inputs as they are now, read afresh; None when no plan covers its month."""
    plan = plan_for(invoice.customer, invoice.period)
    return None if plan is None else inputs_for_draft(invoice, plan)


def current_fingerprint(invoice: Invoice) -> str | None:
    """The fingerprint of a draft's inputs as they are now, read afresh (None: no plan
    covers its month)."""
    if invoice.adjusts_only:
        plan = plan_for(invoice.customer, invoice.period)
        repriced = pending_repricing(
            [invoice.customer_id],
            period=invoice.period,
            currencies={invoice.customer_id: plan.currency if plan else None},
        ).get(invoice.customer_id, Repriced())
        return adjustments_fingerprint(
            repriced.elsewhere.get(invoice.currency, []),
            BillingTerms.objects.filter(customer_id=invoice.customer_id).first(),
            list(invoice.lines.filter(kind=InvoiceLine.Kind.MANUAL)),
        )
    inputs = current_inputs(invoice)
    return None if inputs is None else draft_basis(inputs).fingerprint


def invoice_is_stale(*, invoice: Invoice) -> bool:
    """Whether a draft no longer matches its inputs (usage, prices, terms): approving it
    would be refused. Reads only."""
    if not invoice.is_draft:
        return False
    fingerprint = current_fingerprint(invoice)
    return fingerprint is None or fingerprint != invoice.usage_fingerprint
