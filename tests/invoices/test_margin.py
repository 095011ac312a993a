"""Margin for finance: revenue net of tax against Deepgram's own cost of the same keys and
days (the sandbox's published prices), in the invoice's currency and in USD; an unknown cost
shown as unknown; unassigned usage as a loss; the Margin page, its CSV and the draft's page."""

import re
from csv import DictReader
from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from invoices.margin import month_margin
from invoices.models import ExchangeRate, Invoice
from invoices.services import credit_note_create, invoice_approve, invoice_generate_drafts
from usage.models import CostMonth, DailyCost, UnassignedAccessor, UnassignedCost

from .line_items import OCTOBER, assign, at, cost_plus_plan, draft_of, rate_card_plan, truth_costs


@pytest.fixture
def billed(line_item_month, finance_user):
    month = line_item_month
    """October issued for both customers: a rate card in USD, cost plus at 20 % in EUR."""
    assign(month["Cardco"], rate_card_plan())
    assign(month["Costco"], cost_plus_plan())
    ExchangeRate.objects.create(day=date(2026, 10, 30), currency="EUR", per_usd=D("0.9"))
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        for key in month.values():
            invoice_approve(invoice=draft_of(key), actor=finance_user)
    return month


def test_margin_is_revenue_less_the_sandboxs_published_cost(billed):
    report = month_margin(OCTOBER)

    by_customer = {row.customer: row for row in report.rows}
    card, cost = by_customer["Cardco"], by_customer["Costco"]
    dollars = sum(c.dollars for c in truth_costs(billed["Cardco"]))
    assert card.cost_usd == dollars > 0
    assert card.revenue == draft_of(billed["Cardco"]).subtotal
    assert card.margin == card.revenue - dollars.quantize(D("0.01"))
    # Cost plus at 20 %: the margin is about a sixth of the revenue (rounding a line at most).
    assert cost.per_usd == D("0.9") and cost.currency == "EUR"
    assert abs(cost.margin - cost.revenue / 6) < D("0.01") * 20
    assert report.revenue_usd == card.revenue_usd + cost.revenue_usd
    assert report.margin_usd == card.margin_usd + cost.margin_usd
    assert [row.margin_usd for row in report.rows] == sorted(row.margin_usd for row in report.rows)


def test_a_month_without_its_cost_is_unknown_not_all_margin(billed):
    DailyCost.objects.filter(api_key=billed["Costco"]).delete()

    report = month_margin(OCTOBER)

    costco = next(row for row in report.rows if row.customer == "Costco")
    assert (costco.cost_usd, costco.margin, costco.margin_usd, costco.margin_percent) == (
        None,
        None,
        None,
        None,
    )
    assert report.unknown == 1
    cardco = next(r for r in report.rows if r.customer == "Cardco")
    assert report.margin_usd == cardco.margin_usd
    # The totals leave the unknown month out of every column, so they add up.
    assert report.revenue_usd == cardco.revenue_usd
    assert report.cost_usd == cardco.cost_usd.quantize(D("0.01"))
    assert report.revenue_usd - report.cost_usd - report.unassigned_usd == report.margin_usd


def test_unassigned_usage_is_a_loss_and_credit_notes_cut_revenue(
    billed, finance_user, default_project
):
    accessor = UnassignedAccessor.objects.create(project=default_project, accessor="console-key")
    now = "2026-11-01T00:00Z"
    UnassignedCost.objects.create(
        accessor=accessor,
        day=date(2026, 10, 7),
        line_item="sync::nova-3",
        dollars=D("12.5"),
        first_seen_at=now,
        changed_at=now,
    )
    before = month_margin(OCTOBER)
    card = Invoice.objects.get(customer=billed["Cardco"].customer, period=OCTOBER)
    with at("2026-11-03 10:00Z"):
        credit_note_create(invoice=card, actor=finance_user, reason="Goodwill", amount=D("10.00"))

    after = month_margin(OCTOBER)

    assert after.unassigned_usd == D("12.5")
    assert after.margin_usd == before.margin_usd - D("10.00")
    row = next(r for r in after.rows if r.customer == "Cardco")
    assert row.revenue == card.subtotal - D("10.00")


def test_the_margin_page_its_csv_and_who_sees_them(
    billed, client, finance_user, support_user, django_assert_num_queries
):
    url = reverse("admin:invoices_invoice_margin")
    client.force_login(finance_user)

    # Pinned: the admin's own (session, user, permissions); the month (invoices, unassigned,
    # revenue 3, keys, rates, and its kept cost sums: 12 on the first view, which sums the
    # month whole; 7 on a later one with nothing changed since); 2 for each of the 11 other
    # months of the chart (invoices, unassigned). None grows with the number of invoices.
    with django_assert_num_queries(46):
        page = client.get(url, {"period": "2026-10"})
    CostMonth.objects.update(summed_at=timezone.now())  # as if summed a while ago
    with django_assert_num_queries(41):
        client.get(url, {"period": "2026-10"})

    assert page.status_code == 200
    text = page.content.decode()
    assert "Margin, October 2026" in text and "Cardco" in text and "Unassigned usage" in text
    assert 'class="margin-chart"' in text  # the last 12 months
    report = month_margin(OCTOBER)
    # The table lowest margin first, as the report sorts it, and the totals under it.
    names = [row.customer for row in report.rows]
    assert [r.margin_usd for r in report.rows] == sorted(r.margin_usd for r in report.rows)
    assert [text.index(f"<td>{name}</td>") for name in names] == sorted(
        text.index(f"<td>{name}</td>") for name in names
    )
    footer = text.split("<tfoot>", 1)[1]
    for total in (report.revenue_usd, report.cost_usd, report.margin_usd):
        assert f"{total:,.2f}" in footer

    csv = client.get(url, {"period": "2026-10", "format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("invoice,customer,currency,revenue,cost,margin")
    assert lines[-1].startswith("total,") and len(lines) == 2 + 2 + 1
    rows = list(DictReader(lines))
    assert [
        (r["invoice"], r["customer"], D(r["revenue"]), D(r["margin_usd"])) for r in rows[:2]
    ] == [(row.number, row.customer, row.revenue, row.margin_usd) for row in report.rows]
    assert [D(rows[-1][c]) for c in ("revenue_usd", "cost_usd", "margin_usd")] == [
        report.revenue_usd, report.cost_usd, report.margin_usd
    ]  # fmt: skip
    client.force_login(support_user)
    assert client.get(url).status_code == 403


def test_the_draft_page_shows_its_margin_and_warns_when_negative(
    line_item_month, client, finance_user
):
    key = line_item_month["Cardco"]
    plan = rate_card_plan()
    plan.card_entries.update(unit_price=D("0.000001"))  # far below Deepgram's cost
    assign(key, plan)
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        client.force_login(finance_user)
        page = client.get(reverse("admin:invoices_invoice_change", args=[draft_of(key).pk]))

    text = page.content.decode()
    assert "Negative margin:" in text
    # Amounts to the cent, as money reads, whatever the database's sums carry.
    shown = text.split("Negative margin:", 1)[1].split("</strong>", 1)[0]
    assert re.search(
        r"^ -[\d,]+\.\d\d USD \(-?[\d.]+ %\) on revenue of [\d,]+\.\d\d: "
        r"Deepgram&#x27;s cost [\d,]+\.\d\d USD \([\d,]+\.\d\d USD\)$",
        shown,
    ), shown


def test_unpriced_usage_is_listed_once_for_every_customer_on_the_plan(
    line_item_month, client, finance_user
):
    plan = rate_card_plan(skip=("Aura text to speech", "Voice agent"))
    for key in line_item_month.values():
        assign(key, plan)
    client.force_login(finance_user)

    page = client.get(reverse("admin:invoices_invoice_unpriced"), {"period": "2026-10"})

    groups = {(g.endpoint, g.method, g.model, g.measure): g for g in page.context["groups"]}
    assert {(endpoint, measure) for endpoint, _, _, measure in groups} == {
        ("speak", "characters"),
        ("agent", "agent"),
    }
    # Both keys used Aura-2 and the voice agent on 5 October: one row each, both customers.
    for where in (
        ("speak", "sync", "aura-2", "characters"),
        ("agent", "streaming", "voice-agent", "agent"),
    ):
        assert groups[where].customers == {"Cardco", "Costco"} and groups[where].plan == plan
    assert "Unpriced usage, October 2026" in page.content.decode()
