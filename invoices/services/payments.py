"""Payments: recorded against an issued invoice, several per invoice, reversed, never edited.

Rules:
- An invoice's outstanding balance is its total, less its credit notes (not void), less its
  payments (reversals count against them). Its payment state is derived from that balance:
  unpaid, partly paid, paid, and overdue when read after its due date with a balance left.
- A payment is above zero, in the invoice's currency, received on a day not in the future,
  and at most the balance: an overpayment is refused (the portal keeps no customer credit;
  a refund or a credit note settles what was paid too much). A void invoice, a draft and a
  credit note take no payment; an invoice with payments is voided only after they are
  reversed (`issuing.invoice_void`).
- A reversal undoes one payment, whole, with a reason; a payment is reversed once.
- The stored status follows the balance: PAID when nothing is left to pay (with the day and
  reference of the payment that settled it), back to ISSUED when a reversal leaves some. Each
  payment and reversal is one event on the invoice's audit trail.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..balances import balances_of
from ..exceptions import InvalidTransition, InvoicesError
from ..models import Invoice, InvoiceEvent, Payment
from ..money import places_problem

__all__ = ["payment_record", "payment_reverse"]


def payment_record(
    *,
    invoice: Invoice,
    actor,
    amount: Decimal,
    received_on: date,
    reference: str = "",
    method: str = Payment.Method.BANK_TRANSFER,
) -> Payment:
    """Record a payment of an issued invoice; the invoice is paid once nothing is left."""
    if received_on > timezone.now().date():
        raise InvoicesError("The payment date is in the future.")
    if amount <= 0:
        raise InvoicesError("A payment is above zero; to undo one, reverse it.")
    reference = reference.strip()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in (
            Invoice.Status.ISSUED,
            Invoice.Status.PAID,
        ):
            raise InvalidTransition(
                f"Only an issued invoice takes a payment; {invoice} is "
                f"{invoice.get_status_display().lower()}."
            )
        left = balances_of([invoice])[invoice.pk].outstanding
        # What is left is always payable as it stands (an invoice issued before ISO 4217
        # took its currency's decimals away may hold a fraction the currency has no room for).
        if amount != left and (problem := places_problem(amount, invoice.currency)):
            raise InvoicesError(problem)
        if amount > left:
            raise InvoicesError(
                f"{amount} {invoice.currency} is more than the {left} {invoice.currency} left "
                f"to pay on {invoice.number}: record at most that (refund the rest)."
            )
        payment = Payment.objects.create(
            invoice=invoice,
            amount=amount,
            received_on=received_on,
            reference=reference,
            method=method,
            recorded_by=actor,
        )
        detail = f"{amount} {invoice.currency} received on {received_on}" + (
            f", {reference}" if reference else ""
        )
        InvoiceEvent.record(
            InvoiceEvent.Action.PAYMENT, invoice=invoice, actor=actor, detail=detail
        )
        _follow_balance(invoice, payment, actor)
    return payment


def payment_reverse(*, payment: Payment, actor, reason: str) -> Payment:
    """Undo a payment, whole, with a reason; the invoice is open again if some is left."""
    if not reason.strip():
        raise InvoicesError("Say why the payment is reversed.")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
        payment = Payment.objects.get(pk=payment.pk)
        if payment.reverses_id is not None:
            raise InvalidTransition("A reversal is not reversed: record the payment again.")
        if Payment.objects.filter(reverses=payment).exists():
            raise InvalidTransition(f"{payment} of {invoice.number} is reversed already.")
        reversal = Payment.objects.create(
            invoice=invoice,
            amount=-payment.amount,
            received_on=timezone.now().date(),
            reference=payment.reference,
            method=payment.method,
            reverses=payment,
            note=reason.strip()[:300],
            recorded_by=actor,
        )
        InvoiceEvent.record(
            InvoiceEvent.Action.PAYMENT_REVERSED,
            invoice=invoice,
            actor=actor,
            detail=f"{payment.amount} {invoice.currency} of {payment.received_on} reversed: "
            f"{reversal.note}",
        )
        _follow_balance(invoice, None, actor)
    return reversal


def _follow_balance(invoice: Invoice, settling: Payment | None, actor) -> None:
    """Keep the stored status in step with the balance (locked invoice)."""
    left = balances_of([invoice])[invoice.pk].outstanding
    if left <= 0 and invoice.status == Invoice.Status.ISSUED and settling is not None:
        invoice.status, invoice.paid_on = Invoice.Status.PAID, settling.received_on
        invoice.payment_reference, invoice.paid_marked_by = settling.reference, actor
    elif left > 0 and invoice.status == Invoice.Status.PAID:
        invoice.status, invoice.paid_on = Invoice.Status.ISSUED, None
        invoice.payment_reference, invoice.paid_marked_by = "", None
    else:
        return
    invoice.save(update_fields=["status", "paid_on", "payment_reference", "paid_marked_by"])
