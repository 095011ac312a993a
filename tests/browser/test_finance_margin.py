"""Finance in a real browser: a rate-card plan's page with its entries, the Margin page of a
month billed by rate card and by cost plus, and its CSV link."""

from datetime import date
from decimal import Decimal as D

from invoices.models import ExchangeRate, PricePlan
from invoices.services import invoice_approve, invoice_generate_drafts
from tests.invoices.line_items import OCTOBER, assign, at, cost_plus_plan, draft_of, rate_card_plan


def test_finance_reads_the_margin_of_a_month(log_in, page, line_item_month, finance_user):
    card = rate_card_plan()
    assign(line_item_month["Cardco"], card)
    assign(line_item_month["Costco"], cost_plus_plan())
    ExchangeRate.objects.create(day=date(2026, 10, 30), currency="EUR", per_usd=D("0.9"))
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        for key in line_item_month.values():
            invoice_approve(invoice=draft_of(key), actor=finance_user)

    log_in(finance_user)
    page.goto(f"/admin/invoices/priceplan/{card.pk}/change/")
    assert page.get_by_label("Pricing mode").input_value() == PricePlan.Mode.RATE_CARD
    assert page.locator("input[value='Aura text to speech']").count() == 1
    page.goto("/admin/invoices/invoice/")
    page.get_by_role("link", name="Margin").click()
    page.get_by_label("Billing month").fill("2026-10")
    page.get_by_role("button", name="Show").click()

    assert page.get_by_role("heading", name="Margin, October 2026").is_visible()
    table = page.locator("#result_list")
    assert table.get_by_text("Cardco").is_visible() and table.get_by_text("Costco").is_visible()
    assert table.get_by_text("Unassigned usage").is_visible()
    assert (
        page.get_by_role("link", name="Download CSV").get_attribute("href").endswith("format=csv")
    )
