"""Payments (invoices.services.payments): several per invoice, reversed never edited, the
balance and the payment state derived from them, overpayments refused, and the stored status
kept in step. The worked example: an invoice of 178.40, a payment of 50, a credit note of 24
and a payment recorded and reversed leave 104.40."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.core.exceptions import ValidationError

from invoices.balances import balances_of
from invoices.exceptions import InvalidTransition, InvoicesError
from invoices.models import Invoice, InvoiceEvent, Payment
from invoices.services import credit_note_create, invoice_mark_paid, invoice_void
from invoices.services.payments import payment_record, payment_reverse


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


def balance(invoice):
    invoice.refresh_from_db()
    return balances_of([invoice])[invoice.pk]


@pytest.fixture
def invoice(fee_invoice):
    return fee_invoice


def test_the_worked_example_leaves_104_40(invoice, finance_user):
    assert (balance(invoice).outstanding, balance(invoice).state()) == (D("178.40"), "unpaid")

    payment_record(
        invoice=invoice, actor=finance_user, amount=D("50"), received_on=date(2026, 11, 3)
    )
    credit_note_create(invoice=invoice, actor=finance_user, reason="Goodwill", amount=D("24"))
    wrong = payment_record(
        invoice=invoice,
        actor=finance_user,
        amount=D("30"),
        received_on=date(2026, 11, 4),
        reference="TX-WRONG",
    )
    reversal = payment_reverse(payment=wrong, actor=finance_user, reason="Another customer's")

    left = balance(invoice)
    assert (left.total, left.credited, left.paid) == (D("178.40"), D("24.00"), D("50.00"))
    assert left.outstanding == D("104.40")
    assert left.state(date(2026, 11, 5)) == "partly paid"
    assert left.state(date(2026, 12, 6)) == "overdue"  # due on 5 December
    assert (reversal.amount, reversal.reverses, reversal.reference) == (D("-30"), wrong, "TX-WRONG")
    assert invoice.status == Invoice.Status.ISSUED
    actions = list(invoice.events.values_list("action", flat=True))
    assert actions.count(InvoiceEvent.Action.PAYMENT) == 2
    assert actions.count(InvoiceEvent.Action.PAYMENT_REVERSED) == 1


def test_the_last_payment_makes_it_paid_and_a_reversal_opens_it_again(invoice, finance_user):
    payment_record(
        invoice=invoice, actor=finance_user, amount=D("100"), received_on=date(2026, 11, 1)
    )
    last = payment_record(
        invoice=invoice,
        actor=finance_user,
        amount=D("78.40"),
        received_on=date(2026, 11, 2),
        reference="BACS 7",
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_on, invoice.payment_reference) == (
        Invoice.Status.PAID,
        date(2026, 11, 2),
        "BACS 7",
    )
    assert balance(invoice).state(date(2027, 1, 1)) == "paid"  # never overdue once paid

    payment_reverse(payment=last, actor=finance_user, reason="Bounced")

    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_on, invoice.payment_reference) == (
        Invoice.Status.ISSUED,
        None,
        "",
    )
    assert balance(invoice).outstanding == D("78.40")


def test_it_refuses_an_overpayment_and_a_payment_of_nothing(invoice, finance_user):
    with pytest.raises(InvoicesError, match=r"more than the 178\.40 USD left to pay"):
        payment_record(
            invoice=invoice, actor=finance_user, amount=D("178.41"), received_on=date(2026, 11, 1)
        )
    with pytest.raises(InvoicesError, match="above zero"):
        payment_record(
            invoice=invoice, actor=finance_user, amount=D("0"), received_on=date(2026, 11, 1)
        )
    with pytest.raises(InvoicesError, match="future"):
        payment_record(
            invoice=invoice, actor=finance_user, amount=D("1"), received_on=date(2026, 11, 6)
        )
    assert not Payment.objects.exists()


def test_a_payment_is_reversed_once_and_a_reversal_never(invoice, finance_user):
    payment = payment_record(
        invoice=invoice, actor=finance_user, amount=D("10"), received_on=date(2026, 11, 1)
    )
    with pytest.raises(InvoicesError, match="why"):
        payment_reverse(payment=payment, actor=finance_user, reason=" ")
    reversal = payment_reverse(payment=payment, actor=finance_user, reason="Typo")

    with pytest.raises(InvalidTransition, match="reversed already"):
        payment_reverse(payment=payment, actor=finance_user, reason="Again")
    with pytest.raises(InvalidTransition, match="not reversed"):
        payment_reverse(payment=reversal, actor=finance_user, reason="Undo the undo")


def test_a_payment_is_never_changed_or_deleted(invoice, finance_user):
    payment = payment_record(
        invoice=invoice, actor=finance_user, amount=D("10"), received_on=date(2026, 11, 1)
    )
    payment.amount = D("20")
    with pytest.raises(ValidationError, match="never changed"):
        payment.save()
    with pytest.raises(ValidationError, match="never deleted"):
        payment.delete()
    assert Payment.objects.get().amount == D("10")


def test_drafts_void_invoices_and_credit_notes_take_no_payment(invoice, finance_user):
    note = credit_note_create(invoice=invoice, actor=finance_user, reason="Goodwill", amount=D("1"))
    with pytest.raises(InvalidTransition, match="Only an issued invoice takes a payment"):
        payment_record(
            invoice=note, actor=finance_user, amount=D("1"), received_on=date(2026, 11, 1)
        )


def test_an_invoice_with_payments_is_voided_only_once_they_are_reversed(invoice, finance_user):
    payment = payment_record(
        invoice=invoice, actor=finance_user, amount=D("10"), received_on=date(2026, 11, 1)
    )
    with pytest.raises(InvalidTransition, match="reverse them first"):
        invoice_void(invoice=invoice, actor=finance_user, reason="Wrong customer")

    payment_reverse(payment=payment, actor=finance_user, reason="Wrong customer")
    voided = invoice_void(invoice=invoice, actor=finance_user, reason="Wrong customer")
    assert voided.status == Invoice.Status.VOID
    with pytest.raises(InvalidTransition):
        payment_record(
            invoice=voided, actor=finance_user, amount=D("1"), received_on=date(2026, 11, 1)
        )


def test_marking_paid_records_one_payment_of_what_is_left(invoice, finance_user):
    credit_note_create(invoice=invoice, actor=finance_user, reason="Goodwill", amount=D("24"))

    paid = invoice_mark_paid(
        invoice=invoice, actor=finance_user, paid_on=date(2026, 11, 4), reference="R1"
    )

    [payment] = paid.payments.all()
    assert (payment.amount, payment.received_on, payment.reference) == (
        D("154.40"),
        date(2026, 11, 4),
        "R1",
    )
    assert paid.status == Invoice.Status.PAID and balance(paid).outstanding == 0


def test_a_fully_credited_invoice_reads_credited_not_paid(invoice, finance_user):
    credit_note_create(invoice=invoice, actor=finance_user, reason="Cancelled")
    assert balance(invoice).state() == "credited"
    with pytest.raises(InvalidTransition, match="Nothing is left to pay"):
        invoice_mark_paid(invoice=invoice, actor=finance_user, paid_on=date(2026, 11, 4))


def test_the_balances_of_a_page_are_two_queries(invoice, finance_user, django_assert_num_queries):
    payment_record(
        invoice=invoice, actor=finance_user, amount=D("8"), received_on=date(2026, 11, 1)
    )
    with django_assert_num_queries(2):
        found = balances_of([invoice])
    assert found[invoice.pk].outstanding == D("170.40")


def test_invoices_marked_paid_before_become_one_payment_each(invoice, finance_user):
    import importlib

    from django.apps import apps

    credit_note_create(invoice=invoice, actor=finance_user, reason="Goodwill", amount=D("24"))
    Invoice.objects.filter(pk=invoice.pk).update(
        status=Invoice.Status.PAID,
        paid_on=date(2026, 11, 2),
        payment_reference="OLD-1",
        paid_marked_by=finance_user,
    )  # as "mark paid" left it before payments
    migration = importlib.import_module("invoices.migrations.0012_payments")

    migration.paid_invoices_to_payments(apps, None)

    [payment] = Payment.objects.all()
    assert (payment.invoice_id, payment.amount, payment.received_on) == (
        invoice.pk,
        D("154.40"),
        date(2026, 11, 2),
    )
    assert (payment.reference, payment.recorded_by) == ("OLD-1", finance_user)
    assert balance(invoice).outstanding == 0


def test_a_customer_s_balance_is_summed_per_currency_with_what_is_overdue(invoice, finance_user):
    from invoices.balances import CustomerBalance, customer_balances

    due = invoice.due_on
    assert customer_balances(invoice.customer) == [
        CustomerBalance("USD", D("178.40"), D("0"), 1, due)
    ]
    payment_record(
        invoice=invoice, actor=finance_user, amount=D("100"), received_on=date(2026, 11, 1)
    )
    late = customer_balances(invoice.customer, today=date(2027, 1, 1))
    assert late == [CustomerBalance("USD", D("78.40"), D("78.40"), 1, None)]
    payment_record(
        invoice=invoice, actor=finance_user, amount=D("78.40"), received_on=date(2026, 11, 2)
    )
    assert customer_balances(invoice.customer) == []
