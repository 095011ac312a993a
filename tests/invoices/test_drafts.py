"""Drafts (invoices.services.drafts): a month drafted from stored usage, refreshed idempotently."""

from datetime import date
from decimal import Decimal as D

from invoices.models import CustomerPlan, Invoice
from invoices.services import (
    invoice_generate_drafts,
)

from .conftest import OCTOBER


def test_it_drafts_a_month_from_stored_usage(october_draft):
    lines = [
        (line.kind, line.quantity, line.unit_price, line.amount)
        for line in october_draft.lines.all()
    ]

    assert lines == [
        ("usage", D("12.500000"), D("0.258000"), D("3.23")),
        ("platform_fee", D("1.000000"), D("10.000000"), D("10.00")),
    ]
    assert (october_draft.subtotal, october_draft.tax, october_draft.total) == (
        D("13.23"),
        D("2.65"),
        D("15.88"),
    )
    assert october_draft.number is None and october_draft.status == Invoice.Status.DRAFT


def test_it_refreshes_drafts_idempotently(october_draft):
    report = invoice_generate_drafts(period=OCTOBER)

    assert report.unchanged == [october_draft] and not report.created and not report.refreshed
    assert Invoice.objects.count() == 1


def test_it_refreshes_a_draft_when_usage_changes(october_draft, key_of, put_usage, acme):
    put_usage(october_draft.lines.first().api_key, date(2026, 10, 3), "20.000000")

    report = invoice_generate_drafts(period=OCTOBER)

    october_draft.refresh_from_db()
    assert report.refreshed == [october_draft]
    assert october_draft.subtotal == D("15.81")


def test_it_skips_customers_with_nothing_to_bill(customer_b, plan):

    plan.platform_fee = D("0")
    plan.save()
    CustomerPlan.objects.create(customer=customer_b, plan=plan, effective_from=OCTOBER)

    report = invoice_generate_drafts(period=OCTOBER)

    assert report.skipped_empty == 1 and not Invoice.objects.exists()
