"""A draft's own page (invoices.admin_draft): Approve and Refresh buttons, POST only, and the
list of what refuses approval (stale, four eyes, no terms) shown before finance tries."""

import re
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from invoices.models import BillingTerms, Invoice
from invoices.services import invoice_add_manual_line

FINGERPRINT = re.compile(r'<input type="hidden" name="fingerprint" value="([0-9a-f]*)">')


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


def page_of(client, invoice):
    return client.get(reverse("admin:invoices_invoice_change", args=[invoice.pk]))


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_approve_button_issues_the_draft_as_shown(finance, october_draft):
    page = page_of(finance, october_draft)
    html = page.content.decode()
    assert "Nothing: it can be approved once reviewed." in html
    assert 'class="approve-draft"' in html and 'class="refresh-draft"' in html
    [shown] = FINGERPRINT.findall(html)
    assert shown == october_draft.usage_fingerprint

    response = finance.post(
        reverse("admin:invoices_invoice_approve", args=[october_draft.pk]), {"fingerprint": shown}
    )

    october_draft.refresh_from_db()
    assert october_draft.status == Invoice.Status.ISSUED
    assert response.url == reverse("admin:invoices_invoice_change", args=[october_draft.pk])
    assert said(response) == [
        f"Issued invoice {october_draft.number}: {october_draft.total} {october_draft.currency}."
    ]
    assert 'class="approve-draft"' not in page_of(finance, october_draft).content.decode()


def test_a_draft_refreshed_after_the_page_was_shown_is_not_approved(
    finance, october_draft, key_of, put_usage, acme
):
    shown = october_draft.usage_fingerprint
    put_usage(key_of(acme), date(2026, 10, 20), "1.000000")  # a sync meanwhile

    stale = page_of(finance, october_draft).content.decode()
    assert "It is stale" in stale and 'class="approve-draft"' not in stale

    refreshed = finance.post(reverse("admin:invoices_invoice_refresh", args=[october_draft.pk]))
    october_draft.refresh_from_db()
    assert said(refreshed) == [f"Refreshed {october_draft}: total {october_draft.total} USD."]
    assert october_draft.usage_fingerprint != shown

    response = finance.post(
        reverse("admin:invoices_invoice_approve", args=[october_draft.pk]), {"fingerprint": shown}
    )
    october_draft.refresh_from_db()
    assert october_draft.is_draft
    assert "was refreshed after it was reviewed" in said(response)[-1]


def test_refreshing_an_unchanged_draft_says_so(finance, october_draft):
    response = finance.post(reverse("admin:invoices_invoice_refresh", args=[october_draft.pk]))
    assert said(response) == [f"{october_draft}: nothing changed since it was computed."]


def test_what_refuses_approval_is_listed_first(finance, finance_user, october_draft, acme):
    invoice_add_manual_line(
        invoice=october_draft,
        actor=finance_user,
        description="Onboarding",
        quantity=D(1),
        unit_price=D("50.00"),
    )
    BillingTerms.objects.filter(customer=acme).delete()

    html = page_of(finance, october_draft).content.decode()

    assert "has no billing terms" in html
    assert "You added manual lines to it: another person must approve it." in html
    assert 'class="approve-draft"' not in html and 'class="refresh-draft"' in html


def test_the_buttons_need_a_post_and_the_approve_permission(
    client, finance, support_user, october_draft
):
    url = reverse("admin:invoices_invoice_approve", args=[october_draft.pk])
    assert finance.get(url).status_code == 405
    client.force_login(support_user)
    assert client.post(url, {"fingerprint": october_draft.usage_fingerprint}).status_code == 403
    assert (
        client.post(reverse("admin:invoices_invoice_refresh", args=[october_draft.pk])).status_code
        == 403
    )
    october_draft.refresh_from_db()
    assert october_draft.is_draft
