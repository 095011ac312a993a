"""Issued documents: the PDF stored once with its SHA-256, and the e-mail sent after commit."""

import hashlib
import socket
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from invoices import documents
from invoices.exceptions import EmailNotSent, InvalidTransition, PdfIntegrityError
from invoices.models import Invoice, InvoiceEvent
from invoices.services import (
    credit_note_create,
    invoice_approve,
    invoice_generate_drafts,
    invoice_void,
)
from invoices.tasks import deliver_pending_documents, invoice_send_email
from tests.concurrency import at_once
from tests.conftest import PASSWORD

from .conftest import OCTOBER


def stored_files(settings) -> list:
    root = settings.STORAGES["default"]["OPTIONS"]["location"]
    from pathlib import Path

    return sorted(p for p in Path(root).rglob("*.pdf"))


def events(invoice, action) -> int:
    return InvoiceEvent.objects.filter(invoice=invoice, action=action).count()


# --- Stored once ------------------------------------------------------------------------------


def test_downloads_serve_the_same_stored_bytes(issued, settings):
    first = documents.invoice_pdf_bytes(issued)
    second = documents.invoice_pdf_bytes(Invoice.objects.get(pk=issued.pk))

    issued.refresh_from_db()
    assert first == second and first.startswith(b"%PDF")
    assert hashlib.sha256(first).hexdigest() == issued.pdf_sha256
    assert events(issued, InvoiceEvent.Action.PDF_STORED) == 1
    assert len(stored_files(settings)) == 1


def test_the_stored_path_cannot_be_guessed(issued):
    stored = documents.invoice_store_pdf(invoice=issued)

    year, token, name = stored.pdf.name.split("/")[1:]
    assert year == f"{stored.issued_on:%Y}" and name == f"{stored.number}.pdf"
    assert len(token) >= 24 and token not in (str(stored.pk), str(stored.public_id))


def test_an_issued_pdf_is_never_rendered_again(issued, settings):
    stored = documents.invoice_store_pdf(invoice=issued)
    settings.BILLING_COMPANY_NAME = "Something else entirely"

    again = documents.invoice_store_pdf(invoice=stored)

    assert again.pdf_sha256 == stored.pdf_sha256 and again.pdf.name == stored.pdf.name
    assert documents.invoice_pdf_bytes(again) == stored.pdf.open("rb").read()


def test_a_tampered_file_is_refused_not_re_rendered(issued):
    stored = documents.invoice_store_pdf(invoice=issued)
    with open(stored.pdf.path, "ab") as file:
        file.write(b"tampered")

    with pytest.raises(PdfIntegrityError, match="does not match its checksum"):
        documents.invoice_pdf_bytes(stored)
    stored.refresh_from_db()
    assert events(stored, InvoiceEvent.Action.PDF_STORED) == 1


def test_a_draft_has_no_stored_pdf(october_draft):
    with pytest.raises(InvalidTransition):
        documents.invoice_pdf_bytes(october_draft)
    with pytest.raises(InvalidTransition):
        documents.invoice_store_pdf(invoice=october_draft)
    assert documents.pdf_filename(october_draft) == "draft-acme-voice-ltd-2026-10.pdf"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_downloads_render_once(acme, key_of, put_usage, finance_user, settings):
    put_usage(key_of(acme), date(2026, 10, 3), "10.000000")
    invoice = invoice_approve(
        invoice=invoice_generate_drafts(period=OCTOBER).created[0], actor=finance_user
    )
    results, errors = at_once(
        lambda: documents.invoice_pdf_bytes(Invoice.objects.get(pk=invoice.pk)), 3
    )

    invoice.refresh_from_db()
    assert errors == []
    assert len(results) == 3 and len(set(results)) == 1
    assert hashlib.sha256(results[0]).hexdigest() == invoice.pdf_sha256
    assert events(invoice, InvoiceEvent.Action.PDF_STORED) == 1
    assert len(stored_files(settings)) == 1


# --- E-mail on issue --------------------------------------------------------------------------


def test_approval_mails_the_pdf_once_after_commit(
    october_draft, finance_user, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice = invoice_approve(invoice=october_draft, actor=finance_user)
    assert mail.outbox == []  # nothing before the commit

    for callback in callbacks:
        callback()

    invoice.refresh_from_db()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["billing@acme.example"]
    assert message.subject == f"Invoice {invoice.number} from Example Voice Apps Ltd"
    assert "Amount due: 15.88 USD" in message.body
    assert "http://127.0.0.1:8000/portal/invoices/" in message.body
    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert hashlib.sha256(content).hexdigest() == invoice.pdf_sha256
    assert invoice.emailed_to == "billing@acme.example" and invoice.emailed_at
    assert events(invoice, InvoiceEvent.Action.EMAILED) == 1

    assert invoice_send_email.delay(invoice.pk).get() == "skipped"
    documents.invoice_send_email(invoice=invoice)
    assert len(mail.outbox) == 1


def test_a_rolled_back_approval_sends_nothing(
    october_draft, finance_user, celery_eager, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        invoice_approve(invoice=october_draft, actor=finance_user)
        raise RuntimeError("the request failed after approving")

    assert callbacks == [] and mail.outbox == []
    october_draft.refresh_from_db()
    assert october_draft.is_draft and not october_draft.pdf_sha256


def test_a_credit_note_is_mailed_too(
    issued, finance_user, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        note = credit_note_create(
            invoice=issued, actor=finance_user, reason="Goodwill", amount=D("5.00")
        )

    assert [m.subject for m in mail.outbox] == [
        f"Credit note {note.number} from Example Voice Apps Ltd"
    ]
    body = mail.outbox[0].body
    assert f"crediting {issued.number} (October 2026) with 6.00 USD." in body  # 5.00 + 20 % tax
    left = issued.total - D("6.00")
    assert f"Left to pay on {issued.number}: {left} USD, due {issued.due_on:%-d %B %Y}." in body
    assert mail.outbox[0].attachments[0][0] == f"{note.number}.pdf"


@pytest.fixture
def dead_mail_server(settings):
    """SMTP at a port where nothing listens: a real connection refused, not a mock. The port
    stays bound (without listening) for the whole test, so nothing else can take it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield port


def test_a_failing_mail_server_is_recorded_and_never_undoes_the_approval(
    october_draft, finance_user, celery_eager, dead_mail_server, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.BILLING_EMAIL_MAX_ATTEMPTS = 3

    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_approve(invoice=october_draft, actor=finance_user)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED and invoice.number
    assert invoice.pdf_sha256  # the PDF was stored before the mail was tried
    assert invoice.emailed_at is None and invoice.email_attempts == 3
    assert "ConnectionRefusedError" in invoice.email_error
    assert events(invoice, InvoiceEvent.Action.EMAIL_FAILED) == 3
    # Out of attempts: the sweeper leaves it to a person.
    assert invoice.pk not in documents.documents_to_deliver(older_than_minutes=0)


def test_a_failed_e_mail_goes_out_on_a_later_attempt(issued, dead_mail_server, settings):
    with pytest.raises(EmailNotSent, match="was not sent"):
        documents.invoice_send_email(invoice=issued)
    issued.refresh_from_db()
    assert (issued.email_attempts, issued.emailed_at) == (1, None)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sent = documents.invoice_send_email(invoice=issued)

    assert sent.emailed_at and sent.email_attempts == 2 and sent.email_error == ""
    assert len(mail.outbox) == 1


def test_lost_deliveries_are_picked_up_by_the_sweeper(issued, celery_eager):
    Invoice.objects.filter(pk=issued.pk).update(approved_at=timezone.now() - timedelta(minutes=30))

    assert deliver_pending_documents.delay().get() == 1

    issued.refresh_from_db()
    assert issued.pdf_sha256 and issued.emailed_at and len(mail.outbox) == 1
    assert deliver_pending_documents.delay().get() == 0


def test_the_sweeper_leaves_a_document_whose_retries_are_under_way(
    issued, dead_mail_server, celery_eager
):
    Invoice.objects.filter(pk=issued.pk).update(approved_at=timezone.now() - timedelta(minutes=30))
    with pytest.raises(EmailNotSent):
        documents.invoice_send_email(invoice=issued)  # attempt 1; its task retries it later

    assert issued.pk not in documents.documents_to_deliver()

    # Its retries lost too (no attempt for longer than the longest retry delay): swept again.
    InvoiceEvent.objects.filter(invoice=issued).update(at=timezone.now() - timedelta(hours=2))
    assert issued.pk in documents.documents_to_deliver()


def test_a_document_voided_before_its_e_mail_went_out_is_not_sent(issued, finance_user):
    voided = invoice_void(invoice=issued, actor=finance_user, reason="Wrong customer")

    assert documents.invoice_send_email(invoice=voided).emailed_at is None
    assert invoice_send_email.apply(args=[voided.pk]).get() == "skipped"
    assert mail.outbox == []


# --- The admin ----------------------------------------------------------------------------


def test_finance_opens_the_stored_pdf_and_the_draft_preview(
    client, issued, finance_user, acme, key_of, put_usage
):
    client.login(username=finance_user.username, password=PASSWORD)

    response = client.get(reverse("admin:invoices_invoice_pdf", args=[issued.pk]))
    issued.refresh_from_db()
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{issued.number}.pdf"'
    assert hashlib.sha256(response.content).hexdigest() == issued.pdf_sha256

    page = client.get(reverse("admin:invoices_invoice_change", args=[issued.pk])).content.decode()
    assert "The original (stored, as issued)" in page and issued.pdf_sha256 in page

    # The preview of an issued invoice is its stored PDF, never a new rendering.
    preview = client.get(reverse("admin:invoices_invoice_preview", args=[issued.pk]))
    assert preview.status_code == 302
    assert preview["Location"] == reverse("admin:invoices_invoice_pdf", args=[issued.pk])


def test_a_draft_previews_with_its_watermark(client, october_draft, finance_user):
    client.login(username=finance_user.username, password=PASSWORD)

    page = client.get(reverse("admin:invoices_invoice_change", args=[october_draft.pk]))
    response = client.get(reverse("admin:invoices_invoice_preview", args=[october_draft.pk]))

    assert "Preview as PDF" in page.content.decode()
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    october_draft.refresh_from_db()
    assert not october_draft.pdf_sha256  # a preview is never stored


@pytest.mark.parametrize(
    ("who", "status"), [("finance_user", 200), ("support_user", 403), ("other_staff", 403)]
)
def test_who_may_open_pdfs_in_the_admin(request, client, issued, who, status):
    user = request.getfixturevalue(who)
    client.login(username=user.username, password=PASSWORD)

    response = client.get(reverse("admin:invoices_invoice_pdf", args=[issued.pk]))

    assert response.status_code == status


def test_finance_sends_a_failed_e_mail_again_to_the_corrected_address(
    client, issued, finance_user, dead_mail_server, settings, celery_eager,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.BILLING_EMAIL_MAX_ATTEMPTS = 1
    with pytest.raises(EmailNotSent):
        documents.invoice_send_email(invoice=issued)
    assert invoice_send_email.delay(issued.pk).get() == "skipped"  # out of attempts
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    issued.customer.billing_email = "accounts@acme.example"
    issued.customer.save()
    client.login(username=finance_user.username, password=PASSWORD)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:invoices_invoice_changelist"),
            {"action": "resend_email_selected", "_selected_action": [issued.pk]},
            follow=True,
        )

    assert "Queued the e-mail of 1 invoice(s)." in response.content.decode()
    issued.refresh_from_db()
    assert [m.to for m in mail.outbox] == [["accounts@acme.example"]]
    assert issued.emailed_to == "accounts@acme.example" and issued.email_attempts == 1
    assert events(issued, InvoiceEvent.Action.EMAIL_REQUEUED) == 1


def test_support_cannot_resend_e_mails(client, issued, support_user):
    client.login(username=support_user.username, password=PASSWORD)

    response = client.post(
        reverse("admin:invoices_invoice_changelist"),
        {"action": "resend_email_selected", "_selected_action": [issued.pk]},
    )

    assert response.status_code in (200, 302, 403)
    issued.refresh_from_db()
    assert not InvoiceEvent.objects.filter(action=InvoiceEvent.Action.EMAIL_REQUEUED).exists()
