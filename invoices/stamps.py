"""The customer's copy of an issued document: the stored PDF with a stamp of its state now.

The stored PDF is the legal record: it stays byte for byte what was issued (its SHA-256 is
checked before every use) and finance can always download it as the original. What a
customer gets (the portal's download, an e-mail sent again) is that PDF with a stamp laid
over its first page when its state says more than "amount due": VOID with the day and the
reason; PAID with the day; CREDITED, or PARTLY PAID, with what was credited and paid and
what is left. An invoice issued and untouched needs no stamp: its copy is the original.

The stamp is a one-page overlay rendered by WeasyPrint (our fonts, no fetching) and merged
onto page 1 with pypdf; the other pages are copied as they are.
"""

import io
from dataclasses import dataclass

from django.template.loader import render_to_string
from pypdf import PdfReader, PdfWriter

from .balances import balances_of
from .models import Invoice
from .pdf import html_to_pdf
from .templatetags.invoice_format import money

__all__ = ["Stamp", "stamp_of", "stamped_copy"]

TEMPLATE = "invoices/pdf/stamp.html"


@dataclass(frozen=True)
class Stamp:
    word: str  # VOID, PAID, CREDITED, PARTLY PAID
    lines: tuple[str, ...]  # what it says under the word
    tone: str  # "void", "paid", "open": its colour


def stamp_of(invoice: Invoice) -> Stamp | None:
    """What the customer's copy of `invoice` is stamped with now, or None (no stamp)."""
    if invoice.status == Invoice.Status.VOID:
        when = f"{invoice.voided_at:%-d %B %Y}" if invoice.voided_at else "since"
        reason = f"Reason: {invoice.void_reason}" if invoice.void_reason else ""
        return Stamp(
            "VOID", tuple(x for x in (f"Voided on {when}. Nothing is due.", reason) if x), "void"
        )
    if invoice.kind != Invoice.Kind.INVOICE or invoice.is_draft:
        return None
    balance = balances_of([invoice])[invoice.pk]
    cur = invoice.currency
    settled = [
        f"{what} {money(amount, cur)} {cur}"
        for what, amount in (("credited", balance.credited), ("paid", balance.paid))
        if amount
    ]
    said = "; ".join(settled) + "." if settled else ""
    said = said[:1].upper() + said[1:]
    state = balance.state()
    if state == "paid":
        day = f" on {invoice.paid_on:%-d %B %Y}" if invoice.paid_on else ""
        return Stamp("PAID", (f"Paid in full{day}.", *([said] if balance.credited else [])), "paid")
    if state == "credited":
        return Stamp("CREDITED", (said, "Nothing is left to pay."), "paid")
    if not settled:
        return None  # issued, nothing credited or paid: the original says it all
    left = f"{money(balance.outstanding, cur)} {cur} left to pay"
    return Stamp("PARTLY PAID", (said, f"{left}."), "open")


def stamped_copy(invoice: Invoice, original: bytes) -> bytes:
    """The customer's copy: `original` (the stored, checked bytes) with the stamp of the
    invoice's state laid over page 1; the original itself when there is no stamp."""
    stamp = stamp_of(invoice)
    if stamp is None:
        return original
    overlay = PdfReader(io.BytesIO(html_to_pdf(render_to_string(TEMPLATE, {"stamp": stamp}))))
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(original)))
    writer.pages[0].merge_page(overlay.pages[0])
    writer.add_metadata({"/Subject": f"{invoice.number}: customer copy, {stamp.word.lower()}"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
