"""Pricing ahead: while a batch commits, the next batch's customers without an invoice are
priced on a worker thread. A batch uses those results only where they are what it would
compute itself; everything else is priced in the batch."""

import decimal
from datetime import date
from decimal import Decimal as D

import pytest

from invoices.models import Invoice
from invoices.services import drafts, invoice_approve, invoice_generate_drafts, invoice_is_stale

from .conftest import OCTOBER

NOVEMBER = date(2026, 11, 1)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(drafts, "GENERATE_BATCH", 2)


def lines_of(draft):
    return [(line.kind, line.quantity, line.amount) for line in draft.lines.all()]


def test_every_batch_prices_as_the_approval_would(billed_customer, put_usage, finance_user):
    customers = [billed_customer(f"{n}.500000", terms=True) for n in range(7)]
    first = {d.customer: d for d in invoice_generate_drafts(period=OCTOBER).created}
    invoice_approve(invoice=first[customers[1]], actor=finance_user)
    first[customers[2]].delete()
    put_usage(customers[3].api_keys.get(), date(2026, 10, 9), "1.000000")
    put_usage(customers[4].api_keys.get(), date(2026, 10, 3), "0.000000")

    again = invoice_generate_drafts(period=OCTOBER)

    assert [d.customer for d in again.created] == [customers[2]]
    assert [d.customer for d in again.refreshed] == [customers[3], customers[4]]
    assert [d.customer for d in again.unchanged] == [customers[0], customers[5], customers[6]]
    assert again.skipped_issued == 1
    drafts = Invoice.objects.filter(period=OCTOBER, status=Invoice.Status.DRAFT)
    assert drafts.count() == 6
    assert not any(invoice_is_stale(invoice=draft) for draft in drafts)
    assert lines_of(Invoice.objects.get(customer=customers[3], period=OCTOBER)) == [
        ("usage", D("4.500000"), D("1.16")),
        ("platform_fee", D("1.000000"), D("10.00")),
    ]


def test_a_customer_with_something_to_adjust_is_priced_in_its_batch(
    billed_customer, put_usage, finance_user
):
    customers = [billed_customer("2.000000", terms=True) for _ in range(5)]
    for draft in invoice_generate_drafts(period=OCTOBER).created:
        invoice_approve(invoice=draft, actor=finance_user)
    put_usage(customers[3].api_keys.get(), date(2026, 10, 3), "3.000000")

    november = {d.customer: d for d in invoice_generate_drafts(period=NOVEMBER).created}

    assert [c for c, d in november.items() if d.lines.filter(kind="adjustment")] == [customers[3]]
    # October priced again: 3 h at 0.258 is 0.77, 2 h billed 0.52.
    assert november[customers[3]].lines.get(kind="adjustment").amount == D("0.25")
    assert not any(invoice_is_stale(invoice=draft) for draft in november.values())


def test_it_prices_ahead_in_the_callers_decimal_context(billed_customer):
    # 77.46124 h at 0.258 is 19.98499992: 19.98 exactly, but 19.99 where products keep eight
    # digits. The first batch is priced by the caller, the others ahead, on the worker.
    customers = [billed_customer("77.461240") for _ in range(6)]

    with decimal.localcontext(prec=8):
        drafts = invoice_generate_drafts(period=OCTOBER).created

    assert [d.customer for d in drafts] == customers
    assert {d.lines.get(kind="usage").amount for d in drafts} == {D("19.99")}
