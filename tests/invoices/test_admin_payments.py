"""Payments in the admin (invoices.admin_payments): record a partial payment, reverse one,
the payments table and what is left on the invoice's page, the list's payment badge and
filter, and who may do it."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from invoices.models import Invoice, Payment
from invoices.services import credit_note_create
from invoices.services.payments import payment_record

LIST = reverse("admin:invoices_invoice_changelist")


@pytest.fixture
def invoice(fee_invoice):
    return fee_invoice


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


def record_url(invoice):
    return reverse("admin:invoices_invoice_record_payment", args=[invoice.pk])


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_finance_records_a_partial_payment_and_sees_what_is_left(finance, invoice):
    form = finance.get(record_url(invoice)).text
    assert 'name="amount" value="178.40"' in form and "178.40 USD left to pay" in form

    response = finance.post(
        record_url(invoice),
        {
            "amount": "50.00",
            "received_on": "2026-11-03",
            "reference": "BACS 77",
            "method": "bank_transfer",
        },
    )

    assert said(response) == ["Recorded 50.00 USD received on 2026-11-03 for INV-2026-000001."]
    page = finance.get(reverse("admin:invoices_invoice_change", args=[invoice.pk])).text
    assert "BACS 77" in page and "128.40 USD left to pay" in page
    assert "Partly paid" in page and "Reverse</a>" in page
    listing = finance.get(LIST).text
    assert "Partly paid" in listing and "(128.40 left)" in listing


def test_an_overpayment_is_refused_on_the_form(finance, invoice):
    response = finance.post(
        record_url(invoice), {"amount": "200", "received_on": "2026-11-03", "method": "card"}
    )
    assert "more than the 178.40 USD left to pay" in response.text
    assert not Payment.objects.exists()


def test_finance_reverses_a_payment_with_a_reason(finance, finance_user, invoice):
    payment = payment_record(
        invoice=invoice, actor=finance_user, amount=D("30"), received_on=date(2026, 11, 4)
    )
    url = reverse("admin:invoices_invoice_reverse_payment", args=[invoice.pk, payment.pk])
    assert "Reverse payment" in finance.get(url).text

    assert "This field is required" in finance.post(url, {"reason": ""}).text
    response = finance.post(url, {"reason": "Another customer's money"})

    assert said(response) == ["Reversed Payment of 30.00 on 2026-11-04 of INV-2026-000001."]
    assert Payment.objects.get(reverses=payment).amount == D("-30.00")
    page = finance.get(reverse("admin:invoices_invoice_change", args=[invoice.pk])).text
    assert "Another customer" in page and "178.40 USD left to pay" in page


def test_the_list_filters_by_payment_state(finance, finance_user, invoice):
    def numbers(state):
        return [n for n in ["INV-2026-000001"] if n in finance.get(LIST, {"payment": state}).text]

    assert numbers("unpaid") == ["INV-2026-000001"]
    payment_record(
        invoice=invoice, actor=finance_user, amount=D("50"), received_on=date(2026, 11, 3)
    )
    credit_note_create(invoice=invoice, actor=finance_user, reason="Goodwill", amount=D("24"))
    assert numbers("partly") == ["INV-2026-000001"] and numbers("unpaid") == []
    with time_machine.travel("2026-12-06 09:00Z", tick=False):
        finance.force_login(finance_user)  # a month on: a new session
        assert numbers("overdue") == ["INV-2026-000001"] and numbers("partly") == []
    payment_record(
        invoice=invoice, actor=finance_user, amount=D("104.40"), received_on=date(2026, 11, 4)
    )
    assert numbers("paid") == ["INV-2026-000001"]
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


def test_support_may_not_record_or_reverse(client, support_user, finance_user, invoice):
    payment = payment_record(
        invoice=invoice, actor=finance_user, amount=D("1"), received_on=date(2026, 11, 4)
    )
    client.force_login(support_user)
    assert (
        client.post(record_url(invoice), {"amount": "1", "received_on": "2026-11-04"}).status_code
        == 403
    )
    url = reverse("admin:invoices_invoice_reverse_payment", args=[invoice.pk, payment.pk])
    assert client.post(url, {"reason": "x"}).status_code == 403
    assert Payment.objects.count() == 1
