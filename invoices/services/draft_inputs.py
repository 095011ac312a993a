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

from billing_portal.bulk import memory_to_group
from customers.models import ApiKey
from usage.models import DailyUsage
from usage.selectors import month_bounds
from usage.units import quantize_hours

from .. import pricing
from ..cost_plus import CostUsage
from ..models import BillingTerms, Invoice, InvoiceLine, PricePlan
from ..rate_cards import LineUsage
from .adjustments import UsageDelta, pending_deltas
from .fx import Rate
from .line_inputs import LineInputs, line_inputs_of
from .plans import plans_for
from .repricing import Repriced, pending_repricing
from .usage_rows import BILLED_METHOD, summed_per_method

__all__ = ["DraftInputs", "MonthInputs", "inputs_for_draft", "manual_lines_of", "read_month"]


ZERO = Decimal(0)


@dataclass
class DraftInputs:
    """Everything a draft is computed from."""

    plan: PricePlan
    usage: list[pricing.Usage]
    terms: BillingTerms | None
    deltas: list[UsageDelta]
    manual: list[InvoiceLine]
    line_usage: list[LineUsage] = field(default_factory=list)  # rate-card plans
    costs: list[CostUsage] = field(default_factory=list)  # cost-plus plans
    rate: Rate | None = None  # cost-plus plans: the month's exchange rate
    repriced: list[pricing.Line] = field(default_factory=list)  # earlier line-item months
    repricing_blockers: list[str] = field(default_factory=list)


@dataclass
class MonthInputs:
    """What a generation reads once, before its batches: plans, usage and tax terms, and
    whether any month before it was invoiced (else there is nothing to adjust)."""

    period: date
    plans: dict[int, PricePlan]
    usage: dict[int, list[pricing.Usage]]
    terms: dict[int, BillingTerms]
    billed_before: bool
    invoiced: set[int]  # customers with a live invoice for the month when it was read
    lines: LineInputs = field(default_factory=LineInputs)

    def inputs_for(
        self, customer_pk: int, deltas=(), manual=(), repriced: Repriced | None = None
    ) -> DraftInputs:
        """One customer's draft inputs out of the month's."""
        repriced = repriced or Repriced()
        plan = self.plans[customer_pk]
        return DraftInputs(
            plan=plan,
            usage=self.usage.get(customer_pk, []),
            terms=self.terms.get(customer_pk),
            deltas=list(deltas),
            manual=list(manual),
            line_usage=self.lines.usage.get(customer_pk, []),
            costs=self.lines.costs.get(customer_pk, []),
            rate=self.lines.rate_for(plan),
            repriced=repriced.lines,
            repricing_blockers=repriced.blockers,
        )


def read_month(period: date, customers, *, everyone: bool = False) -> MonthInputs:
    """Plans, usage and terms of `customers` (pks, or a subquery) in a few queries, in no
    transaction: a draft computed from inputs that change meanwhile is refused at approval
    (its fingerprint no longer matches) and refreshed after the next sync."""
    plans = plans_for(customers, period)
    return MonthInputs(
        period=period,
        plans=plans,
        usage=usage_of(plans, period, everyone=everyone),
        terms={t.customer_id: t for t in BillingTerms.objects.filter(customer_id__in=customers)},
        billed_before=Invoice.objects.issued_invoices().filter(period__lt=period).exists(),
        invoiced=set(
            Invoice.objects.live_invoices()
            .filter(customer_id__in=customers, period=period)
            .values_list("customer_id", flat=True)
        ),
        lines=line_inputs_of(plans, period),
    )


def usage_of(
    plans: dict[int, PricePlan], period: date, *, everyone: bool = False
) -> dict[int, list[pricing.Usage]]:
    """The month's usage of the customers in `plans`, in each plan's quantity: summed per key
    and method by the database, then labelled and grouped by customer from the keys. With
    `everyone`, the whole month is summed and the keys of customers without a plan dropped:
    cheaper than naming thousands of customers."""
    if not plans:
        return {}
    first, last = month_bounds(period)
    keys, rows = ApiKey.objects.all(), DailyUsage.objects.filter(day__range=(first, last))
    if not everyone:
        keys = keys.filter(customer_id__in=plans)
        rows = rows.filter(api_key__customer_id__in=plans)
    keys = list(keys.values_list("pk", "customer_id", "key_id"))
    owners = {
        key_pk: (customer_pk, label) for key_pk, customer_pk, label in keys if customer_pk in plans
    }
    quantities = sorted({plan.billed_quantity for plan in plans.values()})
    sums = [f"sum_{quantity}" for quantity in quantities]
    rows = summed_per_method(rows, "api_key_id").values_list("api_key_id", BILLED_METHOD, *sums)
    with memory_to_group(len(keys)):
        rows = list(rows)
    usage = defaultdict(list)
    for key_pk, method, *summed in rows:
        if key_pk not in owners:
            continue
        customer_pk, label = owners[key_pk]
        quantity = summed[quantities.index(plans[customer_pk].billed_quantity)]
        usage[customer_pk].append(
            pricing.Usage(key_pk, label, method, quantize_hours(quantity or ZERO))
        )
    for items in usage.values():
        items.sort(key=_by_key_and_method)
    return usage


def _by_key_and_method(usage: pricing.Usage):
    return usage.key_pk, usage.method


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
    first, _ = month_bounds(invoice.period)
    deltas = pending_deltas([invoice.customer_id], before=first)
    lines = line_inputs_of({invoice.customer_id: plan}, invoice.period)
    repriced = pending_repricing(
        [invoice.customer_id], before=first, currencies={invoice.customer_id: plan.currency}
    ).get(invoice.customer_id, Repriced())
    return DraftInputs(
        plan=plan,
        usage=usage,
        terms=BillingTerms.objects.filter(customer_id=invoice.customer_id).first(),
        deltas=deltas.get(invoice.customer_id, []),
        manual=list(invoice.lines.filter(kind=InvoiceLine.Kind.MANUAL)),
        line_usage=lines.usage.get(invoice.customer_id, []),
        costs=lines.costs.get(invoice.customer_id, []),
        rate=lines.rate_for(plan),
        repriced=repriced.lines,
        repricing_blockers=repriced.blockers,
    )
