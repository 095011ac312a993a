"""A customer is told when an invoice they were sent is voided: once, after the commit, with
the reason and the copy stamped VOID (invoices.documents.invoice_send_void_notice)."""

import io

from django.core import mail
from pypdf import PdfReader

from invoices import documents
from invoices.models import InvoiceEvent
from invoices.services import invoice_approve, invoice_void


def test_voiding_a_sent_invoice_mails_the_customer_once_with_the_reason(
    october_draft, finance_user, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_approve(invoice=october_draft, actor=finance_user)
    assert len(mail.outbox) == 1  # the invoice itself

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice_void(invoice=invoice, actor=finance_user, reason="Billed twice by mistake")
    assert len(mail.outbox) == 1  # nothing before the commit
    for callback in callbacks:
        callback()

    notice = mail.outbox[1]
    assert notice.to == ["billing@acme.example"]
    assert notice.subject == f"Invoice {invoice.number} from Example Voice Apps Ltd is void"
    assert (
        "Nothing is due on it" in notice.body and "Reason: Billed twice by mistake" in notice.body
    )
    ((name, content, _),) = notice.attachments
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert name == f"{invoice.number}.pdf" and "VOID" in text
    assert invoice.events.filter(action=InvoiceEvent.Action.VOID_EMAILED).count() == 1

    assert documents.invoice_send_void_notice(invoice=invoice) is False  # once
    assert len(mail.outbox) == 2


def test_an_invoice_voided_before_it_was_sent_sends_no_notice(october_draft, finance_user):
    invoice = invoice_approve(invoice=october_draft, actor=finance_user)  # its e-mail not sent
    voided = invoice_void(invoice=invoice, actor=finance_user, reason="Wrong month")

    assert documents.invoice_send_void_notice(invoice=voided) is False
    assert mail.outbox == []
