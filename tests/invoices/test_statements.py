"""Statements of account (invoices.statements) and overdue reminders
(services.statements): the running balance of the worked example, the balance brought
forward, void documents left out, ages; reminders on finance's schedule, once per interval,
never for a paid invoice, one e-mail per customer, nothing recorded when sending fails."""

import io
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.core import mail
from pypdf import PdfReader

from invoices.models import FinanceSettings, InvoiceEvent
from invoices.services import invoice_void
from invoices.services.payments import payment_record
from invoices.services.statements import overdue_reminders_send
from invoices.statements import render_statement_pdf, statement_of


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


def reminders_on(**rules):
    settings = FinanceSettings.get_solo()
    settings.reminders_enabled = True
    for name, value in rules.items():
        setattr(settings, name, value)
    settings.save()


def test_the_worked_example_runs_to_104_40(worked_example):
    invoice, _credit = worked_example
    statement = statement_of(invoice.customer, date(2026, 11, 1), date(2026, 11, 5))
    [usd] = statement.currencies
    assert usd.opening == 0
    assert [(e.day.day, e.what, e.charge, e.credit, e.balance) for e in usd.entries] == [
        (3, "Payment for INV-2026-000001", 0, D("50.00"), D("-50.00")),
        (4, "Payment for INV-2026-000001", 0, D("30.00"), D("-80.00")),
        (5, "Invoice INV-2026-000001", D("178.40"), 0, D("98.40")),
        (5, "Credit note CN-2026-000001", 0, D("24.00"), D("74.40")),
        (5, "Payment reversed (INV-2026-000001)", D("30.00"), 0, D("104.40")),
    ]
    assert usd.closing == D("104.40")
    assert usd.ages[0] == ("Not yet due", D("104.40"))


def test_what_came_before_is_brought_forward(worked_example):
    invoice, _ = worked_example
    statement = statement_of(invoice.customer, date(2026, 11, 5), date(2026, 11, 5))
    [usd] = statement.currencies
    assert usd.opening == D("-80.00")  # the two payments of 3 and 4 November
    assert usd.closing == D("104.40")


def test_overdue_invoices_are_marked_and_aged(worked_example):
    invoice, _ = worked_example
    with time_machine.travel("2027-01-20 09:00Z", tick=False):
        statement = statement_of(invoice.customer, date(2026, 11, 1), date(2027, 1, 20))
    [usd] = statement.currencies
    [charged] = [e for e in usd.entries if e.what.startswith("Invoice")]
    assert charged.overdue  # due 5 December, 46 days before
    assert dict(usd.ages)["31-60 days"] == D("104.40")


def test_void_documents_are_left_out(fee_invoice, finance_user):
    invoice_void(invoice=fee_invoice, actor=finance_user, reason="Wrong customer")
    statement = statement_of(fee_invoice.customer, date(2026, 1, 1), date(2026, 11, 5))
    assert statement.currencies == []


def test_the_pdf_reads_as_a_statement(worked_example):
    invoice, _ = worked_example
    pdf = render_statement_pdf(statement_of(invoice.customer, date(2026, 11, 1), date(2026, 11, 5)))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for said in ("Statement of account", "Balance brought forward", "INV-2026-000001",
                 "CN-2026-000001", "Payment reversed", "104.40 USD"):  # fmt: skip
        assert said in text


def test_no_reminders_while_they_are_off(fee_invoice):
    with time_machine.travel("2026-12-20 09:00Z", tick=False):
        assert overdue_reminders_send()["enabled"] is False
    assert mail.outbox == []


def test_reminders_follow_finances_schedule(fee_invoice):
    reminders_on(reminder_after_days=7, reminder_every_days=14, reminder_limit=2)
    due = fee_invoice.due_on  # 5 December
    assert due == date(2026, 12, 5)
    with time_machine.travel("2026-12-11 08:00Z", tick=False):  # 6 days late: not yet
        assert overdue_reminders_send()["sent"] == 0
    with time_machine.travel("2026-12-12 08:00Z", tick=False):
        assert overdue_reminders_send() == {"enabled": True, "sent": 1, "invoices": 1, "failed": 0}
        assert overdue_reminders_send()["sent"] == 0  # run twice: sent once
    [message] = mail.outbox
    assert message.to == [fee_invoice.customer.billing_email]
    assert "Overdue: invoice INV-2026-000001" in message.subject
    assert "INV-2026-000001 (October 2026), due 5 December 2026: 178.40 USD left to pay" in (
        message.body
    )
    assert message.attachments[0][0].startswith("statement-")
    with time_machine.travel("2026-12-25 08:00Z", tick=False):  # 13 days after: not yet
        assert overdue_reminders_send()["sent"] == 0
    with time_machine.travel("2026-12-26 09:00Z", tick=False):
        assert overdue_reminders_send()["sent"] == 1
    with time_machine.travel("2027-01-20 09:00Z", tick=False):  # the limit of 2 reached
        assert overdue_reminders_send()["sent"] == 0
    assert fee_invoice.events.filter(action=InvoiceEvent.Action.REMINDED).count() == 2


def test_a_paid_invoice_is_not_reminded(fee_invoice, finance_user):
    reminders_on()
    payment_record(
        invoice=fee_invoice, actor=finance_user, amount=D("178.40"), received_on=date(2026, 11, 5)
    )
    with time_machine.travel("2026-12-20 09:00Z", tick=False):
        assert overdue_reminders_send()["sent"] == 0


def test_a_failed_e_mail_records_nothing_and_is_tried_again(fee_invoice, settings):
    reminders_on()
    settings.EMAIL_BACKEND = "tests.invoices.test_statements.FailingBackend"
    with time_machine.travel("2026-12-20 09:00Z", tick=False):
        assert overdue_reminders_send()["failed"] == 1
    assert not fee_invoice.events.filter(action=InvoiceEvent.Action.REMINDED).exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel("2026-12-20 10:00Z", tick=False):
        assert overdue_reminders_send()["sent"] == 1


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP down")
