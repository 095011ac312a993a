"""The invoice list and page: query counts that do not grow with the rows, columns, filters,
search; the page shows lines, pricing steps and the audit timeline, and is read-only."""

import itertools
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from customers.models import Customer
from invoices.models import Invoice, InvoiceLine
from invoices.services import (
    credit_note_create,
    invoice_approve,
    invoice_generate_drafts,
    invoice_void,
)

from .conftest import OCTOBER

LIST = reverse("admin:invoices_invoice_changelist")
_serial = itertools.count(1)

# Every page starts with: session, user, the user's permissions, the groups' permissions.
# The list then: the months and the customers to filter by, the count, the page (with the
# customer), the currencies to filter by. No second count of all invoices.
INVOICE_LIST_QUERIES = 9
# An invoice's page: the invoice (with customer, credited invoice and the people who acted),
# its lines (with key and who added them), its timeline (with who acted), its credit notes,
# and its content type (for the history link).
INVOICE_PAGE_QUERIES = 10  # and its payments


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


def make_invoice(period=OCTOBER, currency="USD", issued=False, **fields) -> Invoice:
    n = next(_serial)
    customer = Customer.objects.create(
        name=fields.pop("name", f"Customer {n:03}"), billing_email=f"b{n}@customer.example"
    )
    if issued:
        fields.update(status=Invoice.Status.ISSUED, number=f"INV-2026-{n:06}")
    return Invoice.objects.create(
        customer=customer, period=period, currency=currency, total=D("1.00"), **fields
    )


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def rows_of(response) -> list[list[str]]:
    """The list's cells as text, row by row (without the checkbox)."""
    changelist = response.context["cl"]
    from django.contrib.admin.templatetags.admin_list import results
    from django.utils.html import strip_tags

    return [[strip_tags(cell) for cell in row][1:] for row in results(changelist)]


# --- Query counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_invoices_in_a_fixed_number_of_queries(finance_user, list_in_queries, rows):
    for n in range(rows):
        make_invoice(issued=bool(n % 2), currency="EUR" if n % 3 else "USD")

    shown = list_in_queries(LIST, user=finance_user, queries=INVOICE_LIST_QUERIES)

    assert len(shown) == rows


@pytest.mark.parametrize("rows", [3, 30])
def test_it_filters_and_searches_in_a_fixed_number_of_queries(finance_user, list_in_queries, rows):
    for n in range(rows):
        make_invoice(issued=True, period=OCTOBER if n % 2 else date(2026, 9, 1))

    shown = list_in_queries(
        LIST,
        user=finance_user,
        queries=INVOICE_LIST_QUERIES,
        status="issued",
        period="2026-10",
        q="Customer",
    )

    assert len(shown) == rows // 2


@pytest.mark.parametrize("lines", [2, 12])
def test_it_shows_an_invoice_in_a_fixed_number_of_queries(
    client, finance_user, django_assert_num_queries, lines
):
    invoice = make_invoice(issued=True, approved_by=finance_user)
    for n in range(lines):
        InvoiceLine.objects.create(
            invoice=invoice,
            position=n,
            kind=InvoiceLine.Kind.MANUAL,
            description=f"Line {n}",
            quantity=D(1),
            unit_price=D(1),
            amount=D("1.00"),
            added_by=finance_user,
        )
        invoice.events.create(action="line_added", actor=finance_user)
    client.force_login(finance_user)
    ContentType.objects.clear_cache()  # else the count depends on the tests run before

    with django_assert_num_queries(INVOICE_PAGE_QUERIES):
        response = client.get(reverse("admin:invoices_invoice_change", args=[invoice.pk]))

    assert response.text.count('class="field-description"') == lines


# --- Columns, filters, search ---------------------------------------------------------------


@pytest.fixture
def month(acme, customer_b, plan, key_of, put_usage, finance_user):
    """Acme's October invoice issued (15.10 USD) and Globex's October draft (10.00 USD)."""
    from invoices.models import CustomerPlan

    CustomerPlan.objects.create(customer=customer_b, plan=plan, effective_from=OCTOBER)
    put_usage(key_of(acme), date(2026, 10, 3), "10.000000")
    invoice_generate_drafts(period=OCTOBER)
    issued = invoice_approve(invoice=Invoice.objects.get(customer=acme), actor=finance_user)
    return {"issued": issued, "draft": Invoice.objects.get(customer=customer_b)}


def test_it_shows_number_customer_period_kind_status_total_and_dates(client, finance_user, month):
    client.force_login(finance_user)

    response = client.get(LIST)

    assert rows_of(response) == [
        ["INV-2026-000001", "Acme Voice Ltd", "2026-10", "Invoice", "Issued", "15.10 USD",
         "Unpaid", "5 Nov 2026", "19 Nov 2026"],
        ["Draft", "Globex Transcripts", "2026-10", "Invoice", "Draft", "10.00 USD", "-", "-",
         "-"],
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "draft"}, ["draft"]),
        ({"status": "issued"}, ["issued"]),
        ({"kind": "invoice"}, ["issued", "draft"]),
        ({"period": "2026-10"}, ["issued", "draft"]),
        ({"period": "2026-09"}, []),
        ({"currency": "USD"}, ["issued", "draft"]),
        ({"currency": "EUR"}, []),
        ({"q": "INV-2026-000001"}, ["issued"]),
        ({"q": "globex"}, ["draft"]),
        ({"payment": "unpaid"}, ["issued"]),
        ({"payment": "paid"}, []),
        ({"payment": "overdue"}, []),
    ],
)
def test_it_filters_and_searches(client, finance_user, month, query, expected):
    client.force_login(finance_user)

    response = client.get(LIST, query)

    assert listed(response) == [month[what] for what in expected]


def test_it_filters_by_customer(client, finance_user, month, customer_b):
    client.force_login(finance_user)

    response = client.get(LIST, {"customer": customer_b.pk})

    assert listed(response) == [month["draft"]]
    [customers] = [f for f in response.context["cl"].filter_specs if f.title == "customer"]
    assert (customer_b.pk, "Globex Transcripts") in customers.lookup_choices


def test_it_offers_the_months_invoiced_as_period_filters(client, finance_user, month):
    make_invoice(period=date(2026, 9, 1))
    client.force_login(finance_user)

    response = client.get(LIST)

    [periods] = [f for f in response.context["cl"].filter_specs if f.title == "period"]
    assert periods.lookup_choices == [("2026-10", "2026-10"), ("2026-09", "2026-09")]


# --- The invoice's page ---------------------------------------------------------------------


def change(invoice) -> str:
    return reverse("admin:invoices_invoice_change", args=[invoice.pk])


def test_it_explains_an_invoice_on_its_page(client, finance_user, month):
    client.force_login(finance_user)

    page = client.get(change(month["issued"])).text

    assert "Speech usage, key acme-key-1" in page
    assert "Platform subscription, October 2026" in page
    assert "<li>10.000000 h of usage in October 2026.</li>" in page
    assert "Audit timeline" in page
    assert "Draft generated" in page and "Approved (issued)" in page
    assert "INV-2026-000001, total 15.10 USD." in page
    assert "<dt>Name</dt><dd>Acme Voice Ltd</dd>" in page
    assert "<dt>Name</dt><dd>Example Voice Apps Ltd</dd>" in page


def test_it_links_an_invoice_and_its_credit_notes(client, finance_user, month):
    note = credit_note_create(
        invoice=month["issued"], actor=finance_user, reason="Goodwill", amount=D("1.00")
    )
    client.force_login(finance_user)

    invoice_page = client.get(change(month["issued"])).text
    note_page = client.get(change(note)).text

    assert f'<a href="{change(note)}">CN-2026-000001</a>' in invoice_page
    assert f'Credits <a href="{change(month["issued"])}">INV-2026-000001</a>' in note_page


def test_it_shows_why_an_invoice_was_voided(client, finance_user, month):
    invoice_void(invoice=month["issued"], actor=finance_user, reason="Wrong plan")
    client.force_login(finance_user)

    page = client.get(change(month["issued"]))

    assert "Wrong plan" in page.text
    assert "field-voider" in page.text and "field-paid_on" not in page.text


@pytest.mark.parametrize("what", ["issued", "draft"])
def test_it_shows_an_invoice_read_only(client, finance_user, month, what):
    client.force_login(finance_user)

    response = client.get(change(month[what]))

    assert response.context["has_change_permission"] is False
    assert 'name="_save"' not in response.text
    assert 'name="_continue"' not in response.text
    assert "deletelink" not in response.text


@pytest.mark.parametrize("what", ["issued", "draft"])
def test_it_refuses_a_post_to_an_invoices_page(client, finance_user, month, what):
    invoice = month[what]
    client.force_login(finance_user)

    response = client.post(
        change(invoice), {"total": "0.01", "status": "paid", "lines-TOTAL_FORMS": "0"}
    )

    assert response.status_code == 403
    fresh = Invoice.objects.get(pk=invoice.pk)
    assert (fresh.total, fresh.status) == (invoice.total, invoice.status)


@pytest.mark.parametrize("what", ["issued", "draft"])
def test_it_refuses_to_delete_an_invoice(client, finance_user, month, what):
    client.force_login(finance_user)
    invoice = month[what]

    response = client.post(
        reverse("admin:invoices_invoice_delete", args=[invoice.pk]), {"post": "yes"}
    )
    bulk = client.post(
        LIST, {"action": "delete_selected", "_selected_action": [invoice.pk], "post": "yes"}
    )

    assert response.status_code == 403
    assert bulk.status_code == 302  # "No action selected."
    assert Invoice.objects.filter(pk=invoice.pk).exists()
