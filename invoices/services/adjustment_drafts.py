"""Late adjustments in another currency than the customer's draft: a draft of their own.

An adjustment is billed in the currency of the invoice it corrects. When a customer's plan
changed currency after a month was invoiced (USD until September, EUR from October), a late
change to that month cannot go on the EUR draft: `repricing` keeps it apart by currency, and
this module gives it a draft of its own for the same month (`Invoice.adjusts_only`).

Rules:
- One such draft per customer, month and currency (a database constraint), beside the
  month's invoice: only adjustment lines and the manual lines finance adds, taxed at the
  customer's terms; no fee, minimum or usage of its own. It is approved like any draft, and
  one below zero is issued as a credit note (`late_credits`).
- Written with the month's drafts, in the same transaction and with the same idempotence: a
  draft whose lines and terms did not change is left as it is, one that changed has its
  computed lines replaced (its manual lines stay), one left with nothing to bill and no
  manual line is deleted. Once issued, later changes wait for the next month's generation.
"""

from datetime import date, datetime
from decimal import Decimal

from .. import pricing
from ..models import BillingTerms, Invoice, InvoiceEvent, InvoiceLine
from .drafts_bulk import insert_lines
from .fingerprint import adjustments_fingerprint, tax_terms
from .repricing import Repriced

__all__ = ["write_adjustment_drafts"]

ZERO = Decimal(0)


def write_adjustment_drafts(
    repriced: dict[int, Repriced],
    keeping: set[int],
    *,
    period: date,
    terms: dict[int, BillingTerms],
    actor,
    now: datetime,
) -> tuple[list[int], list[Invoice]]:
    """Create, refresh or delete the adjustments-only drafts of `period` for the customers
    with adjustments in another currency (`repriced`) or such a document already (`keeping`,
    customer pks). Returns the new drafts' ids and the refreshed drafts. No query when no
    customer has either."""
    wanted = {pk: found.elsewhere for pk, found in repriced.items() if found.elsewhere}
    customer_pks = set(wanted) | keeping
    if not customer_pks:
        return [], []
    existing = {
        (inv.customer_id, inv.currency): inv
        for inv in Invoice.objects.select_for_update()
        .filter(kind=Invoice.Kind.INVOICE, adjusts_only=True, period=period)
        .filter(customer_id__in=customer_pks)
        .exclude(status=Invoice.Status.VOID)
    }
    created, refreshed = [], []
    for customer_pk in sorted(customer_pks):
        by_currency = wanted.get(customer_pk, {})
        currencies = set(by_currency) | {cur for pk, cur in existing if pk == customer_pk}
        for currency in sorted(currencies):
            invoice = existing.get((customer_pk, currency))
            if invoice is not None and not invoice.is_draft:
                continue  # issued: what changed since waits for the next month's
            action, written = _write(
                invoice,
                by_currency.get(currency, []),
                customer_pk=customer_pk,
                currency=currency,
                period=period,
                terms=terms.get(customer_pk),
                actor=actor,
                now=now,
            )
            if action == InvoiceEvent.Action.GENERATED:
                created.append(written.pk)
            elif action == InvoiceEvent.Action.REFRESHED:
                refreshed.append(written)
    return created, refreshed


def _write(invoice, lines: list[pricing.Line], *, customer_pk, currency, period, terms, actor, now):
    """One draft's write: (GENERATED or REFRESHED, the draft), or (None, None): unchanged or
    deleted."""
    manual = list(invoice.lines.filter(kind=InvoiceLine.Kind.MANUAL)) if invoice else []
    if not lines and not manual:
        if invoice is not None:
            invoice.delete()  # nothing left to bill in this currency
        return None, None
    fingerprint = adjustments_fingerprint(lines, terms, manual)
    if invoice is not None and invoice.usage_fingerprint == fingerprint:
        return None, None
    tax_rate, tax_note = tax_terms(terms)
    subtotal = sum((line.amount for line in lines), ZERO) + sum((m.amount for m in manual), ZERO)
    tax = pricing.tax_of(subtotal, tax_rate, currency)
    fields = {
        "subtotal": subtotal,
        "tax_rate": tax_rate,
        "tax": tax,
        "total": subtotal + tax,
        "tax_note": tax_note,
        "pricing_notes": [
            f"Late changes to months invoiced in {currency}, billed in {currency}: the "
            f"customer's draft for {period:%B %Y} is in another currency."
        ],
        "usage_fingerprint": fingerprint,
        "computed_at": now,
    }
    action = InvoiceEvent.Action.REFRESHED
    if invoice is None:
        action = InvoiceEvent.Action.GENERATED
        invoice = Invoice.objects.create(
            customer_id=customer_pk, period=period, currency=currency, adjusts_only=True, **fields
        )
    else:
        for name, value in fields.items():
            setattr(invoice, name, value)
        invoice.save(update_fields=list(fields))
        invoice.lines.exclude(kind=InvoiceLine.Kind.MANUAL).delete()
    insert_lines([(invoice.pk, lines)])
    InvoiceEvent.record(
        action, invoice=invoice, actor=actor, detail=f"Total {invoice.total} {currency}."
    )
    return action, invoice
