"""The bulk actions: approving drafts after a confirmation page that shows what will be issued
(count, total per currency) and what will be skipped (stale, four-eyes, not drafts), and
refreshing drafts."""

import re
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from customers.models import Customer
from invoices.models import CustomerPlan, Invoice, PricePlan
from invoices.services import invoice_add_manual_line, invoice_approve, invoice_generate_drafts

from .conftest import OCTOBER, no_tax_terms

LIST = reverse("admin:invoices_invoice_changelist")
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


@pytest.fixture
def drafts(acme, customer_b, plan, key_of, put_usage):
    """October drafts: Acme 15.10 USD, Globex 6.00 EUR, Initech 10.00 USD (stale: usage
    arrived after it was computed)."""
    euro = PricePlan.objects.create(
        name="Euro", currency="EUR", rate_per_hour=D("0.200000"), platform_fee=D("5.00")
    )
    CustomerPlan.objects.create(customer=customer_b, plan=euro, effective_from=OCTOBER)
    initech = Customer.objects.create(name="Initech Speech", billing_email="ap@initech.example")
    CustomerPlan.objects.create(customer=initech, plan=plan, effective_from=OCTOBER)
    for customer in (customer_b, initech):  # approval needs terms; these bill as before
        no_tax_terms(customer)
    put_usage(key_of(acme), date(2026, 10, 3), "10.000000")
    put_usage(key_of(customer_b, "globex-key-1"), date(2026, 10, 3), "5.000000")
    initech_key = key_of(initech, "initech-key-1")
    invoice_generate_drafts(period=OCTOBER)
    put_usage(initech_key, date(2026, 10, 30), "1.000000")
    return {
        c.name.split()[0].lower(): Invoice.objects.get(customer=c) for c in Customer.objects.all()
    }


def select(client, invoices, **extra):
    return client.post(
        LIST,
        {"action": "approve_selected", "_selected_action": [i.pk for i in invoices], **extra},
    )


def confirm(client, page) -> object:
    """Submit the confirmation page's form as a browser would."""
    data: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(page.text):
        data.setdefault(name, []).append(value)
    return client.post(LIST, data)


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_it_shows_what_approval_will_issue_and_skip(client, finance_user, drafts):
    client.force_login(finance_user)

    page = select(client, drafts.values())

    assert page.templates[0].name == "admin/invoices/invoice/approve_confirm.html"
    preview = page.context["preview"]
    assert [i.customer.name for i in preview.ready] == ["Acme Voice Ltd", "Globex Transcripts"]
    assert preview.totals == [("EUR", D("6.00")), ("USD", D("15.10"))]
    assert [i.customer.name for i in preview.stale] == ["Initech Speech"]
    assert "2 invoices will be issued" in page.text
    assert "<strong>6.00 EUR</strong> in total" in page.text
    assert "<strong>15.10 USD</strong> in total" in page.text
    assert "Stale: will be skipped (1)" in page.text
    assert 'value="Yes, issue 2 invoices"' in page.text
    assert not Invoice.objects.exclude(status=Invoice.Status.DRAFT).exists()


def test_it_issues_the_reviewed_drafts_on_confirmation(client, finance_user, drafts):
    client.force_login(finance_user)

    response = confirm(client, select(client, drafts.values()))

    assert response.status_code == 302
    numbers = dict(Invoice.objects.values_list("customer__name", "number"))
    assert numbers == {
        "Acme Voice Ltd": "INV-2026-000001",
        "Globex Transcripts": "INV-2026-000002",
        "Initech Speech": None,
    }
    assert Invoice.objects.get(number="INV-2026-000001").approved_by == finance_user
    assert said(response) == [
        "Issued 2 (INV-2026-000001, INV-2026-000002); skipped 1: Draft Initech Speech 2026-10: "
        "stale (usage, prices or terms "
        "changed since it was computed); refresh it first"
    ]


def test_it_skips_a_draft_refreshed_after_the_review(
    client, finance_user, drafts, key_of, put_usage
):
    client.force_login(finance_user)
    page = select(client, [drafts["acme"]])
    put_usage(drafts["acme"].lines.first().api_key, date(2026, 10, 4), "1.000000")
    invoice_generate_drafts(period=OCTOBER)

    response = confirm(client, page)

    drafts["acme"].refresh_from_db()
    assert drafts["acme"].status == Invoice.Status.DRAFT
    assert said(response) == [
        "Issued 0; skipped 1: Draft Acme Voice Ltd 2026-10: it was refreshed after you "
        "reviewed it; check it again"
    ]


def test_it_reports_the_services_refusal(client, finance_user, drafts, put_usage):
    client.force_login(finance_user)
    page = select(client, [drafts["acme"]])
    put_usage(drafts["acme"].lines.first().api_key, date(2026, 10, 4), "1.000000")

    response = confirm(client, page)

    assert Invoice.objects.get(pk=drafts["acme"].pk).status == Invoice.Status.DRAFT
    [message] = said(response)
    assert message.startswith("Issued 0; skipped 1: Draft Acme Voice Ltd 2026-10: The draft for")
    assert "Refresh it and check it again." in message


def test_it_leaves_a_draft_with_my_manual_lines_to_another_approver(
    client, finance_user, drafts, settings
):
    settings.BILLING_FOUR_EYES = True
    invoice_add_manual_line(
        invoice=drafts["acme"],
        actor=finance_user,
        description="Onboarding",
        quantity=D("1"),
        unit_price=D("50"),
    )
    client.force_login(finance_user)

    page = select(client, [drafts["acme"], drafts["globex"]])
    response = confirm(client, page)

    assert [i.customer.name for i in page.context["preview"].needs_other_approver] == [
        "Acme Voice Ltd"
    ]
    assert "Another person must approve: will be skipped (1)" in page.text
    assert said(response) == [
        "Issued 1 (INV-2026-000001); skipped 1: Draft Acme Voice Ltd 2026-10: you added manual "
        "lines to it: "
        "another person must approve it"
    ]


def test_it_ignores_selected_invoices_that_are_not_drafts(client, finance_user, drafts):
    issued = invoice_approve(invoice=drafts["acme"], actor=finance_user)
    client.force_login(finance_user)

    page = select(client, [issued, drafts["globex"]])
    confirm(client, page)

    assert page.context["preview"].not_drafts == [issued]
    assert "Not drafts: ignored (1)" in page.text
    assert "INV-2026-000001 (issued)" in page.text
    assert Invoice.objects.get(pk=drafts["globex"].pk).number == "INV-2026-000002"


def test_it_offers_no_confirmation_when_nothing_can_be_issued(client, finance_user, drafts):
    client.force_login(finance_user)

    page = select(client, [drafts["initech"]])

    assert "None of the selected invoices can be issued." in page.text
    assert 'name="confirmed"' not in page.text


# --- Refresh --------------------------------------------------------------------------------


def test_it_refreshes_the_selected_drafts(client, finance_user, drafts):
    client.force_login(finance_user)

    response = client.post(
        LIST,
        {"action": "refresh_selected", "_selected_action": [i.pk for i in drafts.values()]},
    )

    assert said(response) == ["Refreshed 1, unchanged 2."]
    drafts["initech"].refresh_from_db()
    assert drafts["initech"].subtotal == D("10.26")
    page = select(client, [drafts["initech"]])
    assert page.context["preview"].ready == [drafts["initech"]]


def test_it_skips_invoices_that_are_not_drafts_when_refreshing(client, finance_user, drafts):
    issued = invoice_approve(invoice=drafts["acme"], actor=finance_user)
    client.force_login(finance_user)

    response = client.post(LIST, {"action": "refresh_selected", "_selected_action": [issued.pk]})

    assert said(response) == ["Refreshed 0, unchanged 0; skipped 1: INV-2026-000001: not a draft"]
