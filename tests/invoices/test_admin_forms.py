"""Finance's form pages: void, credit note, mark paid, manual line, generate drafts. Bad input
is refused by the form; what the service refuses comes back as its own words."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from invoices.models import Invoice, InvoiceLine
from invoices.services import (
    credit_note_create,
    invoice_approve,
    invoice_generate_drafts,
    invoice_void,
)

from .conftest import OCTOBER

REQUIRED = ["This field is required."]


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


@pytest.fixture
def draft(acme, key_of, put_usage):
    """Acme's October draft: 10 h at 0.258 plus the 10.00 fee; 12.58 + 20 % tax = 15.10 USD."""
    put_usage(key_of(acme), date(2026, 10, 3), "10.000000")
    return invoice_generate_drafts(period=OCTOBER).created[0]


@pytest.fixture
def issued(draft, support_user):
    return invoice_approve(invoice=draft, actor=support_user)


def url(name: str, invoice) -> str:
    return reverse(f"admin:invoices_invoice_{name}", args=[invoice.pk])


def page_of(invoice) -> str:
    return reverse("admin:invoices_invoice_change", args=[invoice.pk])


def errors(response) -> dict:
    return response.context["form"].errors


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Void -----------------------------------------------------------------------------------


def test_it_voids_an_issued_invoice_with_a_reason(finance, finance_user, issued):
    response = finance.post(url("void", issued), {"reason": " Wrong plan "})

    assert response.status_code == 302 and response["Location"] == page_of(issued)
    issued.refresh_from_db()
    assert (issued.status, issued.void_reason, issued.voided_by) == (
        Invoice.Status.VOID,
        "Wrong plan",
        finance_user,
    )
    assert said(response) == ["Voided INV-2026-000001."]


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_wants_a_reason_to_void(finance, issued, reason):
    response = finance.post(url("void", issued), {"reason": reason})

    assert response.status_code == 200
    assert errors(response) == {"reason": REQUIRED}
    assert Invoice.objects.get(pk=issued.pk).status == Invoice.Status.ISSUED


def test_it_shows_why_a_draft_cannot_be_voided(finance, draft):
    response = finance.post(url("void", draft), {"reason": "Wrong plan"})

    assert errors(response) == {
        "__all__": ["Only an issued invoice can be voided; Draft Acme Voice Ltd 2026-10 is draft."]
    }
    assert Invoice.objects.get(pk=draft.pk).status == Invoice.Status.DRAFT


# --- Credit note ----------------------------------------------------------------------------


def test_it_credits_what_is_left_in_full(finance, finance_user, issued):
    response = finance.post(url("credit", issued), {"scope": "full", "reason": "Goodwill"})

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert response["Location"] == page_of(note)
    assert (note.number, note.credits, note.approved_by) == ("CN-2026-000001", issued, finance_user)
    assert (note.subtotal, note.tax, note.total) == (D("-12.58"), D("-2.52"), D("-15.10"))
    assert said(response) == ["Issued credit note CN-2026-000001 for 15.10 USD."]


def test_it_credits_a_net_amount(finance, issued):
    finance.post(
        url("credit", issued),
        {"scope": "partial", "amount": "5.00", "reason": "Outage on 3 October"},
    )

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert (note.subtotal, note.tax, note.total) == (D("-5.00"), D("-1.00"), D("-6.00"))
    assert note.lines.get().description == "Credit for INV-2026-000001: Outage on 3 October"


def test_it_shows_what_is_left_to_credit(finance, issued, finance_user):
    credit_note_create(invoice=issued, actor=finance_user, reason="Goodwill", amount=D("5.00"))

    response = finance.get(url("credit", issued))

    assert "Left to credit: <strong>7.58 USD</strong>" in response.text


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("", "Give the net amount to credit."),
        ("0", "The amount must be more than 0."),
        ("-1.00", "The amount must be more than 0."),
        ("ten", "Enter a number."),
        ("1.005", "USD amounts have at most 2 decimals; 1.005 has more."),
        ("1.0005", "Ensure that there are no more than 3 decimal places."),
        ("12.59", "A credit must be more than 0 and at most 12.58 USD (what is left to credit)."),
    ],
)
def test_it_refuses_a_bad_partial_amount(finance, issued, amount, error):
    response = finance.post(
        url("credit", issued), {"scope": "partial", "amount": amount, "reason": "Goodwill"}
    )

    assert response.status_code == 200
    assert errors(response) == {"amount": [error]}
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_a_voided_credit_note_leaves_its_amount_to_credit(finance, issued, finance_user):
    note = credit_note_create(invoice=issued, actor=finance_user, reason="Typo", amount=D("5.00"))
    invoice_void(invoice=note, actor=finance_user, reason="Issued by mistake")

    response = finance.get(url("credit", issued))

    assert "Left to credit: <strong>12.58 USD</strong>" in response.text  # what the service allows


def test_it_refuses_to_credit_more_than_is_left(finance, issued, finance_user):
    credit_note_create(invoice=issued, actor=finance_user, reason="Closed")

    response = finance.post(url("credit", issued), {"scope": "full", "reason": "Again"})

    assert errors(response) == {
        "__all__": ["A credit must be more than 0 and at most 0.00 USD (what is left to credit)."]
    }
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1


def test_it_wants_a_reason_for_a_credit_note(finance, issued):
    response = finance.post(url("credit", issued), {"scope": "full", "reason": " "})

    assert errors(response) == {"reason": REQUIRED}


def test_it_shows_why_a_draft_cannot_be_credited(finance, draft):
    response = finance.post(url("credit", draft), {"scope": "full", "reason": "Goodwill"})

    assert errors(response) == {"__all__": ["Only an issued or paid invoice can be credited."]}


# --- Mark paid ------------------------------------------------------------------------------


def test_it_offers_today_as_the_payment_date(finance, issued):
    response = finance.get(url("mark_paid", issued))

    assert 'name="paid_on" value="2026-11-05"' in response.text


@pytest.mark.parametrize("paid_on", ["2026-11-05", "2026-10-20"])
def test_it_marks_an_invoice_paid(finance, finance_user, issued, paid_on):
    response = finance.post(url("mark_paid", issued), {"paid_on": paid_on, "reference": "TX-9"})

    assert response["Location"] == page_of(issued)
    issued.refresh_from_db()
    assert (issued.status, issued.paid_on, issued.payment_reference, issued.paid_marked_by) == (
        Invoice.Status.PAID,
        date.fromisoformat(paid_on),
        "TX-9",
        finance_user,
    )
    assert said(response) == ["Marked INV-2026-000001 paid."]


@pytest.mark.parametrize(
    ("paid_on", "error"),
    [
        ("2026-11-06", "A payment cannot be recorded before it was made."),
        ("", "This field is required."),
        ("yesterday", "Enter a valid date."),
    ],
)
def test_it_refuses_a_bad_payment_date(finance, issued, paid_on, error):
    response = finance.post(url("mark_paid", issued), {"paid_on": paid_on})

    assert errors(response) == {"paid_on": [error]}
    assert Invoice.objects.get(pk=issued.pk).status == Invoice.Status.ISSUED


def test_it_shows_why_a_paid_invoice_cannot_be_paid_again(finance, issued):
    finance.post(url("mark_paid", issued), {"paid_on": "2026-11-05"})

    response = finance.post(url("mark_paid", issued), {"paid_on": "2026-11-05"})

    assert errors(response) == {
        "__all__": ["Only an issued invoice can be marked paid; INV-2026-000001 is paid."]
    }


# --- Manual line ----------------------------------------------------------------------------


def test_it_adds_a_manual_line_to_a_draft(finance, finance_user, draft):
    response = finance.post(
        url("add_line", draft), {"description": "Onboarding", "quantity": "1", "unit_price": "50"}
    )

    assert response["Location"] == page_of(draft)
    draft.refresh_from_db()
    line = draft.lines.get(kind=InvoiceLine.Kind.MANUAL)
    assert (line.description, line.amount, line.added_by) == (
        "Onboarding",
        D("50.00"),
        finance_user,
    )
    assert (draft.subtotal, draft.total) == (D("62.58"), D("75.10"))
    assert said(response) == ["Added 'Onboarding' (50.00 USD)."]


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"description": "", "quantity": "1", "unit_price": "5"}, "description", REQUIRED[0]),
        ({"description": "x", "quantity": "0", "unit_price": "5"}, "quantity", None),
        ({"description": "x", "quantity": "1", "unit_price": ""}, "unit_price", REQUIRED[0]),
    ],
)
def test_it_refuses_a_bad_manual_line(finance, draft, data, field, error):
    response = finance.post(url("add_line", draft), data)

    assert list(errors(response)) == [field]
    assert error is None or errors(response)[field] == [error]
    assert not draft.lines.filter(kind=InvoiceLine.Kind.MANUAL).exists()


def test_it_shows_why_an_issued_invoice_takes_no_manual_line(finance, issued):
    response = finance.post(
        url("add_line", issued), {"description": "Extra", "quantity": "1", "unit_price": "5"}
    )

    assert errors(response) == {
        "__all__": ["INV-2026-000001 is issued: add a credit note instead."]
    }
    assert not issued.lines.filter(kind=InvoiceLine.Kind.MANUAL).exists()


# --- Generate drafts ------------------------------------------------------------------------

GENERATE = reverse("admin:invoices_invoice_generate")


def test_it_offers_last_month_to_generate(finance):
    response = finance.get(GENERATE)

    assert response.context["form"]["period"].value() == "2026-10"


def test_it_generates_the_drafts_of_a_month(finance, finance_user, acme, customer_b):
    response = finance.post(GENERATE, {"period": "2026-10"})

    assert response["Location"] == f"{reverse('admin:invoices_invoice_changelist')}?period=2026-10"
    assert said(response) == [
        "Drafts for 2026-10: created 1, refreshed 0, unchanged 0; skipped 0 already issued, "
        "0 with nothing to bill, 1 without a price plan."
    ]
    draft = Invoice.objects.get()
    assert (draft.customer, draft.period, draft.events.get().actor) == (acme, OCTOBER, finance_user)


def test_it_reports_unchanged_and_issued_drafts(finance, issued, customer_b, plan, acme):
    from invoices.models import CustomerPlan

    CustomerPlan.objects.create(customer=customer_b, plan=plan, effective_from=OCTOBER)
    finance.post(GENERATE, {"period": "2026-10"})

    response = finance.post(GENERATE, {"period": "2026-10"})

    assert said(response)[-2:] == [
        "Drafts for 2026-10: created 0, refreshed 0, unchanged 1; skipped 1 already issued, "
        "0 with nothing to bill, 0 without a price plan.",
        "1 draft(s) for customers without billing terms: they cannot be approved until the "
        "customer has terms (tax rate, payment terms).",
    ]


@pytest.mark.parametrize(
    ("period", "error"),
    [
        ("2026-13", "Give the month as YYYY-MM, e.g. 2026-10."),
        ("Oct 2026", "Give the month as YYYY-MM, e.g. 2026-10."),
        ("", "This field is required."),
        ("2026-12", "That month has not started yet."),
    ],
)
def test_it_refuses_a_bad_month(finance, acme, period, error):
    response = finance.post(GENERATE, {"period": period})

    assert errors(response) == {"period": [error]}
    assert not Invoice.objects.exists()
