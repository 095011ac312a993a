"""Margin for finance (never for customers): what a month's invoices earned, net of tax,
against what Deepgram charged for the same keys and days. Reads only.

Rules:
- Revenue is an invoice's lines net of tax, less finance's credit notes of it; an adjustment
  that re-priced an earlier month counts in the month it corrects, not in the document
  carrying it (an invoice, or the credit note late credits were issued as).
- Cost is Deepgram's dollars (`usage.DailyCost`) of the customer's keys over the month. A
  customer with usage but no cost stored (its project's cost not readable, or not synced) has
  an unknown cost and margin: never shown as 100 %.
- In the invoice's currency and in US dollars: at the rate the invoice used (cost plus), else
  the month's rate; a currency without one shows no USD figure (and counts in no total).
- Usage nobody is billed for (`usage.UnassignedCost`) is the month's loss line.
- Issued invoices are the month's margin; a draft's margin is shown on its own page.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, OuterRef, Q, Sum

from customers.models import ApiKey
from usage.models import DailyCost, DailyUsage, UnassignedCost
from usage.month_costs import month_costs
from usage.selectors import month_bounds

from .models import Invoice, InvoiceLine
from .money import CENT, minor_unit
from .services.fx import rates_on

ZERO = Decimal(0)


@dataclass
class MarginRow:
    invoice_pk: int
    number: str
    customer_pk: int
    customer: str
    currency: str
    revenue: Decimal  # net of tax, in the invoice's currency
    cost_usd: Decimal | None  # None: unknown
    per_usd: Decimal | None  # the rate used for USD figures; None: none known

    @property
    def revenue_usd(self) -> Decimal | None:
        return None if self.per_usd is None else _cents(self.revenue / self.per_usd)

    @property
    def cost(self) -> Decimal | None:
        if self.cost_usd is None or self.per_usd is None:
            return None
        return _in(self.cost_usd * self.per_usd, self.currency)

    @property
    def margin(self) -> Decimal | None:
        return None if self.cost is None else self.revenue - self.cost

    @property
    def margin_usd(self) -> Decimal | None:
        if self.cost_usd is None or self.revenue_usd is None:
            return None
        return self.revenue_usd - _cents(self.cost_usd)

    @property
    def margin_percent(self) -> Decimal | None:
        if self.margin is None or not self.revenue:
            return None
        return _cents(self.margin * 100 / self.revenue)


@dataclass
class MonthMargin:
    period: date
    rows: list[MarginRow] = field(default_factory=list)
    unassigned_usd: Decimal = ZERO

    @property
    def revenue_usd(self) -> Decimal:
        """The revenue of the invoices whose margin is known (those with an unknown cost or no
        rate are left out of every total, so the totals add up: revenue less cost, less the
        unassigned usage, is the margin)."""
        return sum((r.revenue_usd for r in self.rows if r.margin_usd is not None), ZERO)

    @property
    def cost_usd(self) -> Decimal:
        known = (r.cost_usd for r in self.rows if r.margin_usd is not None)
        return _cents(sum(known, ZERO))

    @property
    def margin_usd(self) -> Decimal:
        """Known margins, less the unassigned usage's cost."""
        known = sum((r.margin_usd for r in self.rows if r.margin_usd is not None), ZERO)
        return known - _cents(self.unassigned_usd)

    @property
    def unknown(self) -> int:
        return sum(1 for r in self.rows if r.margin_usd is None)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _in(amount: Decimal, currency: str) -> Decimal:
    """An amount in the invoice's currency: to cents, or to its minor unit when that is finer
    (KWD's thousandths), so that the cost reads as precisely as the revenue."""
    return amount.quantize(min(CENT, minor_unit(currency)), rounding=ROUND_HALF_UP)


def month_margin(period: date, *, invoices=None) -> MonthMargin:
    """The month's margin per issued invoice (sorted by margin, unknown last), and its loss
    line. `invoices` narrows it (a draft's page passes its draft). Eight queries at most, two
    for a month without invoices."""
    first, last = month_bounds(period)
    whole_month = invoices is None
    if whole_month:
        invoices = Invoice.objects.issued_invoices().filter(period=first)
    found = list(
        invoices.values_list("pk", "number", "customer_id", "customer__name", "currency", "fx_rate")
    )
    unassigned = UnassignedCost.objects.filter(day__range=(first, last)).aggregate(
        s=Sum("dollars")
    )["s"]
    if not found:  # a month without invoices: its loss only
        return MonthMargin(first, [], unassigned or ZERO)
    pks = [row[0] for row in found]
    revenue = _revenue(pks)
    customers = {row[2] for row in found}
    costs = _costs(customers, first, last, whole_month=whole_month)
    # Whether a customer without cost had usage (its cost unknown) or none (nothing to cost):
    # asked only of those, usually none.
    costless = customers - set(costs)
    used = set(
        ApiKey.objects.filter(customer_id__ids_in=list(costless))
        .filter(Exists(DailyUsage.objects.filter(api_key=OuterRef("pk"), day__range=(first, last))))
        .values_list("customer_id", flat=True)
        .order_by()
        .distinct()
        if costless
        else ()
    )
    rates = rates_on({row[4] for row in found}, last)
    rows = []
    for pk, number, customer_pk, name, currency, fx_rate in found:
        cost = costs.get(customer_pk)
        if cost is None and customer_pk not in used:
            cost = ZERO  # no usage, no cost
        rate = fx_rate or (rates[currency].per_usd if currency in rates else None)
        rows.append(
            MarginRow(
                pk,
                number or "draft",
                customer_pk,
                name,
                currency,
                revenue.get(pk, ZERO),
                cost,
                rate,
            )
        )
    rows.sort(key=lambda r: (r.margin_usd is None, r.margin_usd or ZERO, r.customer))
    return MonthMargin(first, rows, unassigned or ZERO)


def _revenue(pks: list[int]) -> dict[int, Decimal]:
    """Per invoice: its lines but those that re-priced another month, plus the lines that
    re-priced its month since, plus finance's credit notes of it (negative; late credits
    issued as a credit note count as the adjustments they are)."""
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    live = ~Q(invoice__status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])
    own = (
        InvoiceLine.objects.filter(invoice_id__ids_in=pks, corrects__isnull=True)
        .values_list("invoice_id")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    later = (
        InvoiceLine.objects.filter(live, corrects_id__ids_in=pks)
        .values_list("corrects_id")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    credits = (
        InvoiceLine.objects.filter(
            invoice__credits_id__ids_in=pks,
            invoice__kind=Invoice.Kind.CREDIT_NOTE,
            kind=InvoiceLine.Kind.CREDIT,
        )
        .exclude(invoice__status=Invoice.Status.VOID)
        .values_list("invoice__credits_id")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    for query in (own, later, credits):
        for pk, amount in query:
            revenue[pk] += amount or ZERO
    return revenue


def _costs(
    customers: set[int], first: date, last: date, *, whole_month: bool
) -> dict[int, Decimal]:
    """Deepgram's dollars of each customer's keys over the month: per key (for the whole
    month, its kept sums, `usage.month_costs`; for a draft's page, its keys' rows summed
    now), then per customer here."""
    owners = dict(
        ApiKey.objects.filter(customer_id__ids_in=list(customers)).values_list("pk", "customer_id")
    )
    if not whole_month:
        sums = (
            DailyCost.objects.filter(day__range=(first, last), api_key_id__ids_in=list(owners))
            .values_list("api_key_id")
            .annotate(s=Sum("dollars"))
            .order_by()
        )
    else:
        sums = month_costs(first, last).items()
    costs: dict[int, Decimal] = defaultdict(Decimal)
    for key_pk, amount in sums:
        if key_pk in owners:
            costs[owners[key_pk]] += amount
    return dict(costs)


def margin_history(
    last_period: date, months: int = 12, known: MonthMargin | None = None
) -> list[tuple[date, Decimal]]:
    """(month, margin in USD) for the `months` months up to `last_period`: the chart (`known`:
    the last month's, already read)."""
    periods = []
    period = last_period.replace(day=1)
    for _ in range(months):
        periods.append(period)
        period = (period - date.resolution).replace(day=1)
    reports = {known.period: known} if known else {}
    return [(p, (reports.get(p) or month_margin(p)).margin_usd) for p in reversed(periods)]
