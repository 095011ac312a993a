"""Scheduled invoicing and delivery. Thin: each task calls one service, named after it, and is
safe to run twice. Former names stay registered for a release (`billing_portal.task_names`)."""

import logging

from celery import shared_task
from django.conf import settings

from billing_portal.task_names import shared_task_renamed

from . import documents, services
from .exceptions import EmailNotSent
from .models import Invoice
from .services.statements import overdue_reminders_send

logger = logging.getLogger(__name__)


@shared_task_renamed(formerly="invoices.tasks.generate_previous_month")
def invoice_generate_drafts() -> dict:
    """On the 1st: drafts for the month that just ended."""
    report = services.invoice_generate_drafts(period=services.previous_month())
    return report.counts()


@shared_task_renamed(formerly="invoices.tasks.refresh_open_drafts")
def invoice_refresh_open_drafts() -> dict:
    """After a usage sync: recompute every draft not yet approved."""
    return services.invoice_refresh_open_drafts()


@shared_task_renamed(
    formerly="invoices.tasks.store_invoice_pdf",
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def invoice_store_pdf(invoice_id: int) -> str:
    """After issue: render and store the PDF once, then send the e-mail."""
    invoice = documents.invoice_store_pdf(invoice=Invoice.objects.get(pk=invoice_id))
    if invoice.emailed_at is None:
        invoice_send_email.delay(invoice_id)
    return invoice.pdf_sha256


@shared_task_renamed(formerly="invoices.tasks.send_invoice_email", bind=True, max_retries=None)
def invoice_send_email(self, invoice_id: int) -> str:
    """E-mail an issued document once; retried with a growing delay while attempts are left
    (each attempt is recorded on the invoice, shown in the admin)."""
    invoice = Invoice.objects.get(pk=invoice_id)
    if invoice.emailed_at or invoice.email_attempts >= settings.BILLING_EMAIL_MAX_ATTEMPTS:
        return "skipped"
    try:
        invoice = documents.invoice_send_email(invoice=invoice)
    except EmailNotSent as exc:
        attempts = Invoice.objects.values_list("email_attempts", flat=True).get(pk=invoice_id)
        if attempts >= settings.BILLING_EMAIL_MAX_ATTEMPTS:
            logger.error(
                "Giving up on the e-mail of invoice %s after %s attempts", invoice_id, attempts
            )
            return "failed"
        countdown = min(60 * 2 ** (attempts - 1), documents.EMAIL_RETRY_CAP_SECONDS)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return "sent" if invoice.emailed_at else "skipped"  # voided before it went out


@shared_task
def deliver_pending_documents() -> int:
    """Every few minutes: documents whose PDF or e-mail task was lost (say the broker was down
    at approval) are queued again. Returns how many."""
    pending = list(documents.documents_to_deliver()[:500])
    for invoice_id in pending:
        invoice_store_pdf.delay(invoice_id)
    return len(pending)


@shared_task(autoretry_for=(Exception,), retry_backoff=60, max_retries=5)
def invoice_send_void_notice(invoice_id: int) -> bool:
    """After a void: tell the customer, once (retried with a growing delay)."""
    return documents.invoice_send_void_notice(invoice=Invoice.objects.get(pk=invoice_id))


@shared_task
def invoice_send_overdue_reminders() -> dict:
    """Daily: e-mail the overdue reminders finance's schedule says are due (none while off)."""
    return overdue_reminders_send()
