"""Late usage of a month invoiced in another currency than the customer's draft: billed in
the currency of the invoice it corrects, on a draft of its own
(invoices.services.adjustment_drafts)."""

from datetime import date
from decimal import Decimal as D

import pytest

from invoices.exceptions import StaleDraft
from invoices.models import CustomerPlan, Invoice, InvoiceLine, PricePlan
from invoices.services import (
    invoice_add_manual_line,
    invoice_approve,
    invoice_generate_drafts,
    invoice_is_stale,
)

from .test_repricing_months import adjustments_of, billed_for, customer_on, hourly_plan, issue

SEPTEMBER, OCTOBER, NOVEMBER = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


@pytest.fixture
def switched(make_customer, key_of, put_usage, finance_user):
    """September invoiced in USD (10 h at 1.00); the plan is in EUR from October, which has
    5 h of usage at 0.90."""
    customer = customer_on(make_customer, hourly_plan(rate="1.000000"))
    key = key_of(customer)
    put_usage(key, date(2026, 9, 10), "10.000000")
    september = issue(customer, SEPTEMBER, finance_user)
    euro = PricePlan.objects.create(name="Euro", currency="EUR", rate_per_hour=D("0.900000"))
    CustomerPlan.objects.create(customer=customer, plan=euro, effective_from=OCTOBER)
    put_usage(key, date(2026, 10, 2), "5.000000")
    return customer, key, september


def drafts_of(customer, period):
    return Invoice.objects.filter(customer=customer, period=period, status=Invoice.Status.DRAFT)


def test_a_late_change_to_a_usd_month_is_billed_in_usd_on_a_draft_of_its_own(
    switched, put_usage, finance_user
):
    customer, key, september = switched
    put_usage(key, date(2026, 9, 20), "3.000000")

    report = invoice_generate_drafts(period=OCTOBER, customers=[customer])

    assert report.counts()["created"] == 2
    month = Invoice.objects.live_invoices().get(customer=customer, period=OCTOBER)
    assert (month.currency, month.total, month.adjusts_only) == ("EUR", D("4.50"), False)
    assert adjustments_of(month) == []
    assert month.pricing_blockers == []
    apart = drafts_of(customer, OCTOBER).get(adjusts_only=True)
    assert (apart.currency, apart.total) == ("USD", D("3.00"))
    [line] = adjustments_of(apart)
    assert (line.amount, line.corrects, line.api_key) == (D("3.00"), september, key)
    assert line.description.startswith("Re-priced September 2026 (days 20)")
    assert f"usage changed after {september.number}" in line.description
    assert "customer's draft for October 2026 is in another currency" in apart.pricing_notes[0]

    # Approved like any draft: numbered, and what September billed is now its final usage.
    issued = invoice_approve(invoice=apart, actor=finance_user)
    assert issued.number and issued.status == Invoice.Status.ISSUED
    assert billed_for(customer, SEPTEMBER) == D("13.00")
    assert not issued.billed_usage.exists()  # October's usage is its month invoice's record
    invoice_approve(invoice=month, actor=finance_user)

    # Billed once: November's generation finds nothing more to bill in either currency.
    put_usage(key, date(2026, 11, 2), "1.000000")
    invoice_generate_drafts(period=NOVEMBER, customers=[customer])
    assert list(drafts_of(customer, NOVEMBER).values_list("adjusts_only", "total")) == [
        (False, D("0.90"))
    ]


def test_its_draft_follows_later_changes_and_goes_when_nothing_is_left(
    switched, put_usage, finance_user
):
    customer, key, _ = switched
    put_usage(key, date(2026, 9, 20), "3.000000")
    invoice_generate_drafts(period=OCTOBER, customers=[customer])
    apart = drafts_of(customer, OCTOBER).get(adjusts_only=True)
    assert not invoice_is_stale(invoice=apart)

    put_usage(key, date(2026, 9, 20), "4.000000")
    assert invoice_is_stale(invoice=apart)
    with pytest.raises(StaleDraft):
        invoice_approve(invoice=apart, actor=finance_user)

    report = invoice_generate_drafts(period=OCTOBER, customers=[customer])
    assert [d.pk for d in report.refreshed] == [apart.pk]
    apart.refresh_from_db()
    assert apart.total == D("4.00") and not invoice_is_stale(invoice=apart)
    again = invoice_generate_drafts(period=OCTOBER, customers=[customer])
    assert [d.pk for d in again.unchanged] == [
        Invoice.objects.live_invoices().get(customer=customer, period=OCTOBER).pk
    ]
    assert again.refreshed == []

    put_usage(key, date(2026, 9, 20), "0.000000")
    invoice_generate_drafts(period=OCTOBER, customers=[customer])
    assert not drafts_of(customer, OCTOBER).filter(adjusts_only=True).exists()


def test_a_manual_line_keeps_its_draft_and_is_billed_with_it(switched, put_usage, finance_user):
    customer, key, _ = switched
    put_usage(key, date(2026, 9, 20), "3.000000")
    invoice_generate_drafts(period=OCTOBER, customers=[customer])
    apart = drafts_of(customer, OCTOBER).get(adjusts_only=True)
    invoice_add_manual_line(
        invoice=apart,
        actor=finance_user,
        description="Support call",
        quantity=D(1),
        unit_price=D("2.00"),
    )
    put_usage(key, date(2026, 9, 20), "0.000000")

    invoice_generate_drafts(period=OCTOBER, customers=[customer])

    apart.refresh_from_db()
    assert [line.kind for line in apart.lines.all()] == [InvoiceLine.Kind.MANUAL]
    assert apart.total == D("2.00")


def test_a_late_decrease_alone_is_issued_as_a_credit_note_in_usd(switched, put_usage, finance_user):
    customer, key, september = switched
    put_usage(key, date(2026, 9, 10), "8.000000")
    invoice_generate_drafts(period=OCTOBER, customers=[customer])
    apart = drafts_of(customer, OCTOBER).get(adjusts_only=True)
    assert apart.total == D("-2.00")

    note = invoice_approve(invoice=apart, actor=finance_user)

    assert (note.kind, note.currency, note.total) == (Invoice.Kind.CREDIT_NOTE, "USD", D("-2.00"))
    assert note.credits == september
    assert billed_for(customer, SEPTEMBER) == D("8.00")
