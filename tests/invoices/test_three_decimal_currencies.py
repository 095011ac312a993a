"""Invoices in a three-decimal currency (KWD, BHD, OMR): a month synced from the sandbox is
priced, stored, approved, printed, paid, credited, exported and weighed against its cost to the
fils, never to the cent; and amounts in two-decimal currencies read back exactly as they did
before the money columns took a third decimal."""

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.db.models import Sum

from invoices.cost_plus import CostPlus, price_cost_plus
from invoices.exceptions import InvoicesError
from invoices.exports import build_export
from invoices.margin import month_margin
from invoices.models import AccountingExport, BillingTerms, ExchangeRate, Invoice, InvoiceLine
from invoices.pricing import Plan, tax_of
from invoices.services import credit_note_create, invoice_approve, invoice_generate_drafts
from invoices.services.payments import payment_record

from .line_items import OCTOBER, assign, at, cost_plus_plan, draft_of, pdf_text, truth_costs

KWD_PER_USD = D("0.3074285714")
FILS = D("0.001")


def thousandths(amount: D) -> bool:
    """Whether an amount has a third decimal of its own (so a cent column would lose it)."""
    return amount.quantize(FILS) == amount and amount.quantize(D("0.01")) != amount


@pytest.fixture
def kuwait(line_item_month, finance_user):
    """Costco's October on cost plus 20 % in KWD with a 1.250 KWD fee and 5 % tax, issued."""
    key = line_item_month["Costco"]
    plan = cost_plus_plan("KWD")
    plan.platform_fee = D("1.250")
    plan.full_clean()
    plan.save()
    assign(key, plan)
    BillingTerms.objects.filter(customer=key.customer).update(tax_rate=D("5.00"))
    ExchangeRate.objects.create(day=date(2026, 10, 30), currency="KWD", per_usd=KWD_PER_USD)
    with at("2026-11-01 04:00Z"):
        invoice_generate_drafts(period=OCTOBER)
        issued = invoice_approve(invoice=draft_of(key), actor=finance_user)
    return key, issued


def test_a_kwd_month_is_billed_stored_and_printed_to_the_fils(kuwait):
    key, issued = kuwait
    expected, _ = price_cost_plus(
        Plan("KWD", D(0)), CostPlus(D(20)), truth_costs(key), KWD_PER_USD, "October 2026"
    )

    issued = Invoice.objects.get(pk=issued.pk)  # as the database holds it
    usage = [line for line in issued.lines.order_by("position") if line.kind == "usage"]
    assert [line.amount for line in usage] == [line.amount for line in expected]
    assert any(thousandths(line.amount) for line in usage)  # a cent column would round these
    subtotal = sum(line.amount for line in expected) + D("1.250")
    assert issued.subtotal == subtotal
    assert issued.tax == tax_of(subtotal, D("5.00"), "KWD")
    assert issued.total == issued.subtotal + issued.tax
    assert issued.total.quantize(FILS) == issued.total
    assert (issued.fx_rate, issued.fx_rate_day) == (KWD_PER_USD, date(2026, 10, 30))

    text = pdf_text(issued)
    for line in usage:
        assert f"{line.amount:,.3f}" in text
    assert f"{issued.total:,.3f}" in text and "KWD" in text
    assert "1.250" in text  # the fee, with its fils
    assert "at 1 USD = 0.3074285714 KWD plus 20 %." in text


def test_a_kwd_invoice_takes_payments_and_credits_in_fils(kuwait, finance_user):
    _, issued = kuwait

    with at("2026-11-05 09:00Z"):
        payment_record(
            invoice=issued, actor=finance_user, amount=D("1.234"), received_on=date(2026, 11, 4)
        )
        with pytest.raises(InvoicesError, match=r"KWD amounts have at most 3 decimals"):
            payment_record(
                invoice=issued, actor=finance_user, amount=D("1.2345"),
                received_on=date(2026, 11, 4),
            )  # fmt: skip
        note = credit_note_create(
            invoice=issued, actor=finance_user, reason="Goodwill", amount=D("0.505")
        )

    assert issued.payments.get().amount == D("1.234")
    assert (note.subtotal, note.tax) == (D("-0.505"), -tax_of(D("0.505"), D("5.00"), "KWD"))
    assert note.tax == D("-0.025")  # 5 % of 0.505 is 0.02525: to the fils, not the cent


def test_a_kwd_export_shares_its_tax_in_fils(kuwait):
    _, issued = kuwait
    built = build_export(AccountingExport.Layout.QUICKBOOKS_INVOICES, OCTOBER, date(2026, 11, 30))
    rows = [dict(zip(built.header, row, strict=True)) for row in built.rows]

    assert {row["InvoiceNo"] for row in rows} == {issued.number}
    shares = [D(row["ItemTaxAmount"]) for row in rows]
    assert sum(shares) == issued.tax and all(s.quantize(FILS) == s for s in shares)
    assert sum(D(row["ItemAmount"]) for row in rows) == issued.subtotal
    assert {row["Currency"] for row in rows} == {"KWD"}


def test_a_kwd_margin_is_weighed_in_fils(kuwait):
    key, issued = kuwait
    row = next(r for r in month_margin(OCTOBER).rows if r.invoice_pk == issued.pk)
    dollars = sum(c.dollars for c in truth_costs(key))

    assert row.currency == "KWD" and row.revenue == issued.subtotal
    assert row.cost == (dollars * KWD_PER_USD).quantize(FILS)
    assert row.margin == row.revenue - row.cost


def test_two_decimal_amounts_read_back_as_before(october_draft):
    # What prints, exports and fingerprints a USD draft: the stored amounts as 2-decimal
    # columns gave them (never "3.230").
    draft = Invoice.objects.get(pk=october_draft.pk)
    amounts = [str(line.amount) for line in draft.lines.order_by("position")]
    summed = InvoiceLine.objects.filter(invoice=draft).aggregate(s=Sum("amount"))["s"]

    assert amounts and all(len(a.split(".")[1]) == 2 for a in amounts)
    assert str(draft.subtotal).split(".")[1] == str(summed).split(".")[1][:2]
    assert len(str(summed).split(".")[1]) == 2 and len(str(draft.total).split(".")[1]) == 2


def test_the_detail_export_of_a_kwd_invoice_reads_back_to_the_fils(kuwait):
    _, issued = kuwait
    built = build_export(AccountingExport.Layout.DETAIL, OCTOBER, date(2026, 11, 30))
    written = io.StringIO()
    csv.writer(written).writerows([built.header, *built.rows])
    rows = list(csv.DictReader(io.StringIO(written.getvalue())))

    ours = [row for row in rows if row["number"] == issued.number]
    assert ours and {(D(r["subtotal"]), D(r["tax"]), D(r["total"])) for r in ours} == {
        (issued.subtotal, issued.tax, issued.total)
    }
    lines = [D(r["amount"]) for r in ours if r["amount"]]
    assert sum(lines) == issued.subtotal and any(thousandths(a) for a in lines)


@pytest.mark.parametrize(
    ("vendor", "stored", "read"),
    [
        ("postgresql", "12.340", "12.34"),
        ("postgresql", "1.235", "1.235"),
        ("postgresql", "-0.500", "-0.50"),
        ("postgresql", "1235.000", "1235.00"),
        # SQLite (the embedded `make run` database) sums decimals as floats.
        ("sqlite", "29.2230000000000", "29.223"),
        ("sqlite", "221.830000000000", "221.83"),
    ],
)
def test_a_money_column_reads_its_third_decimal_only_when_it_holds_one(vendor, stored, read):
    from types import SimpleNamespace

    from invoices.fields import MoneyField

    value = MoneyField().from_db_value(D(stored), None, SimpleNamespace(vendor=vendor))
    assert str(value) == read
    assert MoneyField().from_db_value(None, None, SimpleNamespace(vendor=vendor)) is None
