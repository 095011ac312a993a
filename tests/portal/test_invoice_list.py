"""The invoice list: the customer's issued, paid and void invoices and credit notes, never a
draft, never another customer's; paginated; its query count does not grow with rows."""

import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from invoices.models import Invoice
from invoices.services import (
    credit_note_create,
    invoice_generate_drafts,
    invoice_mark_paid,
    invoice_void,
)

from .conftest import OCTOBER

LIST = reverse("portal:invoices")
SEPTEMBER = date(2026, 9, 1)
AUGUST = date(2026, 8, 1)
ROW = re.compile(r"<tr[^>]*>\s*<td class=\"lead nowrap\">([^<]+)</td>")


def numbers_on(response) -> list[str]:
    return ROW.findall(response.content.decode())


@pytest.fixture
def documents(acme, finance_user, key_of, put_usage, issue):
    """Acme: August paid, September voided, October issued with a credit note, and a
    November draft."""
    key = key_of(acme, "acme-key-1")
    for day, hours in ((date(2026, 8, 2), "1.000000"), (date(2026, 9, 2), "2.000000")):
        put_usage(key, day, hours)
    put_usage(key, date(2026, 10, 3), "10.000000")
    august = invoice_mark_paid(
        invoice=issue(acme, AUGUST), actor=finance_user, paid_on=date(2026, 9, 20)
    )
    september = invoice_void(invoice=issue(acme, SEPTEMBER), actor=finance_user, reason="Wrong")
    october = issue(acme, OCTOBER)
    note = credit_note_create(
        invoice=october, actor=finance_user, reason="Goodwill", amount=D("2.00")
    )
    put_usage(key, date(2026, 11, 2), "3.000000")
    invoice_generate_drafts(period=date(2026, 11, 1), customers=[acme])
    draft = Invoice.objects.get(customer=acme, status=Invoice.Status.DRAFT)
    return {
        "august": august,
        "september": september,
        "october": october,
        "note": note,
        "draft": draft,
    }


def test_it_lists_issued_paid_void_invoices_and_credit_notes(client, customer_a_user, documents):
    client.force_login(customer_a_user)

    response = client.get(LIST)

    expected = [documents[k].number for k in ("note", "october", "september", "august")]
    assert sorted(numbers_on(response)) == sorted(expected)
    page = response.content.decode()
    assert "Credit note" in page and f"for {documents['october'].number}" in page
    assert "Paid" in page and "Void" in page and "Issued" in page


def test_it_never_lists_a_draft(client, customer_a_user, documents):
    client.force_login(customer_a_user)

    response = client.get(LIST)

    assert len(numbers_on(response)) == 4
    assert all(invoice.status != Invoice.Status.DRAFT for invoice in response.context["page"])
    assert str(documents["draft"].public_id) not in response.content.decode()


def test_it_shows_a_row_with_its_totals_dates_and_download(client, customer_a_user, documents):
    client.force_login(customer_a_user)
    october = documents["october"]

    page = client.get(LIST).content.decode()

    row = page[page.index(f">{october.number}<") :]
    row = row[: row.index("</tr>")]
    assert "Oct 2026" in row
    assert "15.10 USD" in row
    assert "20 Nov 2026" in row  # issued
    assert "4 Dec 2026" in row  # due after 14 days
    assert reverse("portal:invoice_pdf", args=[october.public_id]) in row
    note_row = page[page.index(f">{documents['note'].number}<") :]
    assert "-2.40 USD" in note_row[: note_row.index("</tr>")]


def test_it_lists_only_the_users_customer(client, customer_b_user, documents, globex_october):
    client.force_login(customer_b_user)

    response = client.get(LIST)

    assert numbers_on(response) == [globex_october.number]


def test_it_shows_an_empty_list_kindly(client, customer_a_user):
    client.force_login(customer_a_user)

    response = client.get(LIST)

    assert response.status_code == 200
    assert "No invoices yet" in response.content.decode()


def test_it_pages_by_25_newest_first(client, customer_a_user, finance_user, acme_october):
    # Twenty-five small credit notes and the invoice: 26 documents.
    notes = [
        credit_note_create(
            invoice=acme_october, actor=finance_user, reason=f"Credit {n}", amount=D("0.10")
        )
        for n in range(25)
    ]
    client.force_login(customer_a_user)

    first = client.get(LIST)
    second = client.get(LIST, {"page": 2})

    assert numbers_on(first) == [n.number for n in reversed(notes)]
    assert numbers_on(second) == [acme_october.number]
    assert 'href="?page=2"' in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()


def test_its_query_count_does_not_grow_with_rows(
    client, customer_a_user, finance_user, documents, django_assert_num_queries
):
    client.force_login(customer_a_user)
    # session, user, membership, count, page; the page's credit notes and payments
    with django_assert_num_queries(7):
        assert len(numbers_on(client.get(LIST))) == 4

    for n in range(6):
        credit_note_create(
            invoice=documents["october"], actor=finance_user, reason=f"C{n}", amount=D("0.10")
        )

    with django_assert_num_queries(7):
        assert len(numbers_on(client.get(LIST))) == 10


def test_each_invoice_says_what_is_left_to_pay(client, customer_a_user, finance_user, documents):
    from invoices.services.payments import payment_record

    october, note = documents["october"], documents["note"]
    payment_record(
        invoice=october, actor=finance_user, amount=D("1.00"), received_on=date(2026, 11, 3)
    )
    client.force_login(customer_a_user)

    page = client.get(LIST).content.decode()

    left = october.total + note.total - D("1.00")  # the note's total is below zero
    assert f'{left} USD<span class="sub">partly paid</span>' in page
    assert '<span class="pay-state pay-paid">Paid</span>' in page  # August
