"""Finance records a partial payment of an invoice in a real browser and sees the balance on
the invoice's page and the list; the customer sees what is left to pay in the portal."""

import os
from decimal import Decimal as D

from invoices.services import credit_note_create, invoice_approve

from .test_customer_journey import acme_draft, customer_context, portal_log_in  # noqa: F401


def shoot(page, name: str) -> None:
    if os.environ.get("BROWSER_SCREENSHOTS"):  # to look at the pages, not a check
        page.screenshot(path=f"{os.environ['BROWSER_SCREENSHOTS']}/{name}.png", full_page=True)


def test_finance_records_a_partial_payment_and_the_customer_sees_the_balance(
    request, log_in, page, finance_user, customer_a_user
):
    draft = request.getfixturevalue("acme_draft")
    invoice = invoice_approve(invoice=draft, actor=finance_user)
    credit_note_create(invoice=invoice, actor=finance_user, reason="Goodwill", amount=D("2.00"))
    left = invoice.total - D("2.40") - D("5.00")  # the note is 2.00 and its 20 % tax

    log_in(finance_user)
    page.goto(f"/admin/invoices/invoice/{invoice.pk}/change/")
    page.get_by_role("link", name="Record payment").click()
    page.get_by_label("Amount").fill("5.00")
    page.get_by_label("Reference").fill("BACS 4411")
    page.get_by_role("button", name="Record payment").click()

    page.get_by_text("Recorded 5.00 USD received on").wait_for()
    assert page.get_by_text(f"{left} USD left to pay").is_visible()
    assert page.locator("table.payments").get_by_role("cell", name="BACS 4411").is_visible()
    shoot(page, "invoice-page-with-payment")
    page.goto("/admin/invoices/invoice/?payment=partly")
    assert page.locator("#result_list").get_by_text(invoice.number).is_visible()
    shoot(page, "invoice-list-partly-paid")

    customer = request.getfixturevalue("customer_context")().new_page()
    portal_log_in(customer, customer_a_user)
    customer.goto("/portal/invoices/")
    row = customer.get_by_role("row", name=f"{invoice.number} Invoice")
    assert f"{left} USD" in row.inner_text() and "partly paid" in row.inner_text()
    shoot(customer, "portal-invoices-left-to-pay")
