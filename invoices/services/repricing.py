"""Late usage, in every pricing mode: a change to a month an issued invoice billed is billed
once, on the customer's next draft, by pricing the month again as it now stands and billing
the difference from what was billed for it. The issued invoice never changes.

Rules:
- A month is priced again when usage (or, under cost plus, Deepgram's cost) of its live
  (issued, not void) invoice was stored or changed after that invoice was approved: with the
  plan it was billed by (the invoice's snapshot; an invoice issued before plans were kept
  with it, by the plan assigned for the month), its billed quantity and its exchange rate.
- What was billed for a month (`billed`) is its live invoice's computed lines (usage,
  included, tiers, minimum, fee; not its manual lines, nor the adjustments it carried for
  older months) plus every adjustment on a live issued document that corrects an invoice of
  that month, void or not. A credit note is finance's own decision and is never clawed back.
- The difference is billed per key and line item where the rule prices per key and line item
  (a rate card's entry, cost plus's Deepgram line item), per key and method under an hourly
  plan, and as one line for the customer-wide parts (included allowances, tiers and
  ladders across keys, the minimum, the fee); each line names the month, the days that
  changed and the invoice, and says why. Nothing is billed where nothing differs.
- A voided month is never priced again: its next invoice bills it whole, less what
  adjustments on live invoices already billed of it ("re-billed after void").
- Billed in the currency of the invoice corrected: what a draft in another currency cannot
  take is kept apart by currency (`elsewhere`), for a draft of its own (`adjustment_drafts`).
- Billed once: once an adjustment is issued, pricing the month again finds no difference.
"""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import DateField, Exists, F, OuterRef, Q
from django.db.models.functions import TruncMonth

from customers.models import ApiKey
from usage.models import DailyCost, DailyUsage, MonthlyChange
from usage.units import quantize_hours

from .. import pricing
from ..line_pricing import price_line_items
from ..models import Invoice, InvoiceLine, PricePlan
from ..pricing_snapshot import from_snapshot
from .fx import Rate
from .line_inputs import line_inputs_of, line_item_labels
from .month_usage import usage_of
from .plans import allowances_of, card_of, cost_rule_of, plan_for, pricing_plan_of

__all__ = ["BILLED_KINDS", "Repriced", "billed_lines", "pending_repricing"]

ZERO, ONE = Decimal(0), Decimal(1)
BILLED_KINDS = [
    InvoiceLine.Kind.USAGE,
    InvoiceLine.Kind.TIER,
    InvoiceLine.Kind.FREE_HOURS,
    InvoiceLine.Kind.MINIMUM,
    InvoiceLine.Kind.PLATFORM_FEE,
]
CUSTOMER_WIDE = ()  # the bucket of every line not priced per key


@dataclass
class Repriced:
    """A customer's adjustment lines for earlier months in the draft's currency, and those
    in other currencies (`elsewhere`, by currency), which the draft cannot take."""

    lines: list[pricing.Line] = field(default_factory=list)
    elsewhere: dict[str, list[pricing.Line]] = field(default_factory=dict)


@dataclass
class _Bucket:
    """What one bucket (a key, method and line item, or the customer-wide parts) holds."""

    quantity: Decimal = ZERO
    amount: Decimal = ZERO
    unit_price: Decimal | None = None
    units: set = field(default_factory=set)
    by_kind: dict = field(default_factory=lambda: defaultdict(Decimal))  # amounts, by kind


def _bucket_of(kind: str, key_pk: int | None, method: str, item: str = "") -> tuple:
    if key_pk is not None and kind in (InvoiceLine.Kind.USAGE, InvoiceLine.Kind.ADJUSTMENT):
        return key_pk, method, item
    return CUSTOMER_WIDE


def _add(buckets: dict, kind, key_pk, method, quantity, unit_price, amount, unit, item) -> None:
    bucket = buckets.setdefault(_bucket_of(kind, key_pk, method, item), _Bucket())
    bucket.quantity += quantity
    bucket.amount += amount
    bucket.units.add(unit)
    bucket.by_kind[kind] += amount
    if kind == InvoiceLine.Kind.USAGE and unit_price:
        bucket.unit_price = unit_price


def pending_repricing(customer_pks, *, period: date, currencies: dict) -> dict[int, Repriced]:
    """By customer: the adjustment lines of a draft for `period` (`currencies`: each
    customer's draft currency): earlier months priced again where they differ, and, for a
    month whose invoice was voided, what live invoices already billed of it. Two queries when
    nothing changed, one more when a month of `period` was voided; then a few for each month
    that did change."""
    found: dict[int, Repriced] = defaultdict(Repriced)
    changed = _changed_days(customer_pks, period)
    if changed:
        months = (
            Invoice.objects.issued_invoices()
            .filter(customer_id__in={c for c, _ in changed}, period__in={m for _, m in changed})
            .select_related("customer")
            .order_by("period", "customer_id")
        )
        months = [m for m in months if (m.customer_id, m.period) in changed]
        already = billed_lines({(m.customer_id, m.period) for m in months})
        labels = {**_labels(months), **line_item_labels()}
        for invoice in months:
            days = changed[(invoice.customer_id, invoice.period)]
            difference = _differences(
                _priced_again(invoice),
                already.get((invoice.customer_id, invoice.period), {}),
                labels,
            )
            _bill(found[invoice.customer_id], difference, invoice, days, currencies)
    _rebilled_after_void(customer_pks, period, currencies, found)
    return {pk: repriced for pk, repriced in found.items() if repriced.lines or repriced.elsewhere}


def _bill(repriced: Repriced, lines: list[pricing.Line], invoice, days, currencies) -> None:
    """Put a month's difference lines on the customer's draft, or apart in the corrected
    invoice's currency when the draft is in another. `days`: the days that changed, by key
    pk."""
    reason = f"usage changed after {invoice.number}"
    for line in lines:
        what = _what(invoice, days.get(line.key_pk) or _all_days(days))
        _lines_for(repriced, invoice.currency, currencies.get(invoice.customer_id)).append(
            line._replace(description=f"{what}, {line.description}: {reason}", corrects=invoice.pk)
        )


def _lines_for(repriced: Repriced, currency: str, draft_currency: str | None) -> list:
    """Where lines in `currency` go for a draft in `draft_currency`."""
    if currency == draft_currency:
        return repriced.lines
    return repriced.elsewhere.setdefault(currency, [])


def _what(invoice: Invoice, days) -> str:
    return f"Re-priced {invoice.period:%B %Y} (days {', '.join(str(d.day) for d in days)})"


def _all_days(days: dict) -> list[date]:
    return sorted(set().union(*days.values()))


def _changed_days(customer_pks, period: date) -> dict[tuple[int, date], dict[int, list[date]]]:
    """{(customer pk, month): {key pk: days}} before `period` of usage (and of cost, for
    months billed at cost plus) stored or changed after the month's live invoice was
    approved. The keys and months are found in `usage.MonthlyChange` (one query, for every
    customer at once, however long the history); their days then read from those keys' rows
    of those months only (one query a table, none when nothing changed)."""
    late = {
        column: Invoice.objects.issued_invoices().filter(
            Q(pricing_mode__in=modes) if modes else Q(),
            customer_id=OuterRef("api_key__customer_id"),
            period=OuterRef("month"),
            approved_at__lt=OuterRef(column),  # a row first seen later changed later too
        )
        for column, modes in (
            ("usage_changed_at", None),
            ("cost_changed_at", [PricePlan.Mode.COST_PLUS]),
        )
    }
    changed = list(
        MonthlyChange.objects.filter(api_key__customer_id__in=customer_pks, month__lt=period)
        .filter(Exists(late["usage_changed_at"]) | Exists(late["cost_changed_at"]))
        .values_list("api_key_id", "month")
    )
    if not changed:
        return {}
    keys, months = {key for key, _ in changed}, {month for _, month in changed}
    days: dict[tuple[int, date], dict[int, set[date]]] = defaultdict(lambda: defaultdict(set))
    for model, column in ((DailyUsage, "usage_changed_at"), (DailyCost, "cost_changed_at")):
        rows = (
            model.objects.filter(
                api_key_id__ids_in=list(keys),
                day__gte=min(months),
                day__lt=min(period, max(months) + timedelta(days=31)),
            )
            .annotate(
                month=TruncMonth("day", output_field=DateField()), **{column: F("changed_at")}
            )
            .filter(Exists(late[column]))
            .values_list("api_key__customer_id", "month", "api_key_id", "day")
            .order_by()  # no ordering columns in the DISTINCT
            .distinct()
        )
        for customer_pk, month, key_pk, day in rows:
            days[(customer_pk, month)][key_pk].add(day)
    return {
        where: {key_pk: sorted(found) for key_pk, found in keys_days.items()}
        for where, keys_days in days.items()
    }


def billed_lines(months: set[tuple[int, date]]) -> dict[tuple[int, date], dict[tuple, _Bucket]]:
    """What live issued documents billed for each (customer pk, month), by bucket: the month's
    own invoice's computed lines and every adjustment that corrects an invoice of the month.
    One query."""
    if not months:
        return {}
    customers, periods = {c for c, _ in months}, {m for _, m in months}
    rows = (
        InvoiceLine.objects.filter(invoice__in=_issued_documents())
        .filter(invoice__customer_id__in=customers)
        .filter(
            Q(invoice__period__in=periods, kind__in=BILLED_KINDS)
            | Q(corrects__period__in=periods, kind=InvoiceLine.Kind.ADJUSTMENT)
        )
        .values_list(
            "invoice__customer_id",
            "invoice__period",
            "corrects__period",
            "kind",
            "api_key_id",
            "method",
            "quantity",
            "unit_price",
            "amount",
            "unit",
            "item",
        )
    )
    found: dict[tuple[int, date], dict[tuple, _Bucket]] = defaultdict(dict)
    for customer_pk, own, corrected, kind, key_pk, method, *priced in rows:
        month = (customer_pk, corrected if kind == InvoiceLine.Kind.ADJUSTMENT else own)
        if month in months:
            _add(found[month], kind, key_pk, method, *priced)
    return found


def _issued_documents():
    """Issued invoices and credit notes, not void: late credits may be on a credit note
    (`late_credits`); finance's own credit notes carry credit lines, never counted here."""
    return Invoice.objects.exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])


def _priced_again(invoice: Invoice) -> dict[tuple, _Bucket]:
    """The month of `invoice` priced as it now stands, with the plan, billed quantity and
    exchange rate it was billed by, by bucket."""
    if invoice.pricing_snapshot:
        mode, pure, card, rule, allowances = from_snapshot(invoice.pricing_snapshot)
    else:  # issued before plans were kept with their invoices: the month's plan
        plan = plan_for(invoice.customer, invoice.period)
        if plan is None:
            return {}
        mode, pure, card = plan.mode, pricing_plan_of(plan), card_of(plan)
        rule, allowances = cost_rule_of(plan), allowances_of(plan)
    pure = replace(pure, currency=invoice.currency)
    # What decides which inputs are read (the minutes a minimum per minute needs, the usage
    # an allowance is credited against) is the billed plan's, never the plan's of today.
    stand_in = PricePlan(
        mode=mode,
        currency=invoice.currency,
        billed_quantity=invoice.billed_quantity,
        minimum_per_minute=rule.minimum_per_unit if rule else None,
        included_hours=allowances.get("audio", ZERO),
        included_characters=allowances.get("characters", ZERO),
        included_agent_hours=allowances.get("agent", ZERO),
        included_tokens=allowances.get("tokens", ZERO),
    )
    label, customer_pk = f"{invoice.period:%B %Y}", invoice.customer_id
    if mode == PricePlan.Mode.HOURLY:
        usage = usage_of({customer_pk: stand_in}, invoice.period).get(customer_pk, [])
        lines, _ = pricing.price_usage(pure, usage, label)
    else:
        inputs = line_inputs_of({customer_pk: stand_in}, invoice.period)
        rate = Rate(invoice.currency, invoice.fx_rate or ONE, invoice.fx_rate_day)
        lines, *_ = price_line_items(
            mode,
            pure,
            card,
            rule,
            allowances,
            inputs.usage.get(customer_pk, []),
            inputs.costs.get(customer_pk, []),
            rate,
            label,
        )
    buckets: dict[tuple, _Bucket] = {}
    for line in lines:
        _add(buckets, line.kind, line.key_pk, line.method, *line[2:5], line.unit, line.item)
    return buckets


def _differences(now: dict, billed: dict, labels: dict) -> list[pricing.Line]:
    """One line a bucket whose amount differs: a key and method (or line item) in its unit
    where it has one (hours), else once; the customer-wide parts once. Description without
    month or reason. `labels`: keys' ids by pk, line items' labels by code."""
    lines = []
    now = _as_billed(now, billed)
    for bucket in sorted(set(now) | set(billed), key=lambda b: (b == CUSTOMER_WIDE, b)):
        new, old = now.get(bucket, _Bucket()), billed.get(bucket, _Bucket())
        amount = new.amount - old.amount
        if not amount:
            continue
        if bucket == CUSTOMER_WIDE:
            lines.append(_once(_parts_changed(new, old), amount))
            continue
        key_pk, method, item = bucket
        name = labels.get(item, item) if item else METHOD_NAMES.get(method, method)
        what = f"key {labels.get(key_pk, key_pk)}" + (f", {name}" if name else "")
        quantity = new.quantity - old.quantity
        price = new.unit_price if new.unit_price is not None else old.unit_price
        if (new.units | old.units) != {""} or not quantity or price is None:
            lines.append(_once(what, amount, key_pk, method)._replace(item=item))
            continue
        now_h, billed_h = quantize_hours(new.quantity), quantize_hours(old.quantity)
        lines.append(
            pricing.Line(
                "adjustment",
                f"{what} ({now_h} h now, {billed_h} h billed)",
                quantity,
                price,
                amount,
                key_pk,
                method,
            )
        )
    return lines


METHOD_NAMES = pricing.METHOD_NAMES
PART_NAMES = {
    InvoiceLine.Kind.FREE_HOURS: "included usage",
    InvoiceLine.Kind.TIER: "tiers",
    InvoiceLine.Kind.MINIMUM: "monthly minimum",
    InvoiceLine.Kind.PLATFORM_FEE: "platform fee",
}


def _parts_changed(new: _Bucket, old: _Bucket) -> str:
    """The customer-wide parts whose amount differs from what the month's invoice billed of
    them (earlier adjustments of the month name no part: then every part is named)."""
    parts = [name for kind, name in PART_NAMES.items() if new.by_kind[kind] != old.by_kind[kind]]
    return ", ".join(parts or PART_NAMES.values())


def _as_billed(now: dict, billed: dict) -> dict:
    """`now`'s buckets as `billed` holds them: a key whose line items were billed without
    their line item (issued before lines kept it) is compared per key and method, its line
    items' buckets folded together, so the difference is still billed once."""
    folded = {bucket[:2] for bucket in billed if bucket != CUSTOMER_WIDE and not bucket[2]}
    if not folded:
        return now
    found: dict[tuple, _Bucket] = {}
    for bucket, held in now.items():
        if bucket != CUSTOMER_WIDE and bucket[2] and bucket[:2] in folded:
            into = found.setdefault((*bucket[:2], ""), _Bucket())
            into.quantity += held.quantity
            into.amount += held.amount
            into.units |= held.units
            for kind, amount in held.by_kind.items():
                into.by_kind[kind] += amount
        else:
            found[bucket] = held
    return found


def _once(what: str, amount: Decimal, key_pk=None, method="") -> pricing.Line:
    return pricing.Line("adjustment", what, ONE, amount, amount, key_pk, method, unit="each")


def _labels(invoices) -> dict[int, str]:
    """The Deepgram key ids of the invoices' customers, by key pk: one query."""
    return dict(
        ApiKey.objects.filter(customer_id__in={i.customer_id for i in invoices}).values_list(
            "pk", "key_id"
        )
    )


def _rebilled_after_void(customer_pks, period: date, currencies, found) -> None:
    """For customers whose invoice of `period` was voided: what adjustments on live invoices
    already billed of the month, taken off its new invoice, bucket by bucket."""
    voided = dict(
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE,
            status=Invoice.Status.VOID,
            customer_id__in=customer_pks,
            period=period,
        ).values_list("customer_id", "number")
    )
    if not voided:
        return
    corrections = (
        InvoiceLine.objects.filter(
            invoice__in=_issued_documents(),
            kind=InvoiceLine.Kind.ADJUSTMENT,
            corrects__customer_id__in=voided,
            corrects__period=period,
        )
        .select_related("invoice", "corrects")
        .order_by("invoice__approved_at", "pk")
    )
    by_customer = defaultdict(list)
    for line in corrections:
        by_customer[line.invoice.customer_id].append(line)
    for customer_pk, lines in by_customer.items():
        _rebill(found[customer_pk], lines, f"{period:%B %Y}", currencies.get(customer_pk))


def _rebill(repriced: Repriced, lines: list[InvoiceLine], month: str, currency) -> None:
    buckets: dict[tuple, list[InvoiceLine]] = defaultdict(list)
    for line in lines:
        buckets[_bucket_of(line.kind, line.api_key_id, line.method, line.item)].append(line)
    for bucket, group in buckets.items():
        amount = -sum((line.amount for line in group), ZERO)
        if not amount:
            continue
        on = ", ".join(sorted({line.invoice.number for line in group}))
        void = group[-1].corrects
        voids = ", ".join(sorted({line.corrects.number for line in group}))
        what = f"Already billed for {month} by adjustments on {on}"
        key_pk, method, item = bucket or (None, "", "")
        _lines_for(repriced, void.currency, currency).append(
            _once(f"{what}: re-billed after void of {voids}", amount, key_pk, method)._replace(
                corrects=void.pk, item=item
            )
        )
