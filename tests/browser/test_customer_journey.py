"""Finance approves a draft in the admin; the customer finds the invoice in the portal and
downloads the very PDF that was stored; the invoice list fits a phone."""

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from pypdf import PdfReader

from customers.models import ApiKey
from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan
from invoices.services import invoice_approve, invoice_generate_drafts, previous_month
from invoices.templatetags.invoice_format import money
from tests.conftest import PASSWORD
from usage.models import DailyUsage

from .conftest import TIMEOUT_MS

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def acme_draft(customer_a, default_project):
    """Last month's draft for Acme: 10 total hours at 0.258 plus a 10.00 fee, 20 % tax."""
    period = previous_month()
    plan = PricePlan.objects.create(
        name="Standard", currency="USD", rate_per_hour=D("0.258000"), platform_fee=D("10.00")
    )
    CustomerPlan.objects.create(customer=customer_a, plan=plan, effective_from=period)
    BillingTerms.objects.create(customer=customer_a, tax_rate=D("20.00"), payment_terms_days=14)
    key = ApiKey.objects.create(
        customer=customer_a,
        project=default_project,
        key_id="acme-key-1",
        comment="Call centre",
        scopes=["usage:write"],
        created_at=datetime.now(UTC) - timedelta(days=90),
    )
    now = datetime.now(UTC)
    DailyUsage.objects.create(
        api_key=key,
        day=period.replace(day=3),
        hours=D("10.000000"),
        total_hours=D("10.000000"),
        requests=12,
        first_seen_at=now,
        changed_at=now,
    )
    invoice_generate_drafts(period=period, customers=[customer_a])
    return Invoice.objects.get(customer=customer_a, period=period)


@pytest.fixture
def customer_context(browser, live_server):
    """A second browser (own cookies) for the customer, beside finance's `page`."""
    contexts = []

    def open_context(**options):
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


def portal_log_in(page, user):
    page.goto("/portal/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/portal/")


def approve_in_the_admin(page, invoice) -> None:
    page.goto("/admin/invoices/invoice/")
    page.locator(f"#result_list input.action-select[value='{invoice.pk}']").check()
    page.locator("select[name=action]").select_option("approve_selected")
    page.get_by_role("button", name="Go").click()
    page.get_by_text("1 invoice will be issued").wait_for()
    page.get_by_role("button", name="Yes, issue 1 invoice").click()
    page.get_by_text("Issued 1").wait_for()


def test_it_takes_an_approved_invoice_to_the_customers_download(
    log_in, page, customer_context, celery_eager, finance_user, customer_a_user, acme_draft
):
    log_in(finance_user)
    approve_in_the_admin(page, acme_draft)
    invoice = Invoice.objects.get(pk=acme_draft.pk)
    assert invoice.status == Invoice.Status.ISSUED and invoice.number

    portal = customer_context().new_page()
    portal_log_in(portal, customer_a_user)
    portal.get_by_role("navigation").get_by_role("link", name="Invoices").click()
    row = portal.locator("tbody tr", has_text=invoice.number)
    assert "15.10 USD" in row.inner_text()
    with portal.expect_download() as downloading:
        row.get_by_role("link", name=f"Download {invoice.number} as PDF").click()
    download = downloading.value

    assert download.suggested_filename == f"{invoice.number}.pdf"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF")
    invoice.refresh_from_db()
    assert hashlib.sha256(data).hexdigest() == invoice.pdf_sha256
    text = "\n".join(p.extract_text() for p in PdfReader(download.path()).pages)
    assert invoice.number in text
    assert money(invoice.total, invoice.currency) in text


def test_it_fits_the_invoice_list_on_a_phone(
    customer_context, celery_eager, finance_user, customer_a_user, acme_draft
):
    invoice = invoice_approve(invoice=acme_draft, actor=finance_user)
    phone = customer_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    portal_log_in(phone, customer_a_user)

    phone.goto("/portal/invoices/")

    phone.get_by_text(invoice.number).wait_for()
    overflow = phone.evaluate(
        "Math.max(document.body.scrollWidth, document.documentElement.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    link = phone.get_by_role("link", name=f"Download {invoice.number} as PDF")
    box = link.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
