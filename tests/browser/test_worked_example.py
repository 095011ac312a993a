"""The worked example in a real browser: an invoice of 178.40, a payment of 50, a credit note
of 24 and a payment of 30 recorded and reversed leave 104.40 on the admin list, under the
overdue filter, on the customer page, in the portal, on the stamped PDF and in the exports
(Xero, QuickBooks, payments); the stored PDF's SHA-256 never changes. And a customer who
downloads a void invoice reads VOID while the stored original still matches its checksum."""

import csv
import hashlib
import io
import os
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from invoices import documents
from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan
from invoices.services import (
    credit_note_create,
    invoice_approve,
    invoice_generate_drafts,
    invoice_void,
    previous_month,
)
from tests.conftest import PASSWORD

from .test_customer_journey import customer_context, portal_log_in  # noqa: F401


def shoot(page, name: str) -> None:
    if os.environ.get("BROWSER_SCREENSHOTS"):  # to look at the pages, not a check
        page.screenshot(path=f"{os.environ['BROWSER_SCREENSHOTS']}/{name}.png", full_page=True)


@pytest.fixture
def fee_invoice(customer_a, finance_user):
    """Last month's invoice of 178.40 USD for Acme (a fee, no tax, 30 days), PDF stored."""
    period = previous_month()
    plan = PricePlan.objects.create(
        name="Fee", currency="USD", rate_per_hour=D(0), platform_fee=D("178.40")
    )
    CustomerPlan.objects.create(customer=customer_a, plan=plan, effective_from=period)
    BillingTerms.objects.create(customer=customer_a, tax_rate=D(0), payment_terms_days=30)
    [draft] = invoice_generate_drafts(period=period, customers=[customer_a]).created
    invoice = invoice_approve(invoice=draft, actor=finance_user)
    return documents.invoice_store_pdf(invoice=invoice)


def stored_sha(invoice) -> str:
    invoice.refresh_from_db()
    with invoice.pdf.open("rb") as stored:
        return hashlib.sha256(stored.read()).hexdigest()


def record_payment(page, invoice, amount: str, reference: str) -> None:
    page.goto(f"/admin/invoices/invoice/{invoice.pk}/change/")
    page.get_by_role("link", name="Record payment").click()
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Reference").fill(reference)
    page.get_by_role("button", name="Record payment").click()
    page.get_by_text(f"Recorded {amount} USD received on").wait_for()


def export(page, layout: str, day) -> list[dict]:
    page.goto("/admin/invoices/accountingexport/new/")
    page.get_by_label("Layout").select_option(layout)
    page.get_by_label("From").fill(f"{day:%Y-%m-%d}")
    page.get_by_label("To").fill(f"{day:%Y-%m-%d}")
    page.get_by_role("button", name="Preview").click()
    page.locator("#export-preview").wait_for()
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download and record").click()
    text = Path(downloading.value.path()).read_text()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_worked_example_leaves_104_40_everywhere(
    request, log_in, page, finance_user, customer_a_user, fee_invoice
):
    invoice = fee_invoice
    original = invoice.pdf_sha256
    assert stored_sha(invoice) == original
    credit_note_create(invoice=invoice, actor=finance_user, reason="Goodwill", amount=D("24"))

    log_in(finance_user)
    record_payment(page, invoice, "50.00", "BACS 77")
    record_payment(page, invoice, "30.00", "TX-WRONG")
    page.locator("table.payments tr", has_text="TX-WRONG").get_by_role(
        "link", name="Reverse"
    ).click()
    page.get_by_label("Reason").fill("Another customer's payment")
    page.get_by_role("button", name="Reverse payment").click()
    page.get_by_text("104.40 USD left to pay").wait_for()
    shoot(page, "worked-example-invoice-page")

    page.goto("/admin/invoices/invoice/?payment=partly")
    row = page.locator("#result_list tr", has_text=invoice.number)
    assert "104.40 left" in row.inner_text()
    with time_machine.travel(invoice.due_on + timedelta(days=3), tick=True):
        # Weeks later, in a browser of its own: today's session will have expired by then.
        later = request.getfixturevalue("customer_context")().new_page()
        later.goto("/admin/login/")
        later.get_by_label("Username").fill(finance_user.username)
        later.get_by_label("Password").fill(PASSWORD)
        later.get_by_role("button", name="Log in").click()
        later.goto("/admin/invoices/invoice/?payment=overdue")
        row = later.locator("#result_list tr", has_text=invoice.number)
        assert "Overdue" in row.inner_text() and "104.40 left" in row.inner_text()

    page.goto(f"/admin/customers/customer/{invoice.customer_id}/change/")
    hub = page.locator("#billing-hub")
    assert "104.40 USD" in hub.locator("table.hub-balance").inner_text()
    assert "Partly paid" in hub.locator("table.hub-documents").inner_text()
    shoot(page, "worked-example-customer-page")

    today = timezone.now().date()
    xero = export(page, "xero", today)
    assert [(r["*InvoiceNumber"], r["*UnitAmount"]) for r in xero] == [
        (invoice.number, "178.40"),
        ("CN-" + invoice.number[4:], "-24.00"),
    ]
    qbo = export(page, "qbo_invoices", today)
    assert [(r["InvoiceNo"], r["ItemAmount"]) for r in qbo] == [(invoice.number, "178.40")]
    qbo_credits = export(page, "qbo_credits", today)
    assert [r["ItemAmount"] for r in qbo_credits] == ["24.00"]
    paid = sum(D(r["Amount"]) for r in export(page, "payments", today))
    assert D("178.40") - D("24.00") - paid == D("104.40")

    portal = request.getfixturevalue("customer_context")().new_page()
    portal_log_in(portal, customer_a_user)
    portal.goto("/portal/invoices/")
    row = portal.get_by_role("row", name=f"{invoice.number} Invoice")
    assert "104.40 USD" in row.inner_text()
    shoot(portal, "worked-example-portal-invoices")
    with portal.expect_download() as downloading:
        row.get_by_role("link", name=f"Download {invoice.number} as PDF").click()
    text = "\n".join(p.extract_text() for p in PdfReader(downloading.value.path()).pages)
    assert "PARTLY PAID" in text and "104.40 USD left to pay" in text
    assert stored_sha(invoice) == original == Invoice.objects.get(pk=invoice.pk).pdf_sha256


def test_a_void_invoice_downloads_stamped_void_and_the_original_is_untouched(
    request, finance_user, customer_a_user, fee_invoice
):
    invoice = fee_invoice
    original = stored_sha(invoice)
    invoice_void(invoice=invoice, actor=finance_user, reason="Billed to the wrong customer")

    portal = request.getfixturevalue("customer_context")().new_page()
    portal_log_in(portal, customer_a_user)
    portal.goto("/portal/invoices/")
    row = portal.locator("tbody tr", has_text=invoice.number)
    with portal.expect_download() as downloading:
        row.get_by_role("link", name=f"Download {invoice.number} as PDF").click()
    data = Path(downloading.value.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "VOID" in text and "Billed to the wrong customer" in text
    assert hashlib.sha256(data).hexdigest() != original  # the customer's copy is stamped
    assert stored_sha(invoice) == original == invoice.pdf_sha256  # the record is not
