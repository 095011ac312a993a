"""Reads of the invoices app: what the admin shows before finance acts, and the export."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet, Sum

from billing_portal.csv_cells import text_cell
from customers.models import country_problem, currency_fault

from .models import BillingTerms, Invoice, InvoiceLine
from .money import currency_problem
from .services.fingerprint import invoice_is_stale
from .services.plans import month_is_over, plan_for, plan_problems_of

ZERO = Decimal(0)
EXPORTED_STATUSES = [Invoice.Status.ISSUED, Invoice.Status.PAID, Invoice.Status.VOID]
EXPORT_COLUMNS = [
    "number",
    "kind",
    "customer",
    "period",
    "issued_on",
    "due_on",
    "status",
    "currency",
    "subtotal",
    "tax",
    "total",
    "credits",
]


@dataclass
class ApprovalPreview:
    """The selected invoices sorted by what approving them would do."""

    ready: list[Invoice] = field(default_factory=list)
    blocked: list[tuple[Invoice, list[str]]] = field(default_factory=list)  # with the reasons
    stale: list[Invoice] = field(default_factory=list)
    needs_other_approver: list[Invoice] = field(default_factory=list)
    not_drafts: list[Invoice] = field(default_factory=list)

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        """(currency, total) of the ready drafts, by currency."""
        sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for invoice in self.ready:
            sums[invoice.currency] += invoice.total
        return sorted(sums.items())


def approval_blockers(invoice: Invoice) -> list[str]:
    """What refuses a draft's approval whatever its state of review, in words for finance
    (empty: nothing): its month is not over (a preview), its customer has no billing terms,
    its plan is invalid, its buyer's country or its currency is no ISO code, its pricing left
    something unpriced (usage no rate card entry prices, no exchange rate), its total is below
    zero. `invoice_approve` refuses on the first; the admin shows them all beforehand."""
    blockers = []
    if not month_is_over(invoice.period):
        blockers.append(
            f"{invoice.period:%B %Y} is not over yet: its draft is a preview and can be "
            "approved from the first day of the next month."
        )
    customer = invoice.customer
    if not BillingTerms.objects.filter(customer=customer).exists():
        blockers.append(
            f"{customer} has no billing terms (tax rate, payment terms): add them under "
            "Billing terms, then refresh the draft."
        )
    plan = plan_for(customer, invoice.period)
    problems = plan_problems_of(plan) if plan else ["there is none for the month."]
    if problems:
        blockers.append(f"Its price plan is invalid: {' '.join(problems)}")
    elif currency_problem(invoice.currency):
        blockers.append(f"Its currency: {currency_problem(invoice.currency)}")
    faults = [country_problem(customer.country), currency_fault(customer.currency)]
    if any(faults):
        blockers.append(
            f"{customer}'s billing details: {' '.join(f for f in faults if f)} Correct them "
            "in the customer's billing details."
        )
    blockers += [str(blocker) for blocker in invoice.pricing_blockers or ()]
    if invoice.total < 0:
        own = invoice.lines.exclude(kind=InvoiceLine.Kind.ADJUSTMENT).aggregate(s=Sum("amount"))
        if (own["s"] or 0) < 0:  # late credits alone are issued as a credit note
            blockers.append(
                f"Its total is {invoice.total} {invoice.currency}, below zero, and still "
                "below zero without its late credits: an invoice is never negative; give "
                "the customer a credit note instead."
            )
    return blockers


def needing_other_approver(invoices, user) -> set[int]:
    """The ids of the drafts among `invoices` (a queryset or instances) that `user` may not
    approve under the four-eyes rule (`BILLING_FOUR_EYES`): they added manual lines to them.
    One query; none with the rule off."""
    if not settings.BILLING_FOUR_EYES:
        return set()
    return set(
        InvoiceLine.objects.filter(
            invoice__in=invoices, kind=InvoiceLine.Kind.MANUAL, added_by=user
        ).values_list("invoice_id", flat=True)
    )


def needs_other_approver(invoice: Invoice, user) -> bool:
    """Whether the four-eyes rule keeps `user` from approving this draft."""
    return invoice.pk in needing_other_approver([invoice], user)


def approval_preview(invoices: QuerySet, *, user) -> ApprovalPreview:
    """Sort the selected invoices into drafts that can be issued, drafts that cannot be
    approved (`approval_blockers`, with the reasons), stale drafts, drafts the user may not
    approve under the four-eyes rule (they added manual lines), and invoices that are not
    drafts."""
    preview = ApprovalPreview()
    rows = invoices.select_related("customer").order_by("customer__name", "period", "pk")
    own_manual = needing_other_approver(invoices, user)
    for invoice in rows:
        if not invoice.is_draft:
            preview.not_drafts.append(invoice)
        elif blockers := approval_blockers(invoice):
            preview.blocked.append((invoice, blockers))
        elif invoice_is_stale(invoice=invoice):
            preview.stale.append(invoice)
        elif invoice.pk in own_manual:
            preview.needs_other_approver.append(invoice)
        else:
            preview.ready.append(invoice)
    return preview


def export_rows(period: date) -> list[list[str]]:
    """Issued, paid and void invoices and the credit notes of a billing month (invoices first,
    each by number) as CSV rows (see `EXPORT_COLUMNS`). The customer is the buyer name printed
    on the document; a credit note names the invoice it credits."""
    documents = (
        Invoice.objects.filter(period=period.replace(day=1), status__in=EXPORTED_STATUSES)
        .select_related("customer", "credits")
        .order_by("-kind", "number")
    )
    return [
        [
            doc.number,
            doc.kind,
            text_cell(doc.buyer.get("name") or doc.customer.name),
            f"{doc.period:%Y-%m}",
            _iso(doc.issued_on),
            _iso(doc.due_on),
            doc.status,
            doc.currency,
            str(doc.subtotal),
            str(doc.tax),
            str(doc.total),
            doc.credits.number if doc.credits else "",
        ]
        for doc in documents
    ]


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
