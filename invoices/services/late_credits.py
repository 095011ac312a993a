"""A draft whose late credits take its total below zero is never issued as a negative
invoice: its adjustment lines are issued as a credit note instead.

Rules:
- At approval, a draft whose total is below zero gives its adjustment lines (what earlier
  months' re-pricing credits) to a credit note of its own number series, taxed at the
  draft's rate, crediting the newest invoice those lines correct. Everything else (the
  month's own usage, fees and manual lines) stays on the draft and is issued as an invoice;
  a draft left with nothing becomes the credit note itself, so no empty invoice is issued.
- What is left must not be below zero (`selectors.approval_blockers` refuses it before).
- The credit note's lines still name the month and invoice they correct, so re-pricing
  counts them as billed for that month (`repricing.billed_lines`): billed once.
"""

from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from .. import pricing
from ..models import Invoice, InvoiceEvent, InvoiceLine
from .numbering import next_number
from .snapshots import buyer_snapshot, seller_snapshot

__all__ = ["issue_late_credits"]

ZERO = Decimal(0)
_NOTE_FIELDS = [
    "kind",
    "credits",
    "number",
    "status",
    "issued_on",
    "due_on",
    "approved_at",
    "approved_by",
    "seller",
    "buyer",
    "subtotal",
    "tax",
    "total",
    "pricing_notes",
]


def issue_late_credits(invoice: Invoice, actor) -> tuple[Invoice, Invoice | None]:
    """For a locked draft whose total is below zero: issue its adjustment lines as a credit
    note. Returns (the credit note, the draft left to issue as an invoice, or None when
    nothing was left on it)."""
    adjustments = invoice.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT)
    credited = (
        Invoice.objects.filter(pk__in=adjustments.values("corrects"))
        .order_by("-approved_at", "-pk")
        .first()
    )
    rest = invoice.lines.exclude(kind=InvoiceLine.Kind.ADJUSTMENT)
    if rest.exists():
        note = Invoice.objects.create(
            customer=invoice.customer,
            kind=Invoice.Kind.CREDIT_NOTE,
            period=invoice.period,
            currency=invoice.currency,
            billed_quantity=invoice.billed_quantity,
            tax_rate=invoice.tax_rate,
            tax_note=invoice.tax_note,
            pricing_mode=invoice.pricing_mode,
        )
        adjustments.update(invoice=note)
        _retotal(invoice, invoice.lines.all())
        invoice.save(update_fields=["subtotal", "tax", "total"])
        left = invoice
    else:
        note, left = invoice, None
    _issue_note(note, credited, actor)
    return note, left


def _retotal(document: Invoice, lines) -> None:
    document.subtotal = lines.aggregate(s=Sum("amount"))["s"] or ZERO
    document.tax = pricing.tax_of(document.subtotal, document.tax_rate, document.currency)
    document.total = document.subtotal + document.tax


def _issue_note(note: Invoice, credited: Invoice | None, actor) -> None:
    today, now = timezone.now().date(), timezone.now()
    note.kind, note.credits = Invoice.Kind.CREDIT_NOTE, credited
    note.number = next_number(settings.BILLING_CREDIT_NOTE_PREFIX, today.year)
    note.status, note.issued_on, note.due_on = Invoice.Status.ISSUED, today, None  # nothing due
    note.approved_at, note.approved_by = now, actor
    note.seller, note.buyer = seller_snapshot(), buyer_snapshot(note.customer)
    _retotal(note, note.lines.all())
    what = f" (the newest of them {credited.number})" if credited else ""
    note.pricing_notes = [
        *(note.pricing_notes or []),
        "Late usage of months already billed came to less than was billed for them"
        f"{what}: credited here, never as a negative invoice.",
    ]
    note.save(update_fields=_NOTE_FIELDS)
    InvoiceEvent.record(
        InvoiceEvent.Action.APPROVED,
        invoice=note,
        actor=actor,
        detail=f"{note.number}: late credits, total {note.total} {note.currency}.",
    )
