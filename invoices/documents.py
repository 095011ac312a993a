"""Issued documents: each PDF rendered once, stored with its SHA-256 and served as stored; and
the e-mail that sends it to the customer's billing address.

Both run after the issuing transaction has committed (Celery tasks the issuing services queue
on commit) and can never undo an approval: a failure is recorded on the invoice
and retried.
"""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from .balances import balances_of
from .exceptions import EmailNotSent, InvalidTransition, PdfIntegrityError
from .models import Invoice, InvoiceEvent
from .pdf import TEMPLATE_VERSION, render_invoice_pdf
from .stamps import stamped_copy

logger = logging.getLogger(__name__)


def pdf_filename(invoice: Invoice) -> str:
    """`INV-2026-000042.pdf`; a draft preview is named after its customer and month."""
    if invoice.number:
        return f"{invoice.number}.pdf"
    return f"draft-{slugify(invoice.customer.name)}-{invoice.period:%Y-%m}.pdf"


def invoice_store_pdf(*, invoice: Invoice) -> Invoice:
    """Render an issued document and store it, once: under the invoice's row lock, so that of
    two workers or downloads racing, one renders and the other finds it stored."""
    if invoice.is_draft:
        raise InvalidTransition("A draft has no stored PDF: preview it instead.")
    stored_name = None
    try:
        with transaction.atomic():
            invoice = (
                Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
            )
            if invoice.pdf_sha256:
                return invoice
            data = render_invoice_pdf(invoice)
            invoice.pdf.save(pdf_filename(invoice), ContentFile(data), save=False)
            stored_name = invoice.pdf.name
            invoice.pdf_sha256 = hashlib.sha256(data).hexdigest()
            invoice.pdf_template_version = TEMPLATE_VERSION
            invoice.pdf_rendered_at = timezone.now()
            invoice.save(
                update_fields=["pdf", "pdf_sha256", "pdf_template_version", "pdf_rendered_at"]
            )
            InvoiceEvent.record(
                InvoiceEvent.Action.PDF_STORED,
                invoice=invoice,
                detail=(
                    f"{len(data):,} bytes, SHA-256 {invoice.pdf_sha256}, "
                    f"template {TEMPLATE_VERSION}."
                ),
            )
    except BaseException:
        if stored_name:  # the row does not point at it: leave no orphan behind
            invoice.pdf.storage.delete(stored_name)
        raise
    logger.info("Stored the PDF of %s (%s)", invoice, invoice.pdf_sha256)
    return invoice


def invoice_pdf_bytes(invoice: Invoice) -> bytes:
    """The stored PDF of an issued, paid or void document, checked against its SHA-256 (if it
    was never stored, it is rendered and stored now, once)."""
    if invoice.is_draft:
        raise InvalidTransition("A draft has no PDF yet: it is rendered when it is issued.")
    if not invoice.pdf_sha256:
        invoice = invoice_store_pdf(invoice=invoice)
    try:
        with invoice.pdf.open("rb") as stored:
            data = stored.read()
    except OSError as error:
        logger.error("The stored PDF of %s cannot be read: %s", invoice, error)
        raise PdfIntegrityError(
            f"The stored PDF of {invoice} cannot be read ({error}). It is not re-rendered: "
            "restore the file from a backup."
        ) from error
    if hashlib.sha256(data).hexdigest() != invoice.pdf_sha256:
        logger.error("The stored PDF of %s does not match its SHA-256", invoice)
        raise PdfIntegrityError(
            f"The stored PDF of {invoice} does not match its checksum. It is not re-rendered: "
            "restore the file from a backup."
        )
    return data


def pdf_response(invoice: Invoice, data: bytes, *, as_attachment: bool) -> HttpResponse:
    """A document's PDF as an HTTP response (a download, or shown in the browser), named
    after its number and never cached by a shared cache."""
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=as_attachment, filename=pdf_filename(invoice)
    )
    response["Cache-Control"] = "private, no-store"
    return response


def invoice_send_email(*, invoice: Invoice) -> Invoice:
    """E-mail an issued document to the customer's billing address, with the PDF
    attached and a link to the portal; once (a sent document is not sent again). A failure is
    recorded on the invoice, then raised as `EmailNotSent` for the caller to retry."""
    failure = None
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
        if invoice.emailed_at or invoice.status == Invoice.Status.VOID:
            return invoice  # sent already, or voided before it went out: nothing to send
        if invoice.is_draft:
            raise InvalidTransition("A draft is not sent to the customer.")
        # Delivery goes to today's billing address (fixable after a bounce); the PDF keeps the
        # buyer details as issued.
        recipient = invoice.customer.billing_email
        # Sent again later (a bounce fixed), the copy carries its state now (`stamps`).
        message = _message(invoice, recipient, stamped_copy(invoice, invoice_pdf_bytes(invoice)))
        invoice.email_attempts += 1
        try:
            message.send()
        except Exception as exc:  # any transport failure: recorded, retried by the caller
            failure = exc
            invoice.email_error = f"{type(exc).__name__}: {exc}"[:1000]
            action, detail = InvoiceEvent.Action.EMAIL_FAILED, invoice.email_error
        else:
            invoice.emailed_at, invoice.emailed_to, invoice.email_error = (
                timezone.now(),
                recipient,
                "",
            )
            action, detail = InvoiceEvent.Action.EMAILED, f"To {recipient}."
        invoice.save(update_fields=["emailed_at", "emailed_to", "email_attempts", "email_error"])
        InvoiceEvent.record(action, invoice=invoice, detail=detail)
    if failure is not None:
        logger.warning(
            "E-mail of %s failed (attempt %s): %s", invoice, invoice.email_attempts, failure
        )
        raise EmailNotSent(f"The e-mail of {invoice} was not sent: {failure}") from failure
    return invoice


def invoice_send_void_notice(*, invoice: Invoice) -> bool:
    """Tell the customer that an invoice they were sent is void, and why, with the customer's
    copy (stamped VOID) attached; once. Nothing is sent for an invoice voided before its
    e-mail went out. Returns whether it was sent; a transport failure is raised."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
        sent = invoice.events.filter(action=InvoiceEvent.Action.VOID_EMAILED).exists()
        if invoice.status != Invoice.Status.VOID or invoice.emailed_at is None or sent:
            return False
        recipient = invoice.customer.billing_email
        pdf = stamped_copy(invoice, invoice_pdf_bytes(invoice))
        _message(invoice, recipient, pdf, template="voided").send()
        InvoiceEvent.record(
            InvoiceEvent.Action.VOID_EMAILED, invoice=invoice, detail=f"To {recipient}."
        )
    return True


def _message(
    invoice: Invoice, recipient: str, pdf: bytes, template: str = "issued"
) -> EmailMessage:
    """A document's e-mail (`templates/invoices/email/<template>.txt` and its subject) with
    `pdf` attached."""
    is_credit = invoice.kind == Invoice.Kind.CREDIT_NOTE
    credited = invoice.credits if is_credit else None
    context = {
        "invoice": invoice,
        "is_credit": is_credit,
        "credit_amount": -invoice.total if is_credit else None,
        # What is left to pay on the invoice it credits, now (after this credit).
        "left": balances_of([credited])[credited.pk].outstanding if credited else None,
        "seller": invoice.seller,
        "buyer": invoice.buyer,
        "portal_url": settings.BILLING_SITE_URL.rstrip("/") + reverse("portal:invoices"),
    }
    subject = render_to_string(f"invoices/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"invoices/email/{template}.txt", context)
    message = EmailMessage(subject=" ".join(subject.split()), body=body, to=[recipient])
    message.attach(pdf_filename(invoice), pdf, "application/pdf")
    return message


def invoice_requeue_email(*, invoice: Invoice, actor) -> bool:
    """Give an issued document whose e-mail has not gone out a fresh set of attempts (say the
    billing address was wrong and has been fixed in the customer's details) and queue it after
    commit. Returns False when there is nothing to send."""
    from . import tasks  # the tasks call this module's services

    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.is_draft or invoice.status == Invoice.Status.VOID or invoice.emailed_at:
            return False
        previous = invoice.email_attempts
        invoice.email_attempts = 0
        invoice.save(update_fields=["email_attempts"])
        InvoiceEvent.record(
            InvoiceEvent.Action.EMAIL_REQUEUED,
            invoice=invoice,
            actor=actor,
            detail=f"After {previous} failed attempt{'' if previous == 1 else 's'}.",
        )
        invoice_id = invoice.pk
        transaction.on_commit(lambda: tasks.invoice_store_pdf.delay(invoice_id), robust=True)
    return True


# The longest wait between two e-mail attempts of one task's retries (`tasks.invoice_send_email`).
EMAIL_RETRY_CAP_SECONDS = 3600


def documents_to_deliver(*, older_than_minutes: int = 10):
    """Issued documents whose PDF or e-mail is still missing a while after issue, with
    e-mail attempts left, and no failed attempt within the longest retry delay: their task
    was lost (say the broker was down at approval). A document whose retries are still
    under way is theirs to send, not queued a second time."""
    now = timezone.now()
    retrying = InvoiceEvent.objects.filter(
        invoice=OuterRef("pk"),
        action=InvoiceEvent.Action.EMAIL_FAILED,
        at__gte=now - timedelta(seconds=EMAIL_RETRY_CAP_SECONDS + 300),
    )
    return (
        Invoice.objects.filter(
            status__in=[Invoice.Status.ISSUED, Invoice.Status.PAID],
            approved_at__lt=now - timedelta(minutes=older_than_minutes),
            emailed_at__isnull=True,
            email_attempts__lt=settings.BILLING_EMAIL_MAX_ATTEMPTS,
        )
        .exclude(Exists(retrying))
        .order_by("approved_at")
        .values_list("pk", flat=True)
    )
