"""Issuing and what follows it: approve a draft (its number, its snapshots, what it billed),
void, mark paid, and manual lines on a draft.

Rules:
- Approval refuses a draft that `selectors.approval_blockers` blocks, with its reasons: its
  month not over yet (the current month is a preview), its customer without billing terms
  (no tax rate would be applied silently), its plan invalid, its currency or buyer's country
  no ISO code, its total below zero without its late credits. A draft whose late credits
  take it below zero issues them as a credit note (`late_credits`), the rest as an invoice.
- Approval refuses a draft that is stale (its inputs changed since it was computed) or that
  was refreshed after the approver reviewed it, and, with `BILLING_FOUR_EYES` on, a draft to
  which the approver added manual lines.
- An issued invoice takes the next gap-free number of its year, copies of the seller and the
  buyer, its issue and due dates (the customer's payment terms, else 30 days) and a record of
  what it billed; it is never edited or deleted after. Its PDF and e-mail are queued once the
  issuing transaction commits (a broker that is down then leaves it issued, the error logged,
  and the delivery sweeper picks it up).
- Void: only an issued document, with a reason, and only once its live credit notes are
  voided; its number stays used and its month can be billed again.
- Paid: only an issued invoice, not with a date in the future.
- A manual line goes on a draft only, its amount and the draft's new totals within what the
  money columns hold, and the draft's totals are recomputed in the same transaction.
- Every state change locks the row, checks its guard, saves with `update_fields` and records
  an `InvoiceEvent`.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from usage.units import quantize_hours

from .. import tasks
from ..balances import balances_of
from ..exceptions import (
    ApprovalRefused,
    FourEyesViolation,
    InvalidTransition,
    InvoiceLocked,
    InvoicesError,
    StaleDraft,
)
from ..models import BillingTerms, Invoice, InvoiceEvent, InvoiceLine
from ..money import MAX_AMOUNT, fits_money_column, quantize_money
from ..selectors import approval_blockers, needs_other_approver
from .billed_usage import record_billed_usage
from .drafts import invoice_refresh_draft
from .fingerprint import current_fingerprint
from .late_credits import issue_late_credits
from .numbering import next_number
from .payments import payment_record
from .plan_versions import plan_version_of
from .snapshots import buyer_snapshot, seller_snapshot

__all__ = [
    "deliver_on_commit",
    "invoice_add_manual_line",
    "invoice_approve",
    "invoice_mark_paid",
    "invoice_void",
]


_ISSUED_FIELDS = [
    "number",
    "status",
    "issued_on",
    "due_on",
    "approved_at",
    "approved_by",
    "seller",
    "buyer",
    "plan_version",
]


def invoice_approve(*, invoice: Invoice, actor, expected_fingerprint: str | None = None) -> Invoice:
    """Issue a draft: refuse it if stale (usage, prices or terms changed since it was
    computed) or, with the four-eyes rule on, if the approver added manual lines; take the
    next number of the year from the locked counter; copy the seller and buyer details; set
    the issue and due dates; record what it billed for later adjustments."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
        if not invoice.is_draft:
            raise InvalidTransition(f"{invoice} is {invoice.get_status_display().lower()}.")
        blockers = approval_blockers(invoice)
        if blockers:
            raise ApprovalRefused(" ".join(blockers))
        if expected_fingerprint is not None and expected_fingerprint != invoice.usage_fingerprint:
            raise StaleDraft(
                f"The draft for {invoice.customer} was refreshed after it was "
                "reviewed. Check it again."
            )
        if current_fingerprint(invoice) != invoice.usage_fingerprint:
            raise StaleDraft(
                f"The draft for {invoice.customer} changed since it was computed "
                "(usage, prices or terms). Refresh it and check it again."
            )
        if needs_other_approver(invoice, actor):
            raise FourEyesViolation(
                "You added manual lines to this draft: another person must approve it."
            )
        if invoice.total < 0:  # late credits: a credit note, never a negative invoice
            note, invoice = issue_late_credits(invoice, actor)
            deliver_on_commit(note.pk)
            if invoice is None:
                return note
        _issue(invoice, actor)
        record_billed_usage(invoice)
        InvoiceEvent.record(
            InvoiceEvent.Action.APPROVED,
            invoice=invoice,
            actor=actor,
            detail=f"{invoice.number}, total {invoice.total} {invoice.currency}.",
        )
        deliver_on_commit(invoice.pk)
    return invoice


def _issue(invoice: Invoice, actor) -> None:
    """Give a locked draft its number, dates and snapshots, and save it as issued."""
    today = timezone.now().date()
    terms = BillingTerms.objects.filter(customer=invoice.customer).first()
    invoice.number = next_number(settings.BILLING_INVOICE_PREFIX, today.year)
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_on = today
    invoice.due_on = today + timedelta(days=terms.payment_terms_days if terms else 30)
    invoice.approved_at, invoice.approved_by = timezone.now(), actor
    invoice.seller = seller_snapshot()
    invoice.buyer = buyer_snapshot(invoice.customer)
    invoice.plan_version = plan_version_of(invoice)
    invoice.save(update_fields=_ISSUED_FIELDS)


def deliver_on_commit(invoice_id: int) -> None:
    """Once the issuing transaction commits (never before, never after a rollback), queue the
    document's PDF (and, after it, its e-mail): they happen outside it and cannot undo it. A
    broker that is down is logged (`robust`); `deliver_pending_documents` queues it later."""
    transaction.on_commit(lambda: tasks.invoice_store_pdf.delay(invoice_id), robust=True)


def invoice_void(*, invoice: Invoice, actor, reason: str) -> Invoice:
    """Void an issued invoice or credit note (its number stays used); a voided invoice's
    month can be billed again. An invoice with live credit notes must keep them: void those
    first."""
    if not reason.strip():
        raise InvoicesError("Give a reason for voiding.")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != Invoice.Status.ISSUED:
            raise InvalidTransition(
                f"Only an issued invoice can be voided; {invoice} is "
                f"{invoice.get_status_display().lower()}."
            )
        live_notes = invoice.credit_notes.exclude(status=Invoice.Status.VOID)
        if live_notes.exists():
            raise InvalidTransition(
                f"{invoice} has credit notes ({', '.join(n.number for n in live_notes)}): "
                "void them first."
            )
        balance = balances_of([invoice]).get(invoice.pk)  # none for a credit note
        if balance is not None and balance.paid:
            raise InvalidTransition(
                f"{invoice} has payments recorded: reverse them first (or credit it instead)."
            )
        invoice.status, invoice.void_reason = Invoice.Status.VOID, reason.strip()
        invoice.voided_at, invoice.voided_by = timezone.now(), actor
        invoice.save(update_fields=["status", "void_reason", "voided_at", "voided_by"])
        InvoiceEvent.record(
            InvoiceEvent.Action.VOIDED, invoice=invoice, actor=actor, detail=reason.strip()
        )
        pk = invoice.pk  # the customer is told, with the reason, once it is committed
        transaction.on_commit(lambda: tasks.invoice_send_void_notice.delay(pk), robust=True)
    return invoice


def invoice_mark_paid(*, invoice: Invoice, actor, paid_on: date, reference: str = "") -> Invoice:
    """Record that what is left of an issued invoice was paid: one payment of its balance
    (`payments.payment_record`; not with a date in the future)."""
    if paid_on > timezone.now().date():
        raise InvoicesError("The payment date is in the future.")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != Invoice.Status.ISSUED or invoice.kind != Invoice.Kind.INVOICE:
            raise InvalidTransition(
                f"Only an issued invoice can be marked paid; {invoice} is "
                f"{invoice.get_status_display().lower()}."
            )
        left = balances_of([invoice])[invoice.pk].outstanding
        if left <= 0:
            raise InvalidTransition(f"Nothing is left to pay on {invoice}: it is credited.")
        payment_record(
            invoice=invoice, actor=actor, amount=left, received_on=paid_on, reference=reference
        )
        invoice.refresh_from_db()
    return invoice


def invoice_add_manual_line(
    *, invoice: Invoice, actor, description: str, quantity: Decimal, unit_price: Decimal
) -> InvoiceLine:
    """Add a manual line to a draft and recompute its totals."""
    if not description.strip():
        raise InvoicesError("A manual line needs a description.")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if not invoice.is_draft:
            raise InvoiceLocked(f"{invoice} is issued: add a credit note instead.")
        amount = quantize_money(quantize_hours(quantity) * unit_price, invoice.currency)
        _check_fits(invoice, amount)
        line = InvoiceLine.objects.create(
            invoice=invoice,
            kind=InvoiceLine.Kind.MANUAL,
            description=description,
            quantity=quantize_hours(quantity),
            unit_price=unit_price,
            added_by=actor,
            amount=amount,
            position=10_000,
        )
        InvoiceEvent.record(
            InvoiceEvent.Action.LINE_ADDED,
            invoice=invoice,
            actor=actor,
            detail=f"{description}: {line.amount} {invoice.currency}",
        )
        # In the same transaction: a line never stands beside totals that leave it out.
        invoice_refresh_draft(customer=invoice.customer, period=invoice.period, actor=actor)
    return line


def _check_fits(invoice: Invoice, amount: Decimal) -> None:
    """Refuse a manual line whose amount, or the draft's total with it, a money column
    cannot hold."""
    subtotal = invoice.subtotal + amount
    total = subtotal + subtotal * invoice.tax_rate / 100
    if not (fits_money_column(amount) and fits_money_column(subtotal) and fits_money_column(total)):
        raise InvoicesError(
            f"With this line the draft would come to {total:,.2f} {invoice.currency}: an "
            f"amount is at most {MAX_AMOUNT:,f} either way."
        )
