"""E-mailing statements of account and overdue reminders to customers' billing addresses.

- A statement (`invoices.statements`) is sent when finance asks, and recorded
  (`StatementSent`: to whom, by whom, which period).
- Overdue reminders follow the schedule finance sets (`FinanceSettings`): off until turned on;
  the first `reminder_after_days` after the due date, then every `reminder_every_days`, at
  most `reminder_limit` per invoice. One e-mail per customer and run lists all its overdue
  invoices with what is left on each and the statement attached; each invoice's trail records
  the reminder (`InvoiceEvent.REMINDED`), which is how the next run knows when it was last sent.
"""

import logging
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, Max, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ..balances import balances_of
from ..models import FinanceSettings, Invoice, InvoiceEvent, StatementSent
from ..statements import Statement, render_statement_pdf, statement_of
from .snapshots import seller_snapshot

__all__ = ["overdue_reminders_send", "reminders_due", "statement_send"]

logger = logging.getLogger(__name__)


def _message(template: str, context: dict, recipient: str, statement: Statement) -> EmailMessage:
    context = {
        **context,
        "seller": seller_snapshot(),
        "statement": statement,
        "portal_url": settings.BILLING_SITE_URL.rstrip("/") + reverse("portal:invoices"),
    }
    subject = render_to_string(f"invoices/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"invoices/email/{template}.txt", context)
    message = EmailMessage(subject=" ".join(subject.split()), body=body, to=[recipient])
    message.attach(statement.filename, render_statement_pdf(statement), "application/pdf")
    return message


def statement_send(*, customer, start: date, end: date, actor) -> StatementSent:
    """E-mail the statement of `start` to `end` to the customer's billing address, and record
    it. A transport failure is raised, and nothing is recorded."""
    recipient = customer.billing_email
    if not recipient:
        raise ValueError(f"{customer} has no billing e-mail address.")
    statement = statement_of(customer, start, end)
    _message("statement", {}, recipient, statement).send()
    return StatementSent.objects.create(
        customer=customer, start=start, end=end, sent_to=recipient, sent_by=actor
    )


def reminders_due(today: date | None = None, rules: FinanceSettings | None = None):
    """Issued invoices whose reminder is due today under finance's schedule (not yet settled:
    balances are checked by the caller), with the customer."""
    today = today or timezone.now().date()
    rules = rules or FinanceSettings.get_solo()
    first = today - timedelta(days=rules.reminder_after_days)
    again = timezone.now() - timedelta(days=rules.reminder_every_days)
    reminded = Q(events__action=InvoiceEvent.Action.REMINDED)
    return (
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED, due_on__lte=first
        )
        .annotate(
            reminders=Count("events", filter=reminded), last=Max("events__at", filter=reminded)
        )
        .filter(reminders__lt=rules.reminder_limit)
        .filter(Q(last__isnull=True) | Q(last__lte=again))
        .select_related("customer")
        .order_by("customer_id", "due_on", "number")
    )


def overdue_reminders_send(today: date | None = None) -> dict:
    """Send the reminders due (nothing while they are off). Returns what was sent, skipped
    and failed; one customer's failure does not stop the others'."""
    rules = FinanceSettings.get_solo()
    if not rules.reminders_enabled:
        return {"enabled": False, "sent": 0, "invoices": 0, "failed": 0}
    today = today or timezone.now().date()
    candidates = list(reminders_due(today, rules))
    balances = balances_of(candidates)
    per_customer: dict[int, list] = {}
    for invoice in candidates:
        left = balances[invoice.pk].outstanding
        if left > 0:
            per_customer.setdefault(invoice.customer_id, []).append((invoice, left))
    sent = failed = reminded = 0
    for overdue in per_customer.values():
        customer = overdue[0][0].customer
        if not customer.billing_email:
            failed += 1
            logger.warning("No reminder for %s: no billing e-mail address", customer)
            continue
        start = today.replace(day=1) - timedelta(days=365)
        statement = statement_of(customer, start.replace(day=1), today, today)
        context = {"customer": customer, "overdue": overdue, "today": today}
        try:
            with transaction.atomic():
                for invoice, left in overdue:
                    InvoiceEvent.record(
                        InvoiceEvent.Action.REMINDED,
                        invoice=invoice,
                        detail=f"To {customer.billing_email}: {left} {invoice.currency} overdue.",
                    )
                _message("reminder", context, customer.billing_email, statement).send()
        except Exception:  # a transport failure: nothing recorded, tried again next run
            failed += 1
            logger.exception("The overdue reminder to %s failed", customer)
            continue
        sent += 1
        reminded += len(overdue)
    return {"enabled": True, "sent": sent, "invoices": reminded, "failed": failed}
