"""Accounting exports (invoices.exports, services.exports): each layout's columns and a known
invoice's values, credit notes and payments in each, the 4-decimal rule, tax shared over
lines, void documents left out, and every file recorded so nothing is exported twice
unnoticed. The worked example (178.40 - 50 - 24, 30 recorded and reversed) in every layout."""

import csv
import hashlib
import io
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine

from invoices.exports import (
    DETAIL_COLUMNS,
    PAYMENT_COLUMNS,
    QBO_CREDIT_COLUMNS,
    QBO_INVOICE_COLUMNS,
    XERO_COLUMNS,
    build_export,
    exported_before,
    importable,
)
from invoices.models import AccountingExport, FinanceSettings, InvoiceLine
from invoices.services import invoice_void
from invoices.services.exports import export_record

Layout = AccountingExport.Layout
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture(autouse=True)
def _december():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


def rows_of(built) -> list[dict]:
    return [dict(zip(built.header, row, strict=True)) for row in built.rows]


def test_xero_header_is_its_import_template():
    # Xero's sales invoice template: 27 columns, the required ones starred.
    assert len(XERO_COLUMNS) == 27
    assert [c for c in XERO_COLUMNS if c.startswith("*")] == [
        "*ContactName",
        "*InvoiceNumber",
        "*InvoiceDate",
        "*DueDate",
        "*Description",
        "*Quantity",
        "*UnitAmount",
        "*AccountCode",
        "*TaxType",
    ]


def test_xero_a_known_invoice_and_its_credit_note(worked_example):
    invoice, _credit = worked_example
    built = build_export(Layout.XERO, *NOVEMBER)
    rows = rows_of(built)
    assert [r["*InvoiceNumber"] for r in rows] == ["INV-2026-000001", "CN-2026-000001"]
    inv, cn = rows
    assert inv["*ContactName"] == invoice.buyer["name"]
    assert (inv["*InvoiceDate"], inv["*DueDate"]) == ("05/11/2026", "05/12/2026")
    assert (inv["*Quantity"], inv["*UnitAmount"]) == ("1", "178.40")
    assert (inv["*AccountCode"], inv["*TaxType"], inv["Currency"]) == ("200", "Tax Exempt", "USD")
    assert inv["Reference"] == "October 2026"
    # A credit note: the same file, a negative amount, naming the invoice it credits.
    assert D(cn["*Quantity"]) * D(cn["*UnitAmount"]) == D("-24.00")
    assert cn["Reference"] == "Credits INV-2026-000001"
    assert cn["*DueDate"] == cn["*InvoiceDate"]  # Xero asks one; a credit note has none
    assert built.payments == []  # Xero imports no payments from a CSV


def test_xero_codes_and_date_format_come_from_finance_settings(worked_example):
    settings = FinanceSettings.get_solo()
    settings.xero_account_code, settings.xero_tax_type_zero = "4000", "No VAT"
    settings.xero_date_format = "%m/%d/%Y"
    settings.save()
    [inv, _] = rows_of(build_export(Layout.XERO, *NOVEMBER))
    assert (inv["*AccountCode"], inv["*TaxType"], inv["*InvoiceDate"]) == (
        "4000",
        "No VAT",
        "11/05/2026",
    )


def test_a_line_more_precise_than_4_decimals_is_exported_as_one_at_its_amount():
    line = InvoiceLine(
        description="Nova-3, streaming",
        quantity=D("1234.500000"),
        unit="min",
        unit_price=D("0.004321"),
        amount=D("5.33"),
    )
    assert importable(line) == (D(1), D("5.33"), "Nova-3, streaming (1,234.5 min at 0.004321)")
    plain = InvoiceLine(
        description="Hours", quantity=D("12.5"), unit="", unit_price=D("0.2"), amount=D("2.50")
    )
    assert importable(plain) == (D("12.5"), D("0.20"), "Hours")
    # A half cent billed up: the importer could round it down; exported at its amount.
    half = InvoiceLine(
        description="Hours", quantity=D("12.5"), unit="", unit_price=D("0.258"), amount=D("3.23")
    )
    assert importable(half) == (D(1), D("3.23"), "Hours (12.5 at 0.258)")


def test_every_import_reproduces_the_invoice_totals(issued):
    """Acme's October: 12.5 h at 0.258, a 10.00 fee and 20 % tax."""
    settings = FinanceSettings.get_solo()
    settings.xero_tax_type = "20% (VAT on Income)"
    settings.save()
    span = (issued.issued_on, issued.issued_on)
    xero = rows_of(build_export(Layout.XERO, *span))
    net = sum((D(r["*Quantity"]) * D(r["*UnitAmount"])).quantize(D("0.01")) for r in xero)
    assert net == issued.subtotal
    assert {r["*TaxType"] for r in xero} == {"20% (VAT on Income)"}
    qbo = rows_of(build_export(Layout.QUICKBOOKS_INVOICES, *span))
    assert sum(D(r["ItemAmount"]) for r in qbo) == issued.subtotal
    assert sum(D(r["ItemTaxAmount"]) for r in qbo) == issued.tax  # shared out exactly
    assert {r["Terms"] for r in qbo} == {"Net 14"}
    assert qbo[0]["InvoiceNo"] == issued.number


def test_quickbooks_credit_notes_are_a_file_of_their_own_with_positive_amounts(worked_example):
    invoices = rows_of(build_export(Layout.QUICKBOOKS_INVOICES, *NOVEMBER))
    credits = rows_of(build_export(Layout.QUICKBOOKS_CREDIT_NOTES, *NOVEMBER))
    assert [r["InvoiceNo"] for r in invoices] == ["INV-2026-000001"]
    assert invoices[0]["ItemAmount"] == "178.40"
    assert (invoices[0]["InvoiceDate"], invoices[0]["DueDate"]) == ("2026-11-05", "2026-12-05")
    assert [(r["CreditNoteNo"], r["ItemAmount"], r["Memo"]) for r in credits] == [
        ("CN-2026-000001", "24.00", "Credits INV-2026-000001")
    ]
    assert list(QBO_CREDIT_COLUMNS[:3]) == ["CreditNoteNo", "Customer", "CreditNoteDate"]
    assert QBO_INVOICE_COLUMNS[0] == "InvoiceNo"


def test_payments_and_the_worked_example_balance(worked_example):
    built = build_export(Layout.PAYMENTS, *NOVEMBER)
    rows = rows_of(built)
    assert built.header == PAYMENT_COLUMNS
    assert [(r["Date"], r["Amount"], r["Reference"], r["Reverses"]) for r in rows] == [
        ("2026-11-03", "50.00", "BACS 77", ""),
        ("2026-11-04", "30.00", "TX-WRONG", ""),
        ("2026-11-05", "-30.00", "TX-WRONG", "2026-11-04"),  # reversed the day it was found
    ]
    xero = rows_of(build_export(Layout.XERO, *NOVEMBER))
    invoiced = sum(D(r["*Quantity"]) * D(r["*UnitAmount"]) for r in xero)
    paid = sum(D(r["Amount"]) for r in rows)
    assert invoiced - paid == D("104.40")


def test_detail_has_every_field_for_documents_lines_and_payments(worked_example, make_customer):
    invoice, _credit = worked_example
    built = build_export(Layout.DETAIL, *NOVEMBER)
    assert built.header == DETAIL_COLUMNS
    assert all(len(row) == len(DETAIL_COLUMNS) for row in built.rows)
    rows = rows_of(built)
    lines = [r for r in rows if r["record"] == "line"]
    payments = [r for r in rows if r["record"] == "payment"]
    assert [(r["number"], r["amount"], r["total"]) for r in lines] == [
        ("INV-2026-000001", "178.40", "178.40"),
        ("CN-2026-000001", "-24.00", "-24.00"),
    ]
    assert lines[1]["credits"] == "INV-2026-000001"
    assert (lines[0]["tax_rate"], lines[0]["reverse_charge"]) == ("0.00", "no")
    assert lines[0]["buyer_country"] == invoice.buyer.get("country", "")
    assert [p["payment_amount"] for p in payments] == ["50.00", "30.00", "-30.00"]
    assert payments[2]["reverses_payment_of"] == "2026-11-04"


def test_void_documents_are_left_out_of_imports_and_named(fee_invoice, finance_user):
    invoice_void(invoice=fee_invoice, actor=finance_user, reason="Wrong customer")
    xero = build_export(Layout.XERO, *NOVEMBER)
    assert (xero.rows, xero.left_out_void) == ([], ["INV-2026-000001"])
    detail = rows_of(build_export(Layout.DETAIL, *NOVEMBER))
    assert [r["status"] for r in detail] == ["void"]


def test_names_that_look_like_formulas_are_neutralised(fee_invoice):
    fee_invoice.buyer = {**fee_invoice.buyer, "name": "=HYPERLINK(evil)"}
    fee_invoice.save(update_fields=["buyer"])
    [row] = rows_of(build_export(Layout.XERO, *NOVEMBER))
    assert row["*ContactName"] == "'=HYPERLINK(evil)"


def test_each_export_is_recorded_and_the_next_leaves_out_what_it_held(worked_example, finance_user):
    invoice, credit = worked_example
    first = export_record(
        layout=Layout.XERO, start=NOVEMBER[0], end=NOVEMBER[1], actor=finance_user
    )
    assert (first.rows, first.created_by, first.filename) == (
        2,
        finance_user,
        "xero-20261101-20261130.csv",
    )
    assert set(first.documents.all()) == {invoice, credit}
    assert first.sha256 == hashlib.sha256(first.content.encode()).hexdigest()
    header = next(csv.reader(io.StringIO(first.content)))
    assert header == XERO_COLUMNS

    overlap = exported_before(Layout.XERO, *NOVEMBER)
    assert overlap.numbers == ["CN-2026-000001", "INV-2026-000001"]
    assert set(overlap.documents.values()) == {first}
    again = export_record(
        layout=Layout.XERO, start=NOVEMBER[0], end=NOVEMBER[1], actor=finance_user
    )
    assert again.rows == 0 and not again.documents.exists()
    forced = export_record(
        layout=Layout.XERO,
        start=NOVEMBER[0],
        end=NOVEMBER[1],
        actor=finance_user,
        leave_out_exported=False,
    )
    assert forced.rows == 2
    # Another layout is another import: it has its own history.
    assert not exported_before(Layout.QUICKBOOKS_INVOICES, *NOVEMBER)
