"""Late usage re-priced line item by line item: under a rate card and under cost plus, a key
whose late day changed two line items gets one adjustment line for each, each the difference of
that line item priced again with the month's own plan; a month issued before lines kept their
line item is still billed its difference once, per key."""

from collections import defaultdict
from datetime import date
from decimal import Decimal as D

from invoices.cost_plus import CostPlus, price_cost_plus
from invoices.models import Invoice, InvoiceLine
from invoices.pricing import Plan
from invoices.rate_cards import price_rate_card
from invoices.services import invoice_approve, invoice_generate_drafts
from invoices.services.plans import card_of
from invoices.services.repricing import pending_repricing
from usage.models import LineItem

from .line_items import (
    NOVEMBER,
    OCTOBER,
    assign,
    at,
    cost_plus_plan,
    draft_of,
    late_agent_hours,
    rate_card_plan,
    truth_costs,
    truth_usage,
)

DECEMBER = date(2026, 12, 1)


def late_day(sandbox, key) -> None:
    """Deepgram corrects 30 October's voice agent and text to speech after October was billed;
    the sync of 2 November reads both (inside the settlement window)."""
    sandbox.set_usage(
        key.key_id, "2026-10-30", endpoint="speak", method="sync", model="aura-2", requests=3,
        hours=0, tts_characters=500_000,
    )  # fmt: skip
    late_agent_hours(sandbox, key)  # the agent's correction, then the sync


def by_item(lines) -> dict[str, D]:
    found: dict[str, D] = defaultdict(D)
    for line in lines:
        if line.kind == "usage":
            found[line.item] += line.amount
    return dict(found)


def issue_october(key, plan, finance_user) -> Invoice:
    assign(key, plan)
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        return invoice_approve(invoice=draft_of(key), actor=finance_user)


def november_adjustments(key) -> list[InvoiceLine]:
    with at("2026-11-02 04:00Z"):
        invoice_generate_drafts(period=NOVEMBER)
    november = Invoice.objects.get(customer=key.customer, period=NOVEMBER)
    return list(november.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).order_by("position"))


def test_a_rate_card_month_is_re_priced_entry_by_entry_and_billed_once(
    line_item_month, sandbox, finance_user
):
    key = line_item_month["Cardco"]
    plan = rate_card_plan()
    october = issue_october(key, plan, finance_user)
    billed = by_item(october.lines.all())
    late_day(sandbox, key)

    adjustments = november_adjustments(key)

    now = by_item(price_rate_card(Plan("USD", D(0)), card_of(plan), truth_usage(key), "Oct").lines)
    expected = {item: now[item] - billed.get(item, D(0)) for item in now}
    expected = {item: amount for item, amount in expected.items() if amount}
    assert set(expected) == {"Voice agent", "Aura text to speech"}
    assert {line.item: line.amount for line in adjustments} == expected
    for line in adjustments:
        assert line.api_key_id == key.pk and line.corrects_id == october.pk
        assert line.description == (
            f"Re-priced October 2026 (days 30), key {key.key_id}, {line.item}: usage changed "
            f"after {october.number}"
        )

    with at("2026-12-01 04:00Z"):
        invoice_approve(invoice=adjustments[0].invoice, actor=finance_user)
    customer = key.customer_id
    assert pending_repricing([customer], period=DECEMBER, currencies={customer: "USD"}) == {}


def test_a_cost_plus_month_is_re_priced_by_deepgrams_line_item(
    line_item_month, sandbox, finance_user
):
    key = line_item_month["Costco"]
    october = issue_october(key, cost_plus_plan("USD"), finance_user)
    billed = by_item(october.lines.all())
    late_day(sandbox, key)

    adjustments = november_adjustments(key)

    rule = CostPlus(D(20))
    lines, _ = price_cost_plus(Plan("USD", D(0)), rule, truth_costs(key), D(1), "Oct")
    now = by_item(lines)
    assert {line.item for line in adjustments} >= {"agent::voice-agent"}
    labels = dict(LineItem.objects.values_list("code", "label"))
    for line in adjustments:
        label = labels[line.item]
        assert f", {label}: usage changed after {october.number}" in line.description
        assert line.amount == now[line.item] - billed[line.item] != 0
    assert sum(line.amount for line in adjustments) == sum(now.values()) - sum(billed.values())


def test_a_month_issued_before_lines_kept_their_line_item_is_billed_per_key_once(
    line_item_month, sandbox, finance_user
):
    key = line_item_month["Cardco"]
    plan = rate_card_plan()
    october = issue_october(key, plan, finance_user)
    InvoiceLine.objects.filter(invoice=october).update(item="")  # as an older release kept it
    late_day(sandbox, key)

    [line] = november_adjustments(key)

    now = price_rate_card(Plan("USD", D(0)), card_of(plan), truth_usage(key), "Oct").lines
    assert line.amount == sum(x.amount for x in now) - october.subtotal != 0
    assert (line.item, line.api_key_id) == ("", key.pk)
    assert f"key {key.key_id}: usage changed after {october.number}" in line.description


def test_a_cost_plus_month_with_a_minimum_per_minute_is_re_priced_with_its_minimum(
    line_item_month, sandbox, finance_user
):
    key = line_item_month["Costco"]
    plan = cost_plus_plan("USD")
    plan.minimum_per_minute = D("0.050")  # above Deepgram's cost: every audio line at it
    plan.save()
    october = issue_october(key, plan, finance_user)
    assert any("at the minimum of 0.050/min" in line.description for line in october.lines.all())
    late_day(sandbox, key)  # agent hours and text to speech: no audio minute changed

    adjustments = november_adjustments(key)

    # Only the two line items that changed differ; the audio lines stay at their minimum.
    assert {line.item for line in adjustments} == {"agent::voice-agent", "sync::aura-2"}


def test_cost_plus_credits_included_agent_hours_and_re_prices_with_them(
    line_item_month, sandbox, finance_user
):
    from django.db.models import Sum

    from usage.models import DailyUsage

    key = line_item_month["Costco"]
    plan = cost_plus_plan("USD")
    plan.included_agent_hours = D("1")
    plan.save()
    october = issue_october(key, plan, finance_user)

    [agent] = october.lines.filter(item="agent::voice-agent")
    hours = DailyUsage.objects.filter(api_key=key, day__lt=NOVEMBER).aggregate(
        h=Sum("agent_hours")
    )["h"]
    [credit] = october.lines.filter(kind=InvoiceLine.Kind.FREE_HOURS)
    assert credit.amount == -(agent.amount / hours).quantize(D("0.01")) != 0
    assert credit.description.startswith("Included voice agent hours: 1 h of ")
    usage = sum(line.amount for line in october.lines.filter(kind=InvoiceLine.Kind.USAGE))
    assert october.subtotal == usage + credit.amount

    late_day(sandbox, key)  # more agent hours, at Deepgram's same price an hour
    adjustments = november_adjustments(key)

    # Each changed line item's difference on its own line. The month priced again keeps its
    # included hour (read as the billed plan has it), still worth the same: no customer-wide
    # difference (had re-pricing lost the allowance, a line would take the credit back).
    assert {line.item for line in adjustments} == {"agent::voice-agent", "sync::aura-2"}
    with at("2026-12-01 04:00Z"):
        invoice_approve(invoice=adjustments[0].invoice, actor=finance_user)
    customer = key.customer_id
    assert pending_repricing([customer], period=DECEMBER, currencies={customer: "USD"}) == {}
