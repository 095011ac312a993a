"""Credit notes: the correction of an issued or paid invoice, in whole or in parts.

Rules:
- A credit note is an issued document of its own (own number series, seller copied anew, the
  original's buyer), with a reason, referring to the invoice it credits.
- Its net amount is at most what is left to credit (voided credit notes credit nothing); its
  tax is taken at the original's rate, and the part that takes what is left takes the tax
  that is left, so the credit notes of an invoice add up to it to the cent.
- Its PDF and e-mail are queued once the issuing transaction commits, as for an invoice.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .. import pricing
from ..exceptions import InvalidTransition, InvoicesError
from ..models import Invoice, InvoiceEvent, InvoiceLine
from ..money import places_problem, quantize_money
from .issuing import deliver_on_commit
from .numbering import next_number
from .snapshots import seller_snapshot

__all__ = ["credit_left", "credit_note_create"]

ZERO = Decimal(0)


def credit_left(invoice: Invoice) -> tuple[Decimal, Decimal]:
    """What of an invoice its live credit notes have not credited yet: the net amount and
    the tax (a voided credit note credits nothing)."""
    credited = invoice.credit_notes.exclude(status=Invoice.Status.VOID).aggregate(
        net=Sum("subtotal"), tax=Sum("tax")
    )
    return (
        quantize_money(invoice.subtotal + (credited["net"] or ZERO), invoice.currency),
        invoice.tax + (credited["tax"] or ZERO),
    )


def credit_note_create(
    *, invoice: Invoice, actor, reason: str, amount: Decimal | None = None
) -> Invoice:
    """Issue a credit note against an issued or paid invoice: the whole of it (`amount`
    None), or a net `amount` taxed at the original's rate. It takes its own number series and
    can never credit more than is left."""
    if not reason.strip():
        raise InvoicesError("Give a reason for the credit note.")
    with transaction.atomic():
        original = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
        if original.kind != Invoice.Kind.INVOICE or original.status not in (
            Invoice.Status.ISSUED,
            Invoice.Status.PAID,
        ):
            raise InvalidTransition("Only an issued or paid invoice can be credited.")
        left, tax_left = credit_left(original)
        if amount is not None and (problem := places_problem(amount, original.currency)):
            raise InvoicesError(problem)
        net = left if amount is None else quantize_money(amount, original.currency)
        if net <= 0 or net > left:
            raise InvoicesError(
                f"A credit must be more than 0 and at most {left} "
                f"{original.currency} (what is left to credit)."
            )
        tax = _credit_tax(original, net, left, tax_left)
        note = _create_note(original, net, tax, actor, reason)
        for target, action in (
            (note, InvoiceEvent.Action.APPROVED),
            (original, InvoiceEvent.Action.CREDITED),
        ):
            InvoiceEvent.record(
                action,
                invoice=target,
                actor=actor,
                detail=f"{note.number}: {net} {note.currency}, {reason}",
            )
        deliver_on_commit(note.pk)
    return note


def _credit_tax(original: Invoice, net: Decimal, left: Decimal, tax_left: Decimal) -> Decimal:
    """The tax a credit of `net` takes back."""
    # Each part's tax is rounded on its own; the credit that takes what is left takes the
    # tax that is left, so the credit notes of an invoice add up to it to the cent.
    if net == left:
        return tax_left
    return min(pricing.tax_of(net, original.tax_rate, original.currency), tax_left)


def _create_note(original: Invoice, net: Decimal, tax: Decimal, actor, reason: str) -> Invoice:
    """The issued credit note (numbered) and its one line, in the caller's transaction."""
    today = timezone.now().date()
    note = Invoice.objects.create(
        customer=original.customer,
        kind=Invoice.Kind.CREDIT_NOTE,
        credits=original,
        period=original.period,
        currency=original.currency,
        status=Invoice.Status.ISSUED,
        number=next_number(settings.BILLING_CREDIT_NOTE_PREFIX, today.year),
        subtotal=-net,
        tax_rate=original.tax_rate,
        tax=-tax,
        tax_note=original.tax_note,
        seller=seller_snapshot(),
        buyer=original.buyer,
        issued_on=today,
        approved_at=timezone.now(),  # no due date: nothing is to be paid on a credit note
        approved_by=actor,
        pricing_notes=[f"Credits {original.number}: {reason}"],
    )
    note.total = note.subtotal + note.tax
    note.save(update_fields=["total"])
    InvoiceLine.objects.create(
        invoice=note,
        kind=InvoiceLine.Kind.CREDIT,
        quantity=Decimal(1),
        unit_price=-net,
        amount=-net,
        description=f"Credit for {original.number}: {reason}"[:300],
    )
    return note
