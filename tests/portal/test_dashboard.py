"""The dashboard: this UTC month's total hours so far, per key and per method, a daily chart,
and the latest invoices (never drafts)."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from customers.models import ApiKey
from invoices.services import credit_note_create, invoice_generate_drafts

HOME = reverse("portal:home")


@pytest.fixture
def november_usage(acme, globex, key_of, put_usage):
    """Up to the 20th: a split key with a comment, an unsplit key without one; October and
    Globex's usage must not count."""
    split = key_of(acme, "acme-split", comment="Call centre")
    plain = key_of(acme, "acme-plain", comment="")
    put_usage(split, date(2026, 11, 2), "1.000000", "sync", requests=2)
    put_usage(split, date(2026, 11, 2), "0.500000", "streaming", hours="0.250000", requests=3)
    put_usage(split, date(2026, 11, 19), "2.250000", "sync", requests=4)
    put_usage(plain, date(2026, 11, 1), "4.000001", requests=5)
    put_usage(plain, date(2026, 10, 31), "100.000000")
    put_usage(key_of(globex, "globex-key-1"), date(2026, 11, 2), "50.000000")


def test_it_shows_this_months_total_hours_so_far(client, customer_a_user, november_usage):
    client.force_login(customer_a_user)

    response = client.get(HOME)

    assert response.context["total_hours"] == D("7.750001")
    page = response.content.decode()
    assert "Usage in November 2026" in page
    assert "7.75 h" in page  # to a hundredth (7.750001 stored; the CSV keeps it)
    assert "Total hours: every audio channel counted" in page


def test_it_breaks_the_month_down_by_key_and_method(client, customer_a_user, november_usage):
    client.force_login(customer_a_user)

    response = client.get(HOME)

    by_key = {
        row["comment"] or row["key_id"]: row["total_hours"] for row in response.context["by_key"]
    }
    assert by_key == {"acme-plain": D("4.000001"), "Call centre": D("3.750000")}
    by_method = {row["label"]: row["total_hours"] for row in response.context["by_method"]}
    assert by_method == {
        "Not split by method": D("4.000001"),
        "Pre-recorded (sync)": D("3.250000"),
        "Streaming": D("0.500000"),
    }
    page = response.content.decode()
    assert "<td>Call centre</td>" in page and "<td>acme-plain</td>" in page
    assert "Globex" not in page


def test_it_draws_the_days_as_inline_svg(client, customer_a_user, november_usage):
    client.force_login(customer_a_user)

    response = client.get(HOME)

    chart = response.context["chart"]
    assert (chart.start, chart.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert [bar.day.day for bar in chart.bars] == [1, 2, 19]
    page = response.content.decode()
    assert page.count("<rect ") == 3
    assert "<script" not in page


def test_it_says_when_the_month_has_no_usage_yet(client, customer_a_user, acme):
    client.force_login(customer_a_user)

    page = client.get(HOME).content.decode()

    assert "No usage yet this month" in page
    assert "0.00 h" in page


def test_it_links_the_invoices_and_the_usage_csvs(client, customer_a_user, acme):
    client.force_login(customer_a_user)

    page = client.get(HOME).content.decode()

    assert 'href="/portal/invoices/"' in page
    assert 'href="/portal/usage/2026-11.csv"' in page
    assert 'href="/portal/usage/"' in page


def test_it_shows_the_latest_five_documents_and_no_draft(
    client, customer_a_user, finance_user, acme_october, put_usage
):
    notes = [
        credit_note_create(
            invoice=acme_october, actor=finance_user, reason=f"C{n}", amount=D("0.10")
        )
        for n in range(5)
    ]
    put_usage(ApiKey.objects.get(key_id="acme-key-1"), date(2026, 11, 3), "1.000000")
    invoice_generate_drafts(period=date(2026, 11, 1))  # a draft: never shown
    client.force_login(customer_a_user)

    response = client.get(HOME)

    shown = [invoice.number for invoice in response.context["invoices"]]
    assert shown == [n.number for n in reversed(notes)]
    page = response.content.decode()
    assert acme_october.number not in page
    assert reverse("portal:invoice_pdf", args=[notes[-1].public_id]) in page


def test_its_query_count_does_not_grow(
    client,
    customer_a_user,
    finance_user,
    acme,
    acme_october,
    november_usage,
    key_of,
    put_usage,
    django_assert_num_queries,
):
    client.force_login(customer_a_user)
    # session, user, membership, per key, per method, per day, latest invoices; the balance:
    # open invoices, their credit notes, their payments; the estimate: 12, the draft's own
    # inputs read for one customer (invoices.estimates, tests/invoices/test_estimates.py)
    with django_assert_num_queries(22):
        client.get(HOME)

    for n in range(8):
        credit_note_create(
            invoice=acme_october, actor=finance_user, reason=f"C{n}", amount=D("0.10")
        )
        key = key_of(acme, f"more-{n}")
        for day in range(1, 20):
            put_usage(key, date(2026, 11, day), "1.000000")

    with django_assert_num_queries(22):
        response = client.get(HOME)
    assert len(response.context["invoices"]) == 5
    assert len(response.context["by_key"]) == 10


def test_it_shows_what_is_left_to_pay_and_what_is_overdue(
    client, customer_a_user, finance_user, acme_october
):
    import time_machine

    from invoices.services.payments import payment_record

    payment_record(
        invoice=acme_october,
        actor=finance_user,
        amount=D("1.00"),
        received_on=acme_october.issued_on,
    )
    left = acme_october.total - D("1.00")
    client.force_login(customer_a_user)

    page = client.get(HOME).content.decode()
    assert f"{left} USD</span>" in page and "on 1 invoice" in page
    assert f"next due {acme_october.due_on:%-d %B %Y}" in page

    with time_machine.travel("2027-02-01 09:00Z", tick=False):  # long after its due date
        client.force_login(customer_a_user)
        overdue = client.get(HOME).content.decode()
    assert f"{left} USD overdue." in overdue
