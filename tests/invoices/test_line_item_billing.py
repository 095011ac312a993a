"""Billing by line item end to end, through the sandbox over HTTP: a month synced, drafts
priced by a rate card and by cost plus (in euros, at the month's rate), unpriced usage and a
missing rate blocking approval, the PDF showing each line item, and a late change re-priced
with the plan the month was billed by, once."""

from datetime import date
from decimal import Decimal as D

import pytest

from invoices.cost_plus import CostPlus, price_cost_plus
from invoices.exceptions import ApprovalRefused
from invoices.models import (
    ExchangeRate,
    Invoice,
    InvoiceLine,
    PricePlan,
)
from invoices.pricing import Plan
from invoices.rate_cards import price_rate_card
from invoices.services import invoice_approve, invoice_generate_drafts
from invoices.services.plans import card_of
from invoices.services.repricing import pending_repricing

from .line_items import (
    NOVEMBER,
    OCTOBER,
    assign,
    at,
    cost_plus_plan,
    draft_of,
    late_agent_hours,
    pdf_text,
    rate_card_plan,
    truth_costs,
    truth_usage,
)


def test_a_rate_card_bills_every_line_item_in_its_unit(line_item_month, finance_user):
    key = line_item_month["Cardco"]
    plan = rate_card_plan()
    assign(key, plan)
    expected = price_rate_card(Plan("USD", D(0)), card_of(plan), truth_usage(key), "October 2026")

    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        draft = draft_of(key)
        assert draft.pricing_blockers == [] and expected.unpriced == []
        lines = list(draft.lines.order_by("position"))
        assert [(line.description, line.amount) for line in lines] == [
            (line.description, line.amount) for line in expected.lines
        ]
        assert draft.subtotal == sum(line.amount for line in expected.lines)
        issued = invoice_approve(invoice=draft, actor=finance_user)

    text = pdf_text(issued)
    for entry in ("Aura text to speech", "Voice agent", "(k characters)", "(agent h)", "(min)"):
        assert entry in text
    # Text to speech reads as the characters it prices, at its price per 1,000.
    [aura] = [line for line in lines if line.unit == "k characters"]
    assert f"{aura.quantity * 1000:,.0f} characters" in text and "0.03 per 1,000" in text
    assert f"{issued.total:,.2f}" in text
    assert (
        issued.pricing_mode == "rate_card"
        and issued.pricing_snapshot["card"][0]["unit_price"] == "0.006000"
    )


def test_usage_no_entry_prices_blocks_approval(line_item_month, finance_user):
    key = line_item_month["Cardco"]
    assign(key, rate_card_plan(skip=("Aura text to speech",)))

    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        draft = draft_of(key)
        with pytest.raises(
            ApprovalRefused,
            match=r"priced by no rate card entry: .*speak / sync / aura-2 \(characters\)",
        ):
            invoice_approve(invoice=draft, actor=finance_user)

    assert draft.pricing_blockers and "Add an entry that prices them" in draft.pricing_blockers[0]


def test_cost_plus_bills_deepgrams_cost_converted_with_the_markup(line_item_month, finance_user):
    key = line_item_month["Costco"]
    assign(key, cost_plus_plan())
    ExchangeRate.objects.create(day=date(2026, 10, 30), currency="EUR", per_usd=D("0.9"))
    ExchangeRate.objects.create(day=date(2026, 11, 1), currency="EUR", per_usd=D("0.5"))  # later
    lines, _ = price_cost_plus(
        Plan("EUR", D(0)), CostPlus(D(20)), truth_costs(key), D("0.9"), "October 2026"
    )

    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        draft = draft_of(key)
        assert (draft.fx_rate, draft.fx_rate_day) == (D("0.9"), date(2026, 10, 30))
        assert draft.subtotal == sum(line.amount for line in lines) > 0
        assert "Exchange rate: 1 USD = 0.9 EUR (rate of 30 Oct 2026)." in draft.pricing_notes
        issued = invoice_approve(invoice=draft, actor=finance_user)

    text = pdf_text(issued)
    assert "Deepgram's cost" in text and f"{issued.total:,.2f}" in text
    # Each line: Deepgram's cost in euros and the factor on it, with its amount.
    for line in issued.lines.filter(kind="usage"):
        assert f"{line.amount:,.2f}" in text
    assert "\N{MULTIPLICATION SIGN} 1.20" in text


def test_a_missing_exchange_rate_blocks_approval(line_item_month, finance_user):
    key = line_item_month["Costco"]
    assign(key, cost_plus_plan("GBP"))

    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        draft = draft_of(key)
        with pytest.raises(ApprovalRefused, match="No exchange rate for GBP"):
            invoice_approve(invoice=draft, actor=finance_user)

    assert draft.subtotal == 0


def test_a_rate_or_an_entry_changed_makes_the_draft_stale(line_item_month):
    from invoices.services import invoice_is_stale

    card_key, cost_key = line_item_month["Cardco"], line_item_month["Costco"]
    plan = rate_card_plan()
    assign(card_key, plan)
    assign(cost_key, cost_plus_plan())
    rate = ExchangeRate.objects.create(day=date(2026, 10, 30), currency="EUR", per_usd=D("0.9"))
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        assert not invoice_is_stale(invoice=draft_of(card_key))
        assert not invoice_is_stale(invoice=draft_of(cost_key))

        entry = plan.card_entries.get(name="Voice agent")
        entry.unit_price = D("5.00")
        entry.save()
        # The card's entry moves the card's draft only.
        assert invoice_is_stale(invoice=draft_of(card_key))
        assert not invoice_is_stale(invoice=draft_of(cost_key))

        invoice_generate_drafts(period=OCTOBER)  # the card's draft refreshed
        rate.per_usd = D("0.91")
        rate.save()
        # The month's rate moves the cost-plus draft only.
        assert not invoice_is_stale(invoice=draft_of(card_key))
        assert invoice_is_stale(invoice=draft_of(cost_key))


def test_a_late_change_re_prices_the_month_with_its_own_plan_once(
    line_item_month, sandbox, finance_user
):
    key = line_item_month["Cardco"]
    plan = rate_card_plan()
    assign(key, plan)
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        october = invoice_approve(invoice=draft_of(key), actor=finance_user)
    billed_before, card_billed = october.subtotal, card_of(plan)
    # After October is billed the card gets dearer (a new price from now on) and Deepgram
    # corrects the agent hours of 30 October, inside the settlement window.
    plan = PricePlan.objects.get(pk=plan.pk)
    entry = plan.card_entries.get(name="Voice agent")
    entry.unit_price = D("9.00")
    entry.save()
    late_agent_hours(sandbox, key)
    with at("2026-11-02 03:00Z"):
        invoice_generate_drafts(period=NOVEMBER)

    november = Invoice.objects.get(customer=key.customer, period=NOVEMBER)
    [line] = november.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT)
    # Priced with October's card (4.50 an agent hour), not today's 9.00.
    now = price_rate_card(Plan("USD", D(0)), card_billed, truth_usage(key), "October 2026")
    assert line.amount == sum(line.amount for line in now.lines) - billed_before != 0
    assert line.corrects_id == october.pk
    assert line.description == (
        f"Re-priced October 2026 (days 30), key {key.key_id}, Voice agent: usage changed after "
        f"{october.number}"
    )
    assert line.item == "Voice agent"
    october.refresh_from_db()
    assert october.subtotal == billed_before

    with at("2026-12-01 04:00Z"):
        invoice_approve(invoice=november, actor=finance_user)
        invoice_generate_drafts(period=date(2026, 12, 1))
    # Billed once: October priced again now matches what was billed for it (its invoice and
    # November's adjustment), so December has nothing to adjust (and no usage: no draft).
    customer = key.customer_id
    assert (
        pending_repricing([customer], period=date(2026, 12, 1), currencies={customer: "USD"}) == {}
    )
    assert not Invoice.objects.filter(customer=key.customer, period=date(2026, 12, 1)).exists()


def test_a_voided_month_is_billed_by_its_new_invoice_never_re_priced(
    line_item_month, sandbox, finance_user
):
    from invoices.services import invoice_void

    key = line_item_month["Cardco"]
    plan = rate_card_plan()
    assign(key, plan)
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        october = invoice_approve(invoice=draft_of(key), actor=finance_user)
        invoice_void(invoice=october, actor=finance_user, reason="Wrong plan")
    late_agent_hours(sandbox, key)

    customer = key.customer_id
    assert pending_repricing([customer], period=NOVEMBER, currencies={customer: "USD"}) == {}
    with at("2026-11-02 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        invoice_generate_drafts(period=NOVEMBER)
    # October's new invoice bills the month as it now stands, late hours and all; November
    # adjusts nothing of it.
    again = Invoice.objects.get(customer=key.customer, period=OCTOBER, status="draft")
    now = price_rate_card(Plan("USD", D(0)), card_of(plan), truth_usage(key), "October 2026")
    assert again.subtotal == sum(line.amount for line in now.lines) > october.subtotal
    assert not InvoiceLine.objects.filter(
        invoice__customer=key.customer, kind=InvoiceLine.Kind.ADJUSTMENT
    ).exists()


def test_a_month_billed_in_another_currency_is_re_priced_apart_in_its_own(
    line_item_month, sandbox, finance_user
):
    key = line_item_month["Cardco"]
    assign(key, rate_card_plan())
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        october = invoice_approve(invoice=draft_of(key), actor=finance_user)
    late_agent_hours(sandbox, key)

    customer = key.customer_id
    [repriced] = pending_repricing(
        [customer], period=NOVEMBER, currencies={customer: "EUR"}
    ).values()
    assert repriced.lines == []  # for a draft in EUR: kept apart, in USD
    [line] = repriced.elsewhere["USD"]
    assert line.description.startswith("Re-priced October 2026 (days 30)")
    assert line.corrects == october.pk and october.number in line.description
    assert line.amount > 0


def test_a_late_cost_re_prices_with_the_months_own_plan_and_rate_and_its_pdf_stays(
    line_item_month, sandbox, finance_user
):
    import hashlib

    from invoices.documents import invoice_store_pdf

    key = line_item_month["Costco"]
    plan = cost_plus_plan()
    assign(key, plan)
    rate = ExchangeRate.objects.create(day=date(2026, 10, 30), currency="EUR", per_usd=D("0.9"))
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        october = invoice_store_pdf(
            invoice=invoice_approve(invoice=draft_of(key), actor=finance_user)
        )
    stored = october.pdf.open("rb").read()
    billed_costs = truth_costs(key)
    # After October is billed its plan is edited (50 % from now on: a new version), its rate
    # corrected, and Deepgram bills more agent time on 30 October.
    plan.markup_percent = D(50)
    plan.save()
    rate.per_usd = D("0.95")
    rate.save()
    late_agent_hours(sandbox, key)
    with at("2026-11-02 03:00Z"):
        invoice_generate_drafts(period=NOVEMBER)

    [line] = Invoice.objects.get(customer=key.customer, period=NOVEMBER).lines.filter(
        kind=InvoiceLine.Kind.ADJUSTMENT
    )
    # October's own version (20 %) and rate (0.9), never today's 50 % and 0.95.
    rule, pure = CostPlus(D(20)), Plan("EUR", D(0))
    now, _ = price_cost_plus(pure, rule, truth_costs(key), D("0.9"), "October 2026")
    then, _ = price_cost_plus(pure, rule, billed_costs, D("0.9"), "October 2026")
    assert line.amount == sum(x.amount for x in now) - sum(x.amount for x in then) > 0
    october.refresh_from_db()
    assert october.pdf.open("rb").read() == stored
    assert hashlib.sha256(stored).hexdigest() == october.pdf_sha256
