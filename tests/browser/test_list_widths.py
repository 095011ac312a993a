"""The admin's list pages fit a 1280 px wide window without scrolling sideways."""

import os

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import PASSWORD

LISTS = [
    "/admin/customers/customer/",
    "/admin/customers/apikey/",
    "/admin/invoices/invoice/",
    "/admin/usage/syncrun/",
    "/admin/usage/keysyncstate/",
]


@pytest.fixture
def long_names(line_item_month, make_customer, key_of, finance_user):
    """Beside the line-item month, a customer and key with long names and an issued invoice
    partly paid: the widest rows the lists show."""
    from datetime import date
    from decimal import Decimal as D

    from invoices.models import BillingTerms, CustomerPlan, PricePlan
    from invoices.services import invoice_approve, invoice_generate_drafts
    from invoices.services.payments import payment_record

    customer = make_customer("Northwind Conversational Intelligence Holdings GmbH & Co. KG")
    key_of(customer, comment="Contact centre transcription, EU region, production traffic")
    plan = PricePlan.objects.create(
        name="Enterprise EUR", currency="EUR", rate_per_hour=D(0), platform_fee=D("12345.67")
    )
    CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2026, 10, 1))
    BillingTerms.objects.create(customer=customer, tax_rate=D("19.00"), payment_terms_days=30)
    [draft] = invoice_generate_drafts(period=date(2026, 10, 1), customers=[customer]).created
    invoice = invoice_approve(invoice=draft, actor=finance_user)
    payment_record(
        invoice=invoice, actor=finance_user, amount=D("1000.00"), received_on=invoice.issued_on
    )


@pytest.mark.parametrize("url", LISTS)
def test_the_list_fits_1280_px(page, url, long_names):
    get_user_model().objects.create_superuser("root", "root@staff.example", PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")

    response = page.goto(url)

    assert response.status == 200
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{url} is {overflow} px too wide at 1280 px"
    # The admin scrolls a wide table inside its own box: its columns must fit that box too.
    hidden = page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results');"
        " return r ? r.scrollWidth - r.clientWidth : 0; })()"
    )
    assert hidden <= 0, f"{url}: its table scrolls {hidden} px sideways at 1280 px"
    if os.environ.get("BROWSER_SCREENSHOTS"):  # to look at the page, not a check
        name = url.strip("/").replace("/", "-")
        page.screenshot(path=f"{os.environ['BROWSER_SCREENSHOTS']}/{name}.png")
