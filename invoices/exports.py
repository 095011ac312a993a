"""Accounting exports: a date range's issued documents and payments as CSV files that
accounting software imports. Reads only (`services.exports` records each file downloaded).

Layouts (checked against the vendors' import templates; see the README for the sources):
- Detail: every field of every document, line and payment: for a spreadsheet or an importer
  of one's own. Void documents are in it, with their state.
- Xero, sales invoices (Business > Invoices > Import, its 27-column template; required
  columns start with `*`). Credit notes go in the same file as invoices with negative
  amounts (Xero's "import invoices, bills and credit notes"). Xero imports drafts and works
  out tax and totals per line; choose "tax exclusive" when importing.
- QuickBooks Online, invoices (Import invoices) and credit notes (Import credit notes, a tool
  of its own): one row per line; tax amounts are given per line, the invoice's tax shared
  out over its lines so they add up to it exactly.
- Payments: neither Xero nor QuickBooks imports payments from a CSV (both through their API
  or by hand); this file lists them for entering by hand or a tool of one's choice.

Precision: Xero keeps unit prices to 4 decimals (and quantities to 4). A line whose quantity
and unit price have at most 4 decimals and multiply to its amount exactly is exported as it
is; another (0.004321 per minute, or 12.5 h at 0.258 = 3.225 billed 3.23, a half cent the
importer may round either way) as a quantity of 1 at its amount, with the quantity and price
written in its description, so that the imported totals equal ours to the cent.
Void documents are left out of the import layouts (nothing to import); one voided after it
was exported must be voided in the accounting software by hand (the export page says so).
"""

import functools
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pycountry

from billing_portal.csv_cells import text_cell

from .models import AccountingExport, FinanceSettings, Invoice, InvoiceLine, Payment
from .money import CENT, COLUMN_UNIT, minor_unit
from .templatetags.invoice_format import normalize_quantity, unit_price

__all__ = ["LAYOUTS", "ExportFile", "build_export", "importable"]

Layout = AccountingExport.Layout
IMPORT_PLACES = 4  # Xero's unit price and quantity; QuickBooks takes more, 4 is safe for both
ISSUED = [Invoice.Status.ISSUED, Invoice.Status.PAID]

XERO_COLUMNS = [
    "*ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3",
    "POAddressLine4", "POCity", "PORegion", "POPostalCode", "POCountry", "*InvoiceNumber",
    "Reference", "*InvoiceDate", "*DueDate", "InventoryItemCode", "*Description", "*Quantity",
    "*UnitAmount", "Discount", "*AccountCode", "*TaxType", "TrackingName1", "TrackingOption1",
    "TrackingName2", "TrackingOption2", "Currency", "BrandingTheme",
]  # fmt: skip
QBO_INVOICE_COLUMNS = [
    "InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Location", "Memo",
    "Item(Product/Service)", "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount",
    "ItemTaxCode", "ItemTaxAmount", "Currency",
]  # fmt: skip
QBO_CREDIT_COLUMNS = [
    "CreditNoteNo", "Customer", "CreditNoteDate", "Memo", "Item(Product/Service)",
    "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount", "ItemTaxCode",
    "ItemTaxAmount", "Currency",
]  # fmt: skip
DETAIL_COLUMNS = [
    "record", "number", "kind", "status", "customer", "buyer_name", "buyer_tax_id",
    "buyer_country", "period", "issued_on", "due_on", "currency", "tax_rate", "reverse_charge",
    "tax_note", "credits", "line", "line_kind", "description", "quantity", "unit",
    "unit_price", "amount", "subtotal", "tax", "total", "paid_on", "payment_amount",
    "payment_reference", "payment_method", "reverses_payment_of",
]  # fmt: skip
PAYMENT_COLUMNS = [
    "Date", "InvoiceNumber", "Customer", "Amount", "Currency", "Reference", "Method",
    "Reverses", "Note", "RecordedBy",
]  # fmt: skip


@dataclass
class ExportFile:
    layout: str
    start: date
    end: date
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)  # pks of the documents in the file
    payments: list[int] = field(default_factory=list)
    left_out_void: list[str] = field(default_factory=list)  # numbers

    @property
    def filename(self) -> str:
        return f"{self.layout}-{self.start:%Y%m%d}-{self.end:%Y%m%d}.csv"


def importable(line: InvoiceLine) -> tuple[Decimal, Decimal, str]:
    """(quantity, unit price, description) of a line for an import that keeps 4 decimals: as
    stored when their product is its amount exactly, else 1 at the amount with both in the
    words. A price shows at least its cents (178.40, 0.0043)."""
    quantity, price = line.quantity.normalize(), line.unit_price.normalize()
    fits = -quantity.as_tuple().exponent <= IMPORT_PLACES >= -price.as_tuple().exponent
    # Exactly, not once rounded: the importer may round a half cent either way.
    if fits and quantity * price == line.amount:
        if -price.as_tuple().exponent < 2:
            price = price.quantize(CENT)
        return quantity, price, line.description
    unit = f" {line.unit}" if line.unit and line.unit not in ("each",) else ""
    quantity_text = f"{normalize_quantity(line.quantity)}{unit}"
    said = f"{line.description} ({quantity_text} at {unit_price(line.unit_price)})"
    return Decimal(1), line.amount, said


def _documents(start: date, end: date, kinds, statuses, skip: set[int]) -> list[Invoice]:
    """The documents, each with its lines (`export_lines`: light rows, not models: a month
    holds tens of thousands)."""
    found = list(
        Invoice.objects.filter(kind__in=kinds, status__in=statuses, issued_on__range=(start, end))
        .exclude(pk__in=skip)
        .select_related("customer", "credits")
        .order_by("issued_on", "-kind", "number")
    )
    lines: dict[int, list] = {}
    rows = (
        InvoiceLine.objects.filter(invoice_id__ids_in=[doc.pk for doc in found])
        .order_by("invoice_id", "position", "pk")
        .values_list(*LINE_FIELDS, named=True)
    )
    for line in rows.iterator(chunk_size=10_000) if found else ():
        lines.setdefault(line.invoice_id, []).append(line)
    for doc in found:
        doc.export_lines = lines.get(doc.pk, [])
    return found


def _void_numbers(start: date, end: date, kinds) -> list[str]:
    return list(
        Invoice.objects.filter(
            kind__in=kinds, status=Invoice.Status.VOID, issued_on__range=(start, end)
        )
        .order_by("number")
        .values_list("number", flat=True)
    )


LINE_FIELDS = ("invoice_id", "kind", "description", "quantity", "unit", "unit_price", "amount")


def _lines(doc: Invoice) -> list:
    return doc.export_lines


@functools.lru_cache(maxsize=8192)
def _cell(text: str) -> str:
    """`text_cell`, remembered: a month's lines repeat the same few descriptions and codes."""
    return text_cell(text)


def _buyer(doc: Invoice) -> str:
    return text_cell(doc.buyer.get("name") or doc.customer.name)


def _country(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code.upper()) if code else None
    return getattr(found, "name", code) if found else code


def _reverse_charge(doc: Invoice) -> bool:
    # An issued document's tax note is its reverse-charge wording, and only that.
    return bool(doc.tax_note) and doc.tax_rate == 0


def _tax_shares(doc: Invoice, lines: list[InvoiceLine]) -> list[Decimal]:
    """The document's tax shared over its lines in proportion to their amounts, to the minor
    unit of its currency (cents; yen; KWD's thousandths), the rounding left on the largest
    lines so that the shares add up to its tax exactly."""
    net = sum((line.amount for line in lines), Decimal(0))
    if not doc.tax or not net:
        return [Decimal(0)] * len(lines)
    exact = [doc.tax * line.amount / net for line in lines]
    unit = minor_unit(doc.currency)
    if doc.tax % unit:  # issued before ISO 4217 took the currency's decimals away (BIF)
        unit = COLUMN_UNIT
    shares = [x.quantize(unit, rounding=ROUND_HALF_UP) for x in exact]
    left = doc.tax - sum(shares, Decimal(0))
    order = sorted(range(len(lines)), key=lambda i: -abs(lines[i].amount))
    step = unit if left > 0 else -unit
    for i in order:
        if not left:
            break
        shares[i] += step
        left -= step
    return shares


def _xero(doc: Invoice, s: FinanceSettings) -> list[list[str]]:
    address = [text_cell(x.strip()) for x in (doc.buyer.get("address") or "").splitlines()]
    address = [x for x in address if x]
    country = _country(doc.buyer.get("country", ""))
    if address and address[-1].casefold() in {
        country.casefold(),
        doc.buyer.get("country", "").casefold(),
    }:
        address.pop()  # the country has a column of its own
    po = [*address[:3], ", ".join(address[3:])] + [""] * 4
    reference = f"Credits {doc.credits.number}" if doc.credits_id else f"{doc.period:%B %Y}"
    due = doc.due_on or doc.issued_on  # a credit note has no due date; Xero asks one
    tax_type = (
        s.xero_tax_type_reverse_charge
        if _reverse_charge(doc)
        else (s.xero_tax_type if doc.tax_rate else s.xero_tax_type_zero)
    )
    # What every line of the document repeats, made once.
    head = [_buyer(doc), text_cell(doc.buyer.get("email", "")), *po[:4], "", "", "", country,
            doc.number, reference, f"{doc.issued_on:{s.xero_date_format}}",
            f"{due:{s.xero_date_format}}", _cell(s.xero_item_code)]  # fmt: skip
    tail = ["", _cell(s.xero_account_code), _cell(tax_type), "", "", "", "", doc.currency, ""]
    rows = []
    for line in _lines(doc):
        quantity, price, description = importable(line)
        rows.append([*head, _cell(description), str(quantity), str(price), *tail])
    return rows


def _qbo_tax_code(doc: Invoice, s: FinanceSettings) -> str:
    if _reverse_charge(doc):
        return s.quickbooks_tax_code_reverse_charge
    return s.quickbooks_tax_code if doc.tax_rate else s.quickbooks_tax_code_zero


def _qbo_invoice(doc: Invoice, s: FinanceSettings) -> list[list[str]]:
    lines = _lines(doc)
    days = (doc.due_on - doc.issued_on).days if doc.due_on else 0
    buyer, code = _buyer(doc), _cell(_qbo_tax_code(doc, s))
    rows = []
    for line, tax in zip(lines, _tax_shares(doc, lines), strict=True):
        quantity, price, description = importable(line)
        rows.append(
            [
                doc.number, buyer, f"{doc.issued_on:{s.quickbooks_date_format}}",
                f"{doc.due_on:{s.quickbooks_date_format}}", f"Net {days}", "",
                f"{doc.period:%B %Y}", _cell(s.quickbooks_item), _cell(description),
                str(quantity), str(price), str(line.amount), code,
                str(tax), doc.currency,
            ]
        )  # fmt: skip
    return rows


def _qbo_credit(doc: Invoice, s: FinanceSettings) -> list[list[str]]:
    # QuickBooks' credit notes are positive amounts credited; ours are stored below zero.
    lines = _lines(doc)
    buyer = _buyer(doc)
    rows = []
    for line, tax in zip(lines, _tax_shares(doc, lines), strict=True):
        quantity, price, description = importable(line)
        rows.append(
            [
                doc.number, buyer, f"{doc.issued_on:{s.quickbooks_date_format}}",
                f"Credits {doc.credits.number}" if doc.credits_id else "",
                _cell(s.quickbooks_item), _cell(description), str(abs(quantity)),
                str(abs(price)), str(-line.amount), _cell(_qbo_tax_code(doc, s)),
                str(-tax), doc.currency,
            ]
        )  # fmt: skip
    return rows


def _detail_document(doc: Invoice) -> list[list[str]]:
    head = [
        doc.kind, doc.status, text_cell(doc.customer.name), _buyer(doc),
        text_cell(doc.buyer.get("tax_id", "")), doc.buyer.get("country", ""),
        f"{doc.period:%Y-%m}", _iso(doc.issued_on), _iso(doc.due_on), doc.currency,
        str(doc.tax_rate), "yes" if _reverse_charge(doc) else "no", text_cell(doc.tax_note),
        doc.credits.number if doc.credits_id else "",
    ]  # fmt: skip
    tail = [str(doc.subtotal), str(doc.tax), str(doc.total), _iso(doc.paid_on), "",
            text_cell(doc.payment_reference), "", ""]  # fmt: skip
    return [
        [
            "line", doc.number, *head, str(n), line.kind, _cell(line.description),
            str(line.quantity), line.unit, str(line.unit_price), str(line.amount), *tail,
        ]
        for n, line in enumerate(_lines(doc), start=1)
    ]  # fmt: skip


def _payments(start: date, end: date, skip: set[int]) -> list[Payment]:
    return list(
        Payment.objects.filter(received_on__range=(start, end))
        .exclude(pk__in=skip)
        .select_related("invoice", "invoice__customer", "reverses", "recorded_by")
        .order_by("received_on", "pk")
    )


def _payment_row(p: Payment) -> list[str]:
    doc = p.invoice
    return [
        _iso(p.received_on), doc.number, _buyer(doc), str(p.amount), doc.currency,
        text_cell(p.reference), p.get_method_display(),
        _iso(p.reverses.received_on) if p.reverses_id else "", text_cell(p.note),
        p.recorded_by.get_username() if p.recorded_by else "system",
    ]  # fmt: skip


def _detail_payment(p: Payment) -> list[str]:
    doc = p.invoice
    blank = [""] * 9  # the line's seven columns, the subtotal and the tax
    return [
        "payment", doc.number, doc.kind, doc.status, text_cell(doc.customer.name), _buyer(doc),
        text_cell(doc.buyer.get("tax_id", "")), doc.buyer.get("country", ""),
        f"{doc.period:%Y-%m}", _iso(doc.issued_on), _iso(doc.due_on), doc.currency,
        "", "", "", "", *blank, str(doc.total), _iso(p.received_on), str(p.amount),
        text_cell(p.reference), p.method, _iso(p.reverses.received_on) if p.reverses_id else "",
    ]  # fmt: skip


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


KINDS = {
    Layout.DETAIL: [Invoice.Kind.INVOICE, Invoice.Kind.CREDIT_NOTE],
    Layout.XERO: [Invoice.Kind.INVOICE, Invoice.Kind.CREDIT_NOTE],
    Layout.QUICKBOOKS_INVOICES: [Invoice.Kind.INVOICE],
    Layout.QUICKBOOKS_CREDIT_NOTES: [Invoice.Kind.CREDIT_NOTE],
    Layout.PAYMENTS: [],
}
LAYOUTS = {
    Layout.DETAIL: (DETAIL_COLUMNS, _detail_document),
    Layout.XERO: (XERO_COLUMNS, _xero),
    Layout.QUICKBOOKS_INVOICES: (QBO_INVOICE_COLUMNS, _qbo_invoice),
    Layout.QUICKBOOKS_CREDIT_NOTES: (QBO_CREDIT_COLUMNS, _qbo_credit),
    Layout.PAYMENTS: (PAYMENT_COLUMNS, None),
}


def build_export(
    layout: str, start: date, end: date, *, skip_documents=(), skip_payments=()
) -> ExportFile:
    """The export of `layout` for documents issued and payments received from `start` to
    `end` (both included), leaving out the documents and payments in `skip_*` (those exported
    before, when finance asks)."""
    header, document_rows = LAYOUTS[layout]
    out = ExportFile(layout, start, end, header)
    settings = FinanceSettings.get_solo()
    kinds = KINDS[layout]
    if kinds:
        statuses = [*ISSUED, Invoice.Status.VOID] if layout == Layout.DETAIL else ISSUED
        for doc in _documents(start, end, kinds, statuses, set(skip_documents)):
            out.documents.append(doc.pk)
            out.rows.extend(
                document_rows(doc) if layout == Layout.DETAIL else document_rows(doc, settings)
            )
        if layout != Layout.DETAIL:
            out.left_out_void = _void_numbers(start, end, kinds)
    if layout in (Layout.DETAIL, Layout.PAYMENTS):
        for payment in _payments(start, end, set(skip_payments)):
            out.payments.append(payment.pk)
            row = _detail_payment(payment) if layout == Layout.DETAIL else _payment_row(payment)
            out.rows.append(row)
    return out


@dataclass(frozen=True)
class Overlap:
    """Documents and payments of a range that earlier exports of a layout already held."""

    documents: dict[int, AccountingExport]  # document pk: the latest export that held it
    payments: dict[int, AccountingExport]
    numbers: list[str]  # of the documents, for the page

    def __bool__(self) -> bool:
        return bool(self.documents or self.payments)


def exported_before(layout: str, start: date, end: date) -> Overlap:
    """What earlier exports of `layout` held of the documents issued and payments received
    in the range, each with the latest export that held it. Four queries."""
    earlier = {
        e.pk: e for e in AccountingExport.objects.filter(layout=layout).select_related("created_by")
    }
    if not earlier:
        return Overlap({}, {}, [])
    docs = AccountingExport.documents.through.objects.filter(
        accountingexport_id__in=list(earlier), invoice__issued_on__range=(start, end)
    ).values_list("invoice_id", "accountingexport_id", "invoice__number")
    pays = AccountingExport.payments.through.objects.filter(
        accountingexport_id__in=list(earlier), payment__received_on__range=(start, end)
    ).values_list("payment_id", "accountingexport_id")
    documents: dict[int, AccountingExport] = {}
    numbers = {}
    for doc_pk, export_pk, number in docs:
        export = earlier[export_pk]
        if doc_pk not in documents or export.created_at > documents[doc_pk].created_at:
            documents[doc_pk] = export
        numbers[doc_pk] = number
    payments: dict[int, AccountingExport] = {}
    for pay_pk, export_pk in pays:
        export = earlier[export_pk]
        if pay_pk not in payments or export.created_at > payments[pay_pk].created_at:
            payments[pay_pk] = export
    return Overlap(documents, payments, sorted(numbers.values()))
