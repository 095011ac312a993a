"""Late usage: a change to a day an issued invoice already billed is billed once, on the
customer's next draft, as an adjustment line; the issued invoice never changes.

Rules:
- At approval an invoice records what it billed (`BilledUsage`, written by `billed_usage`),
  per key, day and method: its month's usage at its unit price (under tiers, the top tier the
  month reached), and the differences its own adjustment lines billed. Stored usage is
  compared summed per key, day and billed method (`usage_rows`), as the invoice recorded it.
- A later draft bills the difference between stored usage and what live (not void) invoices
  recorded, for days before its month, at the unit price of the invoice that first billed the
  day; one line per original invoice, key and method.
- Usage stored after its month was invoiced, for a key, day and method that invoice did not
  bill at all (Deepgram settled the month's last day late), is billed the same way: at what
  the invoice billed that key and method at, else that method at, else the month's plan rate.
- A month never invoiced waits for its own invoice: nothing of it is an adjustment.
- A month billed by line item (rate card, cost plus) is none of this: it is priced again as a
  whole (`repricing`).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import DateField, Exists, F, OuterRef
from django.db.models.functions import TruncMonth

from usage.models import DailyUsage
from usage.units import quantize_hours

from .. import pricing
from ..models import BilledUsage, Invoice, InvoiceLine, PricePlan
from ..money import quantize_money
from .plans import plan_for, pricing_plan_of
from .usage_rows import BILLED_METHOD, billed_method, summed_per_method

__all__ = ["UsageDelta", "adjustment_lines", "pending_deltas", "top_tier_rate"]


ZERO = Decimal(0)
# Whose, which key (pk and Deepgram id), which day (and then which method, see `usage_rows`):
# the head of every row read here.
_KEY_DAY = ("api_key__customer_id", "api_key_id", "api_key__key_id", "day")
_KEY_DAY_METHOD = (*_KEY_DAY, "method")


@dataclass(frozen=True)
class UsageDelta:
    """One billed key-day-method whose stored usage differs from what was billed."""

    number: str
    key_pk: int
    key_label: str
    method: str
    unit_price: Decimal
    day: date
    quantity: Decimal


def pending_deltas(customer_pks, *, before: date) -> dict[int, list[UsageDelta]]:
    """By customer: differences between stored usage and what issued invoices billed, for
    days before `before`, priced at the unit price of the invoice that first billed the day
    (a draft has billed nothing: an invoice records what it bills when it is approved); and
    usage stored after its month was invoiced for a key, day and method that month's invoice
    did not bill at all (say Deepgram settled the month's last day late). Three queries for
    any number of customers, two if none of their usage was billed yet."""
    billed = (
        BilledUsage.objects.filter(api_key__customer_id__in=customer_pks, day__lt=before)
        .exclude(invoice__status=Invoice.Status.VOID)
        .order_by("invoice__approved_at", "pk")
        .values_list(
            *_KEY_DAY_METHOD,
            "quantity",
            "unit_price",
            "invoice__number",
            "invoice__billed_quantity",
        )
    )
    totals: dict[tuple, list] = {}
    for customer_pk, key_pk, label, day, method, quantity, price, number, field_ in billed:
        entry = totals.setdefault(
            (key_pk, day, method), [ZERO, (customer_pk, label, price, number, field_)]
        )
        entry[0] += quantity
    deltas = defaultdict(list)
    for customer_pk, delta in _never_billed(customer_pks, before=before):
        deltas[customer_pk].append(delta)
    if not totals:
        return deltas
    current = {
        (key_pk, day, method): {"hours": hours, "total_hours": total_hours}
        for key_pk, day, method, hours, total_hours in summed_per_method(
            DailyUsage.objects.filter(
                api_key__customer_id__in=customer_pks, day__in={day for _, day, _ in totals}
            ),
            "api_key_id",
            "day",
        ).values_list("api_key_id", "day", BILLED_METHOD, "sum_hours", "sum_total_hours")
    }
    for (key_pk, day, method), (quantity, details) in totals.items():
        customer_pk, label, price, number, quantity_field = details
        row = current.get((key_pk, day, method))
        now = row[quantity_field] if row else ZERO
        if now != quantity:
            deltas[customer_pk].append(
                UsageDelta(number, key_pk, label, method, price, day, now - quantity)
            )
    return deltas


def _never_billed(customer_pks, *, before: date) -> list[tuple[int, UsageDelta]]:
    """Usage of an invoiced month (before `before`) for a key, day and method its invoice did
    not bill, as (customer pk, delta): priced at what the invoice billed that key and method
    at, else that method at, else the month's plan rate. One query, more only when some is
    found (rarely: late rows are what the settlement window is for)."""
    invoiced = Invoice.objects.issued_invoices().filter(
        customer_id=OuterRef("api_key__customer_id"),
        period=OuterRef("month"),
        pricing_mode=PricePlan.Mode.HOURLY,  # the others are priced again (`repricing`)
    )
    billed = BilledUsage.objects.filter(
        api_key_id=OuterRef("api_key_id"), day=OuterRef("day"), method=OuterRef(BILLED_METHOD)
    ).exclude(invoice__status=Invoice.Status.VOID)
    rows = list(
        summed_per_method(
            DailyUsage.objects.filter(api_key__customer_id__in=customer_pks, day__lt=before)
            .annotate(month=TruncMonth("day", output_field=DateField()))
            .filter(Exists(invoiced))
            .annotate(**{BILLED_METHOD: billed_method()})
            .exclude(Exists(billed)),
            *_KEY_DAY,
        )
        .exclude(sum_hours=0, sum_total_hours=0)
        .order_by("day", "api_key_id", BILLED_METHOD)
        .values_list(*_KEY_DAY, BILLED_METHOD, "sum_hours", "sum_total_hours")
    )
    if not rows:
        return []
    invoices = {
        (invoice.customer_id, invoice.period): invoice
        for invoice in Invoice.objects.issued_invoices()
        .filter(
            customer_id__in={row[0] for row in rows},
            period__in={row[3].replace(day=1) for row in rows},
        )
        .select_related("customer")
    }
    # What each invoice billed for its own month (not the older months it adjusted).
    prices: dict[tuple, Decimal] = {}
    for invoice_pk, key_pk, method, price in BilledUsage.objects.filter(
        invoice__in=invoices.values(), day__gte=F("invoice__period")
    ).values_list("invoice_id", "api_key_id", "method", "unit_price"):
        prices.setdefault((invoice_pk, key_pk, method), price)
        prices.setdefault((invoice_pk, method), price)
    found = []
    for customer_pk, key_pk, label, day, method, hours, total_hours in rows:
        invoice = invoices[(customer_pk, day.replace(day=1))]
        quantity = hours if invoice.billed_quantity == "hours" else total_hours
        if not quantity:
            continue
        price = prices.get((invoice.pk, key_pk, method), prices.get((invoice.pk, method)))
        if price is None:  # once per invoice and method: the next rows find it here
            price = prices[(invoice.pk, method)] = _plan_rate(invoice, method)
        found.append(
            (customer_pk, UsageDelta(invoice.number, key_pk, label, method, price, day, quantity))
        )
    return found


def _plan_rate(invoice: Invoice, method: str) -> Decimal:
    """What the month's plan charged an hour of `method`; under tiers, the highest tier the
    month reached (as for its usage lines)."""
    top = top_tier_rate(invoice)
    if top is not None:
        return top
    plan = plan_for(invoice.customer, invoice.period)
    return pricing_plan_of(plan).rate_for(method) if plan else ZERO


def adjustment_lines(deltas: list[UsageDelta], currency: str) -> list[pricing.Line]:
    """One line per original invoice, key and method: the difference at the billed price."""
    grouped: dict[tuple, list[UsageDelta]] = defaultdict(list)
    for d in deltas:
        grouped[
            (d.day.replace(day=1), d.number, d.key_label, d.method, d.key_pk, d.unit_price)
        ].append(d)
    lines = []
    for (month, number, label, method, key_pk, price), group in sorted(grouped.items()):
        quantity = quantize_hours(sum((d.quantity for d in group), ZERO))
        days = ", ".join(str(d.day.day) for d in sorted(group, key=lambda d: d.day))
        lines.append(
            pricing.Line(
                kind="adjustment",
                key_pk=key_pk,
                method=method,
                quantity=quantity,
                unit_price=price,
                amount=quantize_money(quantity * price, currency),
                description=f"Adjustment for {month:%B %Y} (days {days}), key {label}: usage "
                f"changed after {number}",
            )
        )
    return lines


def top_tier_rate(invoice: Invoice) -> Decimal | None:
    """The rate of the highest tier an invoice's month reached, if it was priced in tiers."""
    top = invoice.lines.filter(kind=InvoiceLine.Kind.TIER).order_by("-position").first()
    return top.unit_price if top else None
