"""Late usage of an hourly month (invoices.services.repricing): the month priced again with
its own plan, the difference billed once on the next draft."""

from datetime import date
from decimal import Decimal as D

from invoices.models import CustomerPlan, InvoiceLine, PricePlan
from invoices.services import (
    invoice_approve,
    invoice_generate_drafts,
)

from .conftest import OCTOBER


def test_it_bills_a_late_change_once_on_the_next_invoice(october_draft, put_usage, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)
    key = october_draft.lines.first().api_key
    put_usage(key, date(2026, 10, 17), "3.500000")  # Deepgram corrected a billed day
    put_usage(key, date(2026, 11, 2), "1.000000")

    november = invoice_generate_drafts(period=date(2026, 11, 1)).created[0]

    adjustment = november.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    # October priced again: 13.5 h at 0.258 is 3.48 (3.483), 12.5 h billed 3.23 (3.225). The
    # difference of the amounts, not 1 h at 0.258 (0.26), which would bill a cent twice.
    assert (adjustment.quantity, adjustment.unit_price, adjustment.amount) == (
        D("1.000000"),
        D("0.258000"),
        D("0.25"),
    )
    assert "October 2026 (days 17)" in adjustment.description
    assert "13.500000 h now, 12.500000 h billed" in adjustment.description
    assert adjustment.corrects == issued
    assert issued.number in adjustment.description
    issued.refresh_from_db()
    assert issued.subtotal == D("13.23")  # the issued invoice never changes

    invoice_approve(invoice=november, actor=finance_user)
    december = invoice_generate_drafts(period=date(2026, 12, 1))
    assert (
        not InvoiceLine.objects.filter(kind=InvoiceLine.Kind.ADJUSTMENT)
        .exclude(invoice=november)
        .exists()
    )
    assert all(i.lines.filter(kind="adjustment").count() == 0 for i in december.created)


def test_usage_reported_after_approval_for_a_day_without_any_is_billed_next_month(
    october_draft, put_usage, key_of, acme, finance_user
):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)
    key = october_draft.lines.first().api_key
    # Deepgram settles the month's last days late: rows appear for days that had none.
    put_usage(key, date(2026, 10, 31), "2.000000")
    put_usage(key_of(acme, key_id="acme-key-2"), date(2026, 10, 30), "1.000000")  # a new key
    put_usage(key, date(2026, 11, 2), "1.000000")

    november = invoice_generate_drafts(period=date(2026, 11, 1)).created[0]

    adjustments = {
        line.api_key.key_id: (line.quantity, line.unit_price, line.amount, line.description)
        for line in november.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT)
    }
    # October priced again with its plan: key 1's 14.5 h are 3.74 (3.741), 3.23 billed; key 2,
    # which October did not bill, 1 h at the plan's rate.
    assert adjustments["acme-key-1"][:3] == (D("2.000000"), D("0.258000"), D("0.51"))
    assert adjustments["acme-key-2"][:3] == (D("1.000000"), D("0.258000"), D("0.26"))
    assert "October 2026 (days 31)" in adjustments["acme-key-1"][3]
    assert issued.number in adjustments["acme-key-1"][3]

    # Billed once: December has nothing more to adjust.
    invoice_approve(invoice=november, actor=finance_user)
    december = invoice_generate_drafts(period=date(2026, 12, 1)).created
    assert all(not i.lines.filter(kind="adjustment").exists() for i in december)


def test_late_usage_takes_its_months_price_not_an_older_months_adjustment_price(
    acme, key_of, put_usage, finance_user
):
    key_x, key_y = key_of(acme), key_of(acme, key_id="acme-key-2")
    put_usage(key_x, date(2026, 10, 3), "10.000000")
    invoice_approve(invoice=invoice_generate_drafts(period=OCTOBER).created[0], actor=finance_user)
    dearer = PricePlan.objects.create(
        name="Dearer", currency="USD", rate_per_hour=D("0.300000"), platform_fee=D("10.00")
    )
    CustomerPlan.objects.create(customer=acme, plan=dearer, effective_from=date(2026, 11, 1))
    put_usage(key_x, date(2026, 10, 3), "11.000000")  # October's change, billed in November
    put_usage(key_y, date(2026, 11, 2), "1.000000")  # key X has no November usage
    november = invoice_approve(
        invoice=invoice_generate_drafts(period=date(2026, 11, 1)).created[0], actor=finance_user
    )
    put_usage(key_x, date(2026, 11, 30), "2.000000")  # late, for a key November did not bill

    december = invoice_generate_drafts(period=date(2026, 12, 1)).created[0]

    adjustment = december.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert november.number in adjustment.description
    # November's price for the method (0.30), not the 0.258 of October's adjustment that
    # November's invoice also recorded for key X.
    assert (adjustment.quantity, adjustment.unit_price) == (D("2.000000"), D("0.300000"))


def test_late_usage_of_a_month_invoiced_without_usage_is_billed_next_month(
    acme, key_of, put_usage, finance_user
):
    october = invoice_approve(
        invoice=invoice_generate_drafts(period=OCTOBER).created[0], actor=finance_user
    )  # the platform fee only: no usage, nothing recorded as billed
    put_usage(key_of(acme), date(2026, 10, 31), "4.000000")

    november = invoice_generate_drafts(period=date(2026, 11, 1)).created[0]

    adjustment = november.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert (adjustment.quantity, adjustment.unit_price, adjustment.amount) == (
        D("4.000000"),
        D("0.258000"),  # the plan's rate: October billed no hours to take a price from
        D("1.03"),
    )
    assert october.number in adjustment.description


def test_late_usage_of_a_month_never_invoiced_waits_for_its_own_invoice(
    acme, key_of, put_usage, finance_user
):
    key = key_of(acme)
    put_usage(key, date(2026, 9, 12), "5.000000")  # September was never invoiced
    put_usage(key, date(2026, 10, 3), "1.000000")

    october = invoice_generate_drafts(period=OCTOBER).created[0]

    assert not october.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).exists()
