"""Late usage of a month billed by line item (rate card, cost plus): the month priced again
as it now stands, with the plan it was billed by (the invoice's snapshot) and its exchange
rate, and the difference from what was billed for it on the customer's next draft.

Rules:
- Only issued (not void) invoices of a line-item mode whose month has usage or cost stored or
  changed after the invoice was approved are priced again: a voided month's usage is billed
  by its new invoice, never as an adjustment.
- What was billed for the month is the invoice's computed lines (usage, included, tiers,
  minimum, fee; not its manual lines, nor the adjustments it carried for older months) plus
  every issued adjustment that re-priced it since. A credit note is finance's own decision
  and is never clawed back.
- The difference is one line naming the month, the days that changed and the invoice; billed
  in the invoice's currency: a draft in another currency takes none, and says why.
- Billed once: once the adjustment is issued, pricing the month again finds no difference.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import DateField, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth

from usage.models import DailyCost, DailyUsage

from .. import pricing
from ..line_pricing import price_line_items
from ..models import Invoice, InvoiceLine, PricePlan
from ..pricing_snapshot import from_snapshot
from .fx import Rate
from .line_inputs import line_inputs_of

__all__ = ["Repriced", "pending_repricing"]

ZERO = Decimal(0)
BILLED_KINDS = [
    InvoiceLine.Kind.USAGE,
    InvoiceLine.Kind.TIER,
    InvoiceLine.Kind.FREE_HOURS,
    InvoiceLine.Kind.MINIMUM,
    InvoiceLine.Kind.PLATFORM_FEE,
]


@dataclass
class Repriced:
    """A customer's re-priced months: adjustment lines, and `blockers` for the ones the draft
    cannot take (another currency)."""

    lines: list[pricing.Line] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)


def pending_repricing(customer_pks, *, before: date, currencies: dict) -> dict[int, Repriced]:
    """By customer: the re-priced months before `before` with a difference (`currencies`:
    each customer's draft currency). One query when none of them was billed by line item,
    four when nothing changed since; then a few for each month that did."""
    billed = (
        Invoice.objects.issued_invoices()
        .filter(customer_id__in=customer_pks, period__lt=before)
        .exclude(pricing_mode=PricePlan.Mode.HOURLY)
    )
    if not billed.exists():
        return {}
    changed = _changed_days(customer_pks, before)
    if not changed:
        return {}
    found: dict[int, Repriced] = defaultdict(Repriced)
    months = billed.filter(period__in={month for _, month in changed}).order_by("period")
    for invoice in months:
        days = changed.get((invoice.customer_id, invoice.period))
        if not days:
            continue
        difference = _repriced_total(invoice) - _billed_for(invoice)
        if not difference:
            continue
        what = f"Re-priced {invoice.period:%B %Y} (days {', '.join(str(d.day) for d in days)})"
        if currencies.get(invoice.customer_id) != invoice.currency:
            found[invoice.customer_id].blockers.append(
                f"{what} differs by {difference} {invoice.currency} from {invoice.number}, but "
                "this draft is in another currency: bill it on a draft of its own by hand."
            )
            continue
        found[invoice.customer_id].lines.append(
            pricing.Line(
                kind="adjustment",
                description=f"{what}: usage changed after {invoice.number}",
                quantity=Decimal(1),
                unit_price=difference,
                amount=difference,
                corrects=invoice.pk,
                unit="each",
            )
        )
    return dict(found)


def _changed_days(customer_pks, before: date) -> dict[tuple[int, date], list[date]]:
    """{(customer pk, month): days} of usage or cost stored or changed after the month's
    line-item invoice was approved: one query a table, for every customer at once."""
    late = Invoice.objects.issued_invoices().filter(
        ~Q(pricing_mode=PricePlan.Mode.HOURLY),
        customer_id=OuterRef("api_key__customer_id"),
        period=OuterRef("month"),
        approved_at__lt=OuterRef("changed_at"),  # a row first seen later changed later too
    )
    days: dict[tuple[int, date], set[date]] = defaultdict(set)
    for model in (DailyUsage, DailyCost):
        rows = (
            model.objects.filter(api_key__customer_id__in=customer_pks, day__lt=before)
            .annotate(month=TruncMonth("day", output_field=DateField()))
            .filter(Exists(late))
            .values_list("api_key__customer_id", "month", "day")
            .distinct()
        )
        for customer_pk, month, day in rows:
            days[(customer_pk, month)].add(day)
    return {where: sorted(found) for where, found in days.items()}


def _repriced_total(invoice: Invoice) -> Decimal:
    mode, pure, card, rule, allowances = from_snapshot(invoice.pricing_snapshot)
    stand_in = PricePlan(
        mode=mode, currency=invoice.currency, billed_quantity=invoice.billed_quantity
    )
    inputs = line_inputs_of({invoice.customer_id: stand_in}, invoice.period)
    rate = Rate(invoice.currency, invoice.fx_rate or Decimal(1), invoice.fx_rate_day)
    lines, *_ = price_line_items(
        mode,
        pure,
        card,
        rule,
        allowances,
        inputs.usage.get(invoice.customer_id, []),
        inputs.costs.get(invoice.customer_id, []),
        rate,
        f"{invoice.period:%B %Y}",
    )
    return sum((line.amount for line in lines), ZERO)


def _billed_for(invoice: Invoice) -> Decimal:
    own = invoice.lines.filter(kind__in=BILLED_KINDS).aggregate(s=Sum("amount"))["s"] or ZERO
    since = (
        InvoiceLine.objects.filter(corrects=invoice)
        .exclude(invoice__status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])
        .aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return own + since
