"""The CSV export for accounting: a month's issued, paid and void invoices and its credit
notes, exactly; drafts and other months left out."""

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from customers.models import Customer
from invoices.models import CustomerPlan, Invoice
from invoices.services import (
    credit_note_create,
    invoice_approve,
    invoice_generate_drafts,
    invoice_mark_paid,
    invoice_void,
)

from .conftest import OCTOBER, no_tax_terms

EXPORT = reverse("admin:invoices_invoice_export")
HEADER = "number,kind,customer,period,issued_on,due_on,status,currency,subtotal,tax,total,credits"


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


def customer_on(plan, name: str, since=OCTOBER) -> Customer:
    customer = Customer.objects.create(name=name, billing_email="ap@customer.example")
    CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=since)
    no_tax_terms(customer)  # approval needs terms
    return customer


def approve_all(period, actor) -> list[Invoice]:
    invoice_generate_drafts(period=period)
    drafts = Invoice.objects.filter(period=period, status=Invoice.Status.DRAFT)
    return [invoice_approve(invoice=d, actor=actor) for d in drafts.order_by("customer__name")]


@pytest.fixture
def october(acme, plan, key_of, put_usage, finance_user):
    """Acme issued and partly credited, Globex paid, Initech voided and drafted again, and a
    September invoice for Acme."""
    put_usage(key_of(acme), date(2026, 10, 3), "10.000000")
    for name in ["Globex Transcripts", "Initech Speech"]:
        customer_on(plan, name)
    acme_inv, globex_inv, initech_inv = approve_all(OCTOBER, finance_user)
    credit_note_create(invoice=acme_inv, actor=finance_user, reason="Goodwill", amount=D("5"))
    invoice_mark_paid(invoice=globex_inv, actor=finance_user, paid_on=date(2026, 11, 4))
    invoice_void(invoice=initech_inv, actor=finance_user, reason="Wrong plan")
    invoice_generate_drafts(period=OCTOBER)
    approve_all(date(2026, 9, 1), finance_user)


def test_it_exports_a_months_documents_exactly(client, finance_user, october):
    client.force_login(finance_user)

    response = client.get(EXPORT, {"period": "2026-10"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-10.csv"'
    assert response.content.decode() == (
        f"{HEADER}\r\n"
        "INV-2026-000001,invoice,Acme Voice Ltd,2026-10,2026-11-05,2026-11-19,issued,USD,"
        "12.58,2.52,15.10,\r\n"
        "INV-2026-000002,invoice,Globex Transcripts,2026-10,2026-11-05,2026-12-05,paid,USD,"
        "10.00,0.00,10.00,\r\n"
        "INV-2026-000003,invoice,Initech Speech,2026-10,2026-11-05,2026-12-05,void,USD,"
        "10.00,0.00,10.00,\r\n"
        "CN-2026-000001,credit_note,Acme Voice Ltd,2026-10,2026-11-05,,issued,USD,"
        "-5.00,-1.00,-6.00,INV-2026-000001\r\n"
    )


def test_it_exports_a_month_without_documents_as_a_header(client, finance_user, october):
    client.force_login(finance_user)

    response = client.get(EXPORT, {"period": "2026-08"})

    assert response.content.decode() == f"{HEADER}\r\n"


def test_it_names_the_buyer_as_printed_and_never_as_a_formula(client, finance_user, plan):
    customer = customer_on(plan, "Plain name")
    customer.legal_name = "=HYPERLINK(1)"
    customer.save()
    approve_all(OCTOBER, finance_user)
    client.force_login(finance_user)

    response = client.get(EXPORT, {"period": "2026-10"})

    [_, row] = response.content.decode().splitlines()
    assert row.split(",")[2] == "'=HYPERLINK(1)"


@pytest.mark.parametrize("name", [" =1+1", "\t=1+1", "\n=1+1", "\uff1d1+1", "|calc", "-2+3"])
def test_it_neutralises_every_formula_start_in_the_buyer_name(client, finance_user, plan, name):
    customer = customer_on(plan, "Plain name")
    customer.legal_name = name
    customer.save()
    approve_all(OCTOBER, finance_user)
    client.force_login(finance_user)

    response = client.get(EXPORT, {"period": "2026-10"})

    [_, row] = csv.reader(io.StringIO(response.content.decode()))
    assert row[2] == f"'{name}"


def test_it_keeps_a_credit_notes_negative_amounts_numbers(client, finance_user, october):
    client.force_login(finance_user)

    response = client.get(EXPORT, {"period": "2026-10"})

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    [credit] = [row for row in rows if row["kind"] == "credit_note"]
    assert [credit[c] for c in ("subtotal", "tax", "total")] == ["-5.00", "-1.00", "-6.00"]
    assert D(credit["total"]) == D("-6.00")


def test_it_asks_for_the_month(client, finance_user):
    client.force_login(finance_user)

    response = client.get(EXPORT)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/invoices/invoice/export.html"
    assert '<form method="get"' in response.text
    assert not response.context["form"].errors


@pytest.mark.parametrize(
    ("period", "error"),
    [
        ("2026-1", "Give the month as YYYY-MM, e.g. 2026-10."),
        ("2027-01", "That month has not started yet."),
    ],
)
def test_it_refuses_a_bad_month(client, finance_user, period, error):
    client.force_login(finance_user)

    response = client.get(EXPORT, {"period": period})

    assert response["Content-Type"].startswith("text/html")
    assert response.context["form"].errors == {"period": [error]}
