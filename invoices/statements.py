"""A customer's statement of account: its invoices, credit notes and payments over a period,
per currency, with the balance brought forward, the running balance after each entry, the
balance at the end, and today's open invoices by age. Reads only; the PDF is rendered by
WeasyPrint like the invoices (`render_statement_pdf`); `services.statements` e-mails it.

Rules:
- An issued invoice is a charge on its issue day, a credit note a credit on its issue day, a
  payment a credit on the day it was received, a reversal a charge on the day it undid it.
- Void documents are left out (a void invoice was never owed), and so are their payments,
  which must be reversed before an invoice is voided.
- The balance brought forward is everything dated before the period; the closing balance is
  what the customer owed at the end of it.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone

from .balances import balances_of
from .models import Invoice, Payment
from .pdf import html_to_pdf, logo_url
from .services.snapshots import buyer_snapshot, seller_snapshot, without_bidi_values

__all__ = ["Statement", "render_statement_pdf", "statement_of"]

ZERO = Decimal(0)
TEMPLATE = "invoices/pdf/statement.html"
AGES = [(0, "Not yet due"), (30, "1-30 days overdue"), (60, "31-60 days"), (90, "61-90 days")]
OLDEST = "Over 90 days"


@dataclass
class Entry:
    day: date
    what: str
    reference: str
    due_on: date | None
    charge: Decimal = ZERO
    credit: Decimal = ZERO
    balance: Decimal = ZERO
    number: str = ""  # an invoice's, to mark it overdue
    overdue: bool = False


@dataclass
class CurrencyStatement:
    currency: str
    opening: Decimal = ZERO
    entries: list[Entry] = field(default_factory=list)
    ages: list[tuple[str, Decimal]] = field(default_factory=list)

    @property
    def closing(self) -> Decimal:
        return self.entries[-1].balance if self.entries else self.opening

    @property
    def charges(self) -> Decimal:
        return sum((e.charge for e in self.entries), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((e.credit for e in self.entries), ZERO)


@dataclass
class Statement:
    customer: object
    start: date
    end: date
    made_on: date
    seller: dict
    buyer: dict
    currencies: list[CurrencyStatement]

    @property
    def filename(self) -> str:
        return f"statement-{self.customer.public_id.hex[:8]}-{self.end:%Y%m%d}.pdf"


def _dated_entries(customer, end: date) -> list[tuple[str, Entry]]:
    """(currency, entry) of everything up to `end`, in the order of the day, charges first."""
    documents = Invoice.objects.filter(
        customer=customer,
        status__in=[Invoice.Status.ISSUED, Invoice.Status.PAID],
        issued_on__lte=end,
    ).select_related("credits")
    found = []
    for doc in documents:
        if doc.kind == Invoice.Kind.CREDIT_NOTE:
            what = f"Credit note {doc.number}"
            reference = f"credits {doc.credits.number}" if doc.credits_id else ""
            found.append(
                (doc.currency, Entry(doc.issued_on, what, reference, None, credit=-doc.total))
            )
        else:
            entry = Entry(doc.issued_on, f"Invoice {doc.number}", f"{doc.period:%B %Y}", doc.due_on)
            entry.charge, entry.number = doc.total, doc.number
            found.append((doc.currency, entry))
    payments = Payment.objects.filter(
        invoice__customer=customer,
        invoice__status__in=[Invoice.Status.ISSUED, Invoice.Status.PAID],
        received_on__lte=end,
    ).select_related("invoice")
    for p in payments:
        ref = " ".join(x for x in (p.get_method_display().lower(), p.reference) if x)
        if p.reverses_id:
            entry = Entry(p.received_on, f"Payment reversed ({p.invoice.number})", p.note, None)
            entry.charge = -p.amount
        else:
            entry = Entry(
                p.received_on, f"Payment for {p.invoice.number}", ref, None, credit=p.amount
            )
        found.append((p.invoice.currency, entry))
    order = {"Invoice": 0, "Credit": 1, "Payment": 2}
    found.sort(key=lambda ce: (ce[1].day, order.get(ce[1].what.split()[0], 3), ce[1].what))
    return found


def _ages(customer, today: date) -> tuple[dict[str, list[tuple[str, Decimal]]], set[str]]:
    """Per currency, today's open invoices' balances by how long they are overdue; and the
    numbers of those overdue."""
    invoices = list(
        Invoice.objects.filter(
            customer=customer, kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED
        ).only("pk", "kind", "status", "total", "currency", "due_on", "number")
    )
    overdue = set()
    balances = balances_of(invoices)
    buckets: dict[str, dict[str, Decimal]] = {}
    for invoice in invoices:
        left = balances[invoice.pk].outstanding
        if left <= 0:
            continue
        late = (today - invoice.due_on).days if invoice.due_on else 0
        if late > 0:
            overdue.add(invoice.number)
        name = next((label for days, label in AGES if late <= days), OLDEST)
        per = buckets.setdefault(
            invoice.currency, {label: ZERO for _, label in AGES} | {OLDEST: ZERO}
        )
        per[name] += left
    return {cur: list(per.items()) for cur, per in buckets.items()}, overdue


def statement_of(customer, start: date, end: date, today: date | None = None) -> Statement:
    """The statement of `customer` from `start` to `end` (both included). Five queries."""
    today = today or timezone.now().date()
    per: dict[str, CurrencyStatement] = {}
    for currency, entry in _dated_entries(customer, end):
        statement = per.setdefault(currency, CurrencyStatement(currency))
        if entry.day < start:
            statement.opening += entry.charge - entry.credit
            continue
        before = statement.closing
        entry.balance = before + entry.charge - entry.credit
        statement.entries.append(entry)
    ages, overdue = _ages(customer, today)
    for currency, statement in per.items():
        statement.ages = ages.get(currency, [])
        for entry in statement.entries:
            entry.overdue = entry.number in overdue
    kept = [s for s in per.values() if s.entries or s.opening]
    return Statement(
        customer,
        start,
        end,
        today,
        without_bidi_values(seller_snapshot()),
        buyer_snapshot(customer),
        sorted(kept, key=lambda s: s.currency),
    )


def render_statement_pdf(statement: Statement) -> bytes:
    html = render_to_string(TEMPLATE, {"statement": statement, "logo_url": logo_url()})
    return html_to_pdf(html)
