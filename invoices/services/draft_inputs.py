"""What a draft is computed from: the customer's plan for the month, the month's stored usage
per key and method in the plan's billed quantity (hours or total hours), the tax terms, the
late-usage differences left to adjust and the draft's manual lines.

Rules:
- Usage is summed per key and method by the database and rounded to the stored 6 decimals;
  a customer's usage is ordered by key and method, so the same usage gives the same lines.
- Inputs are read in no transaction: a draft computed from inputs that change meanwhile is
  refused at approval (its fingerprint no longer matches) and refreshed after the next sync.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q

from .. import pricing
from ..cost_plus import CostUsage
from ..models import BillingTerms, Invoice, InvoiceLine, PricePlan
from ..rate_cards import LineUsage
from .fx import Rate
from .line_inputs import LineInputs, line_inputs_of
from .month_usage import usage_of
from .plans import plans_for
from .repricing import Repriced, pending_repricing

__all__ = ["DraftInputs", "MonthInputs", "inputs_for_draft", "manual_lines_of", "read_month"]


ZERO = Decimal(0)


@dataclass
class DraftInputs:
    """Everything a draft is computed from."""

    plan: PricePlan
    usage: list[pricing.Usage]
    terms: BillingTerms | None
    manual: list[InvoiceLine]
    line_usage: list[LineUsage] = field(default_factory=list)  # rate-card plans
    costs: list[CostUsage] = field(default_factory=list)  # cost-plus plans
    rate: Rate | None = None  # cost-plus plans: the month's exchange rate
    repriced: list[pricing.Line] = field(default_factory=list)  # earlier months' changes


@dataclass
class MonthInputs:
    """What a generation reads once, before its batches: plans, usage and tax terms, and
    whether any month before it was invoiced or the month itself voided (else there is
    nothing to adjust)."""

    period: date
    plans: dict[int, PricePlan]
    usage: dict[int, list[pricing.Usage]]
    terms: dict[int, BillingTerms]
    billed_before: bool
    invoiced: set[int]  # customers with a live invoice for the month when it was read
    lines: LineInputs = field(default_factory=LineInputs)
    adjusting: set[int] = field(default_factory=set)  # with late adjustments in another currency

    def inputs_for(
        self, customer_pk: int, manual=(), repriced: Repriced | None = None
    ) -> DraftInputs:
        """One customer's draft inputs out of the month's."""
        repriced = repriced or Repriced()
        plan = self.plans[customer_pk]
        return DraftInputs(
            plan=plan,
            usage=self.usage.get(customer_pk, []),
            terms=self.terms.get(customer_pk),
            manual=list(manual),
            line_usage=self.lines.usage.get(customer_pk, []),
            costs=self.lines.costs.get(customer_pk, []),
            rate=self.lines.rate_for(plan),
            repriced=repriced.lines,
        )


def read_month(period: date, customers, *, everyone: bool = False) -> MonthInputs:
    """Plans, usage and terms of `customers` (pks, or a subquery) in a few queries, in no
    transaction: a draft computed from inputs that change meanwhile is refused at approval
    (its fingerprint no longer matches) and refreshed after the next sync."""
    plans = plans_for(customers, period)
    billed_before = Invoice.objects.filter(
        Q(period__lt=period, status__in=[Invoice.Status.ISSUED, Invoice.Status.PAID])
        | Q(period=period, status=Invoice.Status.VOID)
    ).exists()
    return MonthInputs(
        period=period,
        plans=plans,
        usage=usage_of(plans, period, everyone=everyone),
        terms={t.customer_id: t for t in BillingTerms.objects.filter(customer_id__in=customers)},
        billed_before=billed_before,
        adjusting=set(
            Invoice.objects.filter(
                kind=Invoice.Kind.INVOICE,
                adjusts_only=True,
                status=Invoice.Status.DRAFT,
                customer_id__in=customers,
                period=period,
            ).values_list("customer_id", flat=True)
        )
        if billed_before
        else set(),
        invoiced=set(
            Invoice.objects.live_invoices()
            .filter(customer_id__in=customers, period=period)
            .values_list("customer_id", flat=True)
        ),
        lines=line_inputs_of(plans, period),
    )


def manual_lines_of(drafts: list[Invoice]) -> dict[int, list[InvoiceLine]]:
    """The manual lines of some drafts, by draft id, in their order."""
    manual = defaultdict(list)
    if drafts:
        for line in InvoiceLine.objects.filter(invoice__in=drafts, kind=InvoiceLine.Kind.MANUAL):
            manual[line.invoice_id].append(line)
    return manual


def inputs_for_draft(invoice: Invoice, plan: PricePlan) -> DraftInputs:
    """One draft's inputs, read afresh (the approval's staleness check)."""
    usage = usage_of({invoice.customer_id: plan}, invoice.period).get(invoice.customer_id, [])
    lines = line_inputs_of({invoice.customer_id: plan}, invoice.period)
    repriced = pending_repricing(
        [invoice.customer_id],
        period=invoice.period,
        currencies={invoice.customer_id: plan.currency},
    ).get(invoice.customer_id, Repriced())
    return DraftInputs(
        plan=plan,
        usage=usage,
        terms=BillingTerms.objects.filter(customer_id=invoice.customer_id).first(),
        manual=list(invoice.lines.filter(kind=InvoiceLine.Kind.MANUAL)),
        line_usage=lines.usage.get(invoice.customer_id, []),
        costs=lines.costs.get(invoice.customer_id, []),
        rate=lines.rate_for(plan),
        repriced=repriced.lines,
    )
