"""Issuing (invoices.services.issuing): approve, void, mark paid, manual lines."""

import socket
from datetime import date
from decimal import Decimal as D

import pytest

from invoices.documents import documents_to_deliver
from invoices.exceptions import (
    FourEyesViolation,
    InvalidTransition,
    InvoiceLocked,
    InvoicesError,
    StaleDraft,
)
from invoices.models import Invoice, InvoiceEvent, InvoiceLine
from invoices.services import (
    credit_note_create,
    invoice_add_manual_line,
    invoice_approve,
    invoice_generate_drafts,
    invoice_mark_paid,
    invoice_void,
)

from .conftest import OCTOBER


def test_it_issues_with_the_next_number_and_snapshots(october_draft, finance_user, settings):
    settings.BILLING_COMPANY_NAME = "Voice Apps Ltd"

    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    assert issued.number.startswith(f"INV-{issued.issued_on.year}-") and issued.number.endswith(
        "000001"
    )
    assert issued.status == Invoice.Status.ISSUED
    assert issued.seller["name"] == "Voice Apps Ltd"
    assert issued.buyer["name"] == "Acme Voice Ltd"
    assert (issued.due_on - issued.issued_on).days == 14
    assert issued.billed_usage.count() == 2
    assert InvoiceEvent.objects.filter(
        invoice=issued, action="approved", actor=finance_user
    ).exists()


def test_it_refuses_a_stale_draft(october_draft, put_usage, finance_user):
    put_usage(october_draft.lines.first().api_key, date(2026, 10, 30), "1.000000")

    with pytest.raises(StaleDraft):
        invoice_approve(invoice=october_draft, actor=finance_user)

    october_draft.refresh_from_db()
    assert october_draft.status == Invoice.Status.DRAFT and october_draft.number is None


def test_it_keeps_four_eyes_on_manual_lines(october_draft, finance_user, support_user):
    invoice_add_manual_line(
        invoice=october_draft,
        actor=finance_user,
        description="Onboarding",
        quantity=D("1"),
        unit_price=D("50"),
    )

    with pytest.raises(FourEyesViolation):
        invoice_approve(invoice=october_draft, actor=finance_user)

    issued = invoice_approve(invoice=october_draft, actor=support_user)
    assert issued.subtotal == D("63.23")
    assert issued.lines.filter(kind=InvoiceLine.Kind.MANUAL).count() == 1


def test_it_never_changes_or_deletes_an_issued_invoice(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    with pytest.raises(InvoiceLocked):
        issued.delete()
    with pytest.raises(InvoiceLocked):
        invoice_add_manual_line(
            invoice=issued, actor=finance_user, description="x", quantity=D("1"), unit_price=D("1")
        )
    with pytest.raises(InvalidTransition):
        invoice_approve(invoice=issued, actor=finance_user)
    assert invoice_generate_drafts(period=OCTOBER).skipped_issued == 1


def test_it_voids_and_lets_the_month_be_billed_again(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    with pytest.raises(InvoicesError):
        invoice_void(invoice=issued, actor=finance_user, reason=" ")
    voided = invoice_void(invoice=issued, actor=finance_user, reason="Wrong plan")
    report = invoice_generate_drafts(period=OCTOBER)

    assert voided.status == Invoice.Status.VOID and voided.number == issued.number
    assert len(report.created) == 1
    again = invoice_approve(invoice=report.created[0], actor=finance_user)
    assert again.number.endswith("000002")


def test_it_marks_an_issued_invoice_paid(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    paid = invoice_mark_paid(
        invoice=issued, actor=finance_user, paid_on=date(2026, 11, 20), reference="BACS 123"
    )

    assert (paid.status, paid.paid_on, paid.payment_reference) == (
        Invoice.Status.PAID,
        date(2026, 11, 20),
        "BACS 123",
    )
    with pytest.raises(InvalidTransition):
        invoice_mark_paid(invoice=paid, actor=finance_user, paid_on=date(2026, 11, 21))


def test_it_refuses_to_void_an_invoice_with_live_credit_notes(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)
    note = credit_note_create(
        invoice=issued, actor=finance_user, reason="Goodwill", amount=D("1.00")
    )

    with pytest.raises(InvalidTransition, match="void them first"):
        invoice_void(invoice=issued, actor=finance_user, reason="Wrong")

    invoice_void(invoice=note, actor=finance_user, reason="Issued by mistake")
    again = credit_note_create(invoice=issued, actor=finance_user, reason="In full")
    assert again.subtotal == D("-13.23")  # the voided note no longer counts


def test_it_refuses_a_payment_in_the_future_and_a_credit_without_reason(
    october_draft, finance_user
):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    with pytest.raises(InvoicesError, match="future"):
        invoice_mark_paid(invoice=issued, actor=finance_user, paid_on=date(2999, 1, 1))
    with pytest.raises(InvoicesError, match="reason"):
        credit_note_create(invoice=issued, actor=finance_user, reason="  ")


def test_it_refuses_a_draft_refreshed_after_it_was_reviewed(october_draft, finance_user):
    with pytest.raises(StaleDraft, match="after it was reviewed"):
        invoice_approve(invoice=october_draft, actor=finance_user, expected_fingerprint="x")

    issued = invoice_approve(
        invoice=october_draft,
        actor=finance_user,
        expected_fingerprint=october_draft.usage_fingerprint,
    )
    assert issued.status == Invoice.Status.ISSUED


@pytest.fixture
def broker_down():
    """The Celery app publishing to a port where nothing listens: a real refused connection,
    with no retries, so the on-commit task call fails at once."""
    from billing_portal.celery import app

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{holder.getsockname()[1]}/0"
        saved = app.conf.broker_url, app.conf.task_publish_retry
        app.conf.broker_url, app.conf.task_publish_retry = url, False
        app._pool = None
        app.amqp._producer_pool = None
        yield
        app.conf.broker_url, app.conf.task_publish_retry = saved
        app._pool = None
        app.amqp._producer_pool = None


def test_a_broker_down_at_approval_leaves_the_invoice_issued_and_logs_the_error(
    october_draft, finance_user, broker_down, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        issued = invoice_approve(invoice=october_draft, actor=finance_user)

    assert len(callbacks) == 1
    issued.refresh_from_db()
    assert issued.status == Invoice.Status.ISSUED and issued.number
    assert not issued.pdf_sha256
    failures = [r for r in caplog.records if r.levelname == "ERROR" and "on_commit" in r.msg]
    assert failures and failures[0].exc_info
    # The sweeper queues it again once the broker is back.
    assert issued.pk in documents_to_deliver(older_than_minutes=0)
