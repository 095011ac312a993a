"""The invoice lifecycle: drafts from stored usage, approval (issue) with gap-free numbers,
void, credit notes, payment. Invoices bill stored usage only; they never call Deepgram.

Every state change locks the invoice row, checks its guard, saves with `update_fields` and
writes an `InvoiceEvent`. An issued invoice is never edited or deleted.
"""

import decimal
import hashlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateField, Exists, F, OuterRef, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from billing_portal.bulk import insert_objects, insert_rows, update_objects
from billing_portal.cycles import cycle_collector_paused
from customers.models import ApiKey, Customer
from usage.models import DailyUsage
from usage.selectors import month_bounds
from usage.units import quantize_hours

from . import pricing
from .exceptions import (
    FourEyesViolation,
    InvalidTransition,
    InvoiceLocked,
    InvoicesError,
    NoPlan,
    StaleDraft,
)
from .models import (
    BilledUsage,
    BillingTerms,
    CustomerPlan,
    Invoice,
    InvoiceCounter,
    InvoiceEvent,
    InvoiceLine,
    PricePlan,
)
from .money import quantize_money
from .signals import document_issued

ZERO = Decimal(0)


def previous_month(today: date | None = None) -> date:
    """The first day of the month before `today`'s (UTC)."""
    first = (today or timezone.now().date()).replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def plan_for(customer: Customer, period: date) -> PricePlan | None:
    """The plan in force for the month: the latest assignment not after its first day."""
    assignment = (
        CustomerPlan.objects.filter(customer=customer, effective_from__lte=period)
        .select_related("plan")
        .order_by("-effective_from")
        .first()
    )
    return assignment.plan if assignment else None


# --- Drafts ---------------------------------------------------------------------------------


@dataclass
class GenerateReport:
    period: date
    created_ids: list[int] = field(default_factory=list)
    refreshed: list[Invoice] = field(default_factory=list)
    unchanged: list[Invoice] = field(default_factory=list)
    skipped_issued: int = 0
    skipped_empty: int = 0
    no_plan: int = 0

    @cached_property
    def created(self) -> list[Invoice]:
        """The new drafts, read when first asked for: a generation builds no instances of
        thousands of drafts that nobody looks at."""
        found = Invoice.objects.in_bulk(self.created_ids)
        return [found[pk] for pk in self.created_ids]

    def counts(self) -> dict:
        return {
            "period": self.period.isoformat(),
            "created": len(self.created_ids),
            "refreshed": len(self.refreshed),
            "unchanged": len(self.unchanged),
            "skipped_issued": self.skipped_issued,
            "skipped_empty": self.skipped_empty,
            "no_plan": self.no_plan,
        }


@dataclass
class _Inputs:
    """Everything a draft is computed from."""

    plan: PricePlan
    usage: list[pricing.Usage]
    terms: BillingTerms | None
    deltas: list
    manual: list


@dataclass
class _Computed:
    lines: list[pricing.Line]
    notes: list[str]
    tax_rate: Decimal
    tax_note: str
    fingerprint: str
    deltas: list
    manual: list


@dataclass
class _Basis:
    """What a fingerprint is computed from, besides the plan and the usage."""

    tax_rate: Decimal
    tax_note: str
    adjustments: list[pricing.Line]
    fingerprint: str


GENERATE_BATCH = 2000  # customers a transaction: each commit costs, each holds its locks


@dataclass
class _Month:
    """What a generation reads once, before its batches: plans, usage and tax terms, and
    whether any month before it was invoiced (else there is nothing to adjust)."""

    period: date
    plans: dict[int, PricePlan]
    usage: dict[int, list[pricing.Usage]]
    terms: dict[int, BillingTerms]
    billed_before: bool
    invoiced: set[int]  # customers with a live invoice for the month when it was read


def invoice_generate_drafts(*, period: date, actor=None, customers=None) -> GenerateReport:
    """Create or refresh the drafts of `period` for every active customer with a plan.

    Idempotent: a draft whose inputs did not change is left as it is. Customers whose month is
    already issued are skipped (late usage goes to their next draft as an adjustment);
    customers with nothing to bill are skipped unless a fee or minimum applies. Works in
    batches: the inputs of a batch are read in a few queries and its drafts written in bulk.
    """
    customer_pks = None if customers is None else [c.pk for c in customers]
    with cycle_collector_paused():
        return _generate_drafts(period.replace(day=1), actor, customer_pks)


def _generate_drafts(period: date, actor, customer_pks: list[int] | None) -> GenerateReport:
    """`invoice_generate_drafts` for some customers, or every active one (None)."""
    report = GenerateReport(period=period)
    if customer_pks is None:
        active = Customer.objects.filter(status=Customer.Status.ACTIVE)
        customer_pks = list(active.order_by("pk").values_list("pk", flat=True))
        month = _read_month(period, active.values("pk"), everyone=True)
    else:
        month = _read_month(period, customer_pks)
    report.no_plan += len(customer_pks) - len(month.plans)
    batches = [
        [pk for pk in customer_pks[start : start + GENERATE_BATCH] if pk in month.plans]
        for start in range(0, len(customer_pks), GENERATE_BATCH)
    ]
    batches = [batch for batch in batches if batch]
    with _PricedAhead(month) as ahead:
        for batch, following in zip(batches, [*batches[1:], None], strict=True):
            _generate_batch(batch, month, actor, report, ahead, following)
    return report


class _PricedAhead:
    """Prices the next batch's customers that had no invoice for the month, as new drafts
    with nothing to adjust, on a worker thread while this batch commits: the commit (the
    database checking every new row's foreign keys) would otherwise leave this process idle
    for a quarter of a generation. A batch takes a customer's result only where it finds
    those were all of the customer's inputs (no live invoice, nothing to adjust): the worker
    ran `_compute` on the same plan, usage and terms, in the caller's decimal context, so the
    result is the one the batch would compute. Pure computation: the worker reads no
    database."""

    def __init__(self, month: _Month):
        self.month, self.worker, self.pending = month, None, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.worker:
            self.worker.shutdown(wait=True, cancel_futures=True)

    def start(self, batch: list[int]) -> None:
        if self.worker is None:
            for plan in self.month.plans.values():  # built here: the worker reads no database
                _pricing_plan(plan)
                _plan_basis(plan)
            self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pricing")
        new = [pk for pk in batch if pk not in self.month.invoiced]
        context = decimal.getcontext().copy()
        self.pending = batch, self.worker.submit(self._price, new, context)

    def results(self, batch: list[int]) -> dict[int, _Computed]:
        if self.pending is None or self.pending[0] is not batch:
            return {}
        (_, future), self.pending = self.pending, None
        return future.result()

    def _price(self, customer_pks: list[int], context) -> dict[int, _Computed]:
        month = self.month
        with decimal.localcontext(context):
            return {
                pk: _compute(
                    _Inputs(
                        plan=month.plans[pk],
                        usage=month.usage.get(pk, []),
                        terms=month.terms.get(pk),
                        deltas=[],
                        manual=[],
                    ),
                    month.period,
                )
                for pk in customer_pks
            }


def _read_month(period: date, customers, *, everyone: bool = False) -> _Month:
    """Plans, usage and terms of `customers` (pks, or a subquery) in a few queries, in no
    transaction: a draft computed from inputs that change meanwhile is refused at approval
    (its fingerprint no longer matches) and refreshed after the next sync."""
    plans = _plans_for(customers, period)
    return _Month(
        period=period,
        plans=plans,
        usage=_usage_of(plans, period, everyone=everyone),
        terms={t.customer_id: t for t in BillingTerms.objects.filter(customer_id__in=customers)},
        billed_before=Invoice.objects.issued_invoices().filter(period__lt=period).exists(),
        invoiced=set(
            Invoice.objects.live_invoices()
            .filter(customer_id__in=customers, period=period)
            .values_list("customer_id", flat=True)
        ),
    )


@dataclass
class _Batch:
    """A batch's customers and what was read for them under lock."""

    customer_pks: list[int]
    existing: dict[int, Invoice]  # live invoices, locked
    manual: dict[int, list[InvoiceLine]]
    deltas: dict[int, list]
    now: datetime
    new: list = field(default_factory=list)  # (fields, computed)
    changed: list = field(default_factory=list)  # (invoice, computed)


def _generate_batch(
    customer_pks: list[int],
    month: _Month,
    actor,
    report: GenerateReport,
    ahead: _PricedAhead,
    following: list[int] | None,
) -> None:
    """One transaction: lock the batch's live invoices, read their manual lines and what is
    left to adjust, price, write; then have the next batch priced ahead while it commits."""
    first, _ = month_bounds(month.period)
    with transaction.atomic():
        existing = {
            inv.customer_id: inv
            for inv in Invoice.objects.select_for_update()
            .live_invoices()
            .filter(customer_id__in=customer_pks, period=month.period)
        }
        open_pks = [pk for pk in customer_pks if pk not in existing or existing[pk].is_draft]
        report.skipped_issued += len(customer_pks) - len(open_pks)
        batch = _Batch(
            customer_pks=open_pks,
            existing=existing,
            manual=_manual_lines([inv for inv in existing.values() if inv.is_draft]),
            deltas=_pending_deltas(open_pks, before=first) if month.billed_before else {},
            now=timezone.now(),
        )
        _compute_batch(batch, month, report, ahead.results(customer_pks))
        _write_drafts(batch, month.period, actor, report)
        if following:
            ahead.start(following)  # on the worker, while this batch commits


def _compute_batch(batch: _Batch, month: _Month, report: GenerateReport, priced: dict):
    """Price the batch: its new and changed drafts are kept in it for `_write_drafts`, the
    unchanged and the empty ones counted. `priced` (from `_PricedAhead`) serves the
    customers it covers that have no invoice and nothing to adjust."""
    for customer_pk in batch.customer_pks:
        plan, invoice = month.plans[customer_pk], batch.existing.get(customer_pk)
        deltas = batch.deltas.get(customer_pk, [])
        computed = priced.get(customer_pk) if invoice is None and not deltas else None
        if computed is None:
            inputs = _Inputs(
                plan=plan,
                usage=month.usage.get(customer_pk, []),
                terms=month.terms.get(customer_pk),
                deltas=deltas,
                manual=batch.manual.get(invoice.pk, []) if invoice else [],
            )
            basis = _basis_of(inputs)
            if invoice is not None and invoice.usage_fingerprint == basis.fingerprint:
                report.unchanged.append(invoice)  # same inputs, same lines: no need to price
                continue
            computed = _price(inputs, basis, month.period)
        totals = _totals(plan, computed, batch.now)
        if invoice is not None:
            for name, value in totals.items():
                setattr(invoice, name, value)
            batch.changed.append((invoice, computed))
        elif computed.lines:
            fields = {"customer_id": customer_pk, "period": month.period, **totals}
            batch.new.append((fields, computed))
        else:
            report.skipped_empty += 1


def _plans_for(customers, period: date) -> dict[int, PricePlan]:
    """Each customer's plan in force for the month (the latest assignment not after it)."""
    assignments = (
        CustomerPlan.objects.filter(customer_id__in=customers, effective_from__lte=period)
        .order_by("customer_id", "-effective_from")
        .values_list("customer_id", "plan_id")
    )
    chosen: dict[int, int] = {}
    for customer_pk, plan_pk in assignments:
        chosen.setdefault(customer_pk, plan_pk)
    # One instance a plan, so its pricing form and fingerprint basis are built once.
    shared = PricePlan.objects.prefetch_related("tiers").in_bulk(set(chosen.values()))
    return {customer_pk: shared[plan_pk] for customer_pk, plan_pk in chosen.items()}


def _usage_of(
    plans: dict[int, PricePlan], period: date, *, everyone: bool = False
) -> dict[int, list[pricing.Usage]]:
    """The month's usage of the customers in `plans`, in each plan's quantity: summed per key
    and method by the database, then labelled and grouped by customer from the keys. With
    `everyone`, the whole month is summed and the keys of customers without a plan dropped:
    cheaper than naming thousands of customers."""
    if not plans:
        return {}
    first, last = month_bounds(period)
    keys, rows = ApiKey.objects.all(), DailyUsage.objects.filter(day__range=(first, last))
    if not everyone:
        keys = keys.filter(customer_id__in=plans)
        rows = rows.filter(api_key__customer_id__in=plans)
    keys = list(keys.values_list("pk", "customer_id", "key_id"))
    owners = {
        key_pk: (customer_pk, label) for key_pk, customer_pk, label in keys if customer_pk in plans
    }
    quantities = sorted({plan.billed_quantity for plan in plans.values()})
    sums = {f"sum_{quantity}": Sum(quantity) for quantity in quantities}
    rows = (
        rows.values("api_key_id", "method")
        .annotate(**sums)
        .values_list("api_key_id", "method", *sums)
        .order_by()
    )
    with _memory_to_group(len(keys)):
        rows = list(rows)
    usage = defaultdict(list)
    for key_pk, method, *summed in rows:
        if key_pk not in owners:
            continue
        customer_pk, label = owners[key_pk]
        quantity = summed[quantities.index(plans[customer_pk].billed_quantity)]
        usage[customer_pk].append(
            pricing.Usage(key_pk, label, method, quantize_hours(quantity or ZERO))
        )
    for items in usage.values():
        items.sort(key=_by_key_and_method)
    return usage


@contextmanager
def _memory_to_group(keys: int):
    """PostgreSQL sums the month per key and method in a hash table, some 0.5 kB a group:
    past 8,000 keys or so it outgrows the default work_mem (4 MB) and spills to disk, which
    doubles the query's time. So it gets about 1 kB a key, up to 256 MB, for this one
    transaction."""
    if connection.vendor != "postgresql" or keys < 8_000:
        yield
        return
    megabytes = min(keys // 1000 + 4, 256)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{megabytes}MB'")
        yield


def _by_key_and_method(usage: pricing.Usage):
    return usage.key_pk, usage.method


def _manual_lines(drafts: list[Invoice]) -> dict[int, list[InvoiceLine]]:
    """The manual lines of some drafts, by draft id, in their order."""
    manual = defaultdict(list)
    if drafts:
        for line in InvoiceLine.objects.filter(invoice__in=drafts, kind=InvoiceLine.Kind.MANUAL):
            manual[line.invoice_id].append(line)
    return manual


def _totals(plan: PricePlan, computed: _Computed, now) -> dict:
    """A draft's computed fields. Totals are sums of the stored lines; tax once, on the
    subtotal."""
    subtotal = sum((line.amount for line in computed.lines), ZERO) + sum(
        (m.amount for m in computed.manual), ZERO
    )
    tax = pricing.tax_of(subtotal, computed.tax_rate, plan.currency)
    return {
        "currency": plan.currency,
        "billed_quantity": plan.billed_quantity,
        "subtotal": subtotal,
        "tax_rate": computed.tax_rate,
        "tax": tax,
        "total": subtotal + tax,
        "tax_note": computed.tax_note,
        "pricing_notes": computed.notes,
        "usage_fingerprint": computed.fingerprint,
        "computed_at": now,
    }


_LINE_COLUMNS = (  # a line's row: its invoice, its position, then the `pricing.Line`
    "invoice_id",
    "position",
    *({"key_pk": "api_key_id"}.get(name, name) for name in pricing.Line._fields),
)
_EVENT_COLUMNS = ("invoice_id", "at", "actor_id", "action", "detail")
_TOTALS_FIELDS = [  # what `_totals` sets
    "currency",
    "billed_quantity",
    "subtotal",
    "tax_rate",
    "tax",
    "total",
    "tax_note",
    "pricing_notes",
    "usage_fingerprint",
    "computed_at",
]


def _write_drafts(batch: _Batch, period: date, actor, report: GenerateReport) -> None:
    """Save a batch in bulk: the new drafts by COPY (PostgreSQL), the changed ones in one
    UPDATE, their computed lines replaced (manual lines stay); the lines of both and an
    event each by COPY."""
    ids = _insert_drafts([fields for fields, _ in batch.new], period)
    written = [  # (invoice id, its fields, computed, event)
        (ids[fields["customer_id"]], fields, computed, InvoiceEvent.Action.GENERATED)
        for fields, computed in batch.new
    ]
    refreshed = [inv for inv, _ in batch.changed]
    if refreshed:
        update_objects(refreshed, _TOTALS_FIELDS)
        InvoiceLine.objects.filter(invoice__in=refreshed).exclude(
            kind=InvoiceLine.Kind.MANUAL
        ).delete()
        written += [
            (
                inv.pk,
                {"total": inv.total, "currency": inv.currency},
                computed,
                InvoiceEvent.Action.REFRESHED,
            )
            for inv, computed in batch.changed
        ]
    insert_rows(
        InvoiceLine._meta.db_table,
        _LINE_COLUMNS,
        ((pk, n, *line) for pk, _, computed, _ in written for n, line in enumerate(computed.lines)),
    )
    actor_pk = actor.pk if actor else None
    insert_rows(
        InvoiceEvent._meta.db_table,
        _EVENT_COLUMNS,
        (
            (pk, batch.now, actor_pk, action, f"Total {fields['total']} {fields['currency']}.")
            for pk, fields, _, action in written
        ),
    )
    report.created_ids += [pk for pk, _, _, _ in written[: len(batch.new)]]
    report.refreshed += refreshed


def _insert_drafts(drafts: list[dict], period: date) -> dict[int, int]:
    """Insert new drafts in bulk; their ids by customer, read back by customer and month: a
    customer has at most one live invoice a month (a database constraint), so the row found
    is the one just inserted."""
    if not drafts:
        return {}
    insert_objects(Invoice, drafts)
    return dict(
        Invoice.objects.live_invoices()
        .filter(customer_id__in=[fields["customer_id"] for fields in drafts], period=period)
        .values_list("customer_id", "pk")
    )


def invoice_refresh_open_drafts(*, actor=None) -> dict:
    """Recompute every draft (after a usage sync); unchanged drafts stay as they are. One
    generation a month that has drafts, for their customers. Counts by outcome: created
    (the draft went meanwhile), refreshed, unchanged, issued, empty, no_plan."""
    by_period = defaultdict(list)
    drafts = Invoice.objects.filter(status=Invoice.Status.DRAFT, kind=Invoice.Kind.INVOICE)
    for period, customer_pk in drafts.order_by("period", "customer_id").values_list(
        "period", "customer_id"
    ):
        by_period[period].append(customer_pk)
    outcomes: dict[str, int] = defaultdict(int)
    with cycle_collector_paused():
        for period, customer_pks in by_period.items():
            counts = _generate_drafts(period, actor, customer_pks).counts()
            for outcome, key in _OUTCOMES.items():
                outcomes[outcome] += counts[key]
    return {outcome: n for outcome, n in outcomes.items() if n}


_OUTCOMES = {  # as `invoice_refresh_draft` names them: the report's counts
    "created": "created",
    "refreshed": "refreshed",
    "unchanged": "unchanged",
    "issued": "skipped_issued",
    "empty": "skipped_empty",
    "no_plan": "no_plan",
}


def invoice_refresh_draft(*, customer: Customer, period: date, actor=None):
    """(outcome, invoice) with outcome created / refreshed / unchanged / issued / empty."""
    report = invoice_generate_drafts(period=period, actor=actor, customers=[customer])
    if report.no_plan:
        raise NoPlan(f"{customer} has no price plan for {period:%Y-%m}.")
    for outcome in ("created", "refreshed", "unchanged"):
        if getattr(report, outcome):
            return outcome, getattr(report, outcome)[0]
    if report.skipped_issued:
        return "issued", (
            Invoice.objects.live_invoices().filter(customer=customer, period=report.period).first()
        )
    return "empty", None


def _inputs_for(invoice: Invoice, plan: PricePlan) -> _Inputs:
    """One draft's inputs, read afresh (the approval's staleness check)."""
    usage = _usage_of({invoice.customer_id: plan}, invoice.period).get(invoice.customer_id, [])
    first, _ = month_bounds(invoice.period)
    deltas = _pending_deltas([invoice.customer_id], before=first)
    return _Inputs(
        plan=plan,
        usage=usage,
        terms=BillingTerms.objects.filter(customer_id=invoice.customer_id).first(),
        deltas=deltas.get(invoice.customer_id, []),
        manual=list(invoice.lines.filter(kind=InvoiceLine.Kind.MANUAL)),
    )


def _compute(inputs: _Inputs, period: date) -> _Computed:
    """Price a draft from its inputs. Pure: the same inputs give the same lines and
    fingerprint, which is how a stale draft is recognised."""
    return _price(inputs, _basis_of(inputs), period)


def _basis_of(inputs: _Inputs) -> _Basis:
    """What a draft's fingerprint covers: the plan (its id, last change and tiers), the tax
    terms, the month's usage per key and method, the adjustments and the manual lines. Cheap
    next to pricing, so an unchanged draft is recognised before it is priced."""
    plan = inputs.plan
    adjustments = _adjustment_lines(inputs.deltas, plan.currency)
    terms = inputs.terms
    reverse = bool(terms and terms.reverse_charge)
    tax_rate = ZERO if reverse or terms is None else terms.tax_rate
    tax_note = terms.reverse_charge_note if reverse else ""
    plan_head, plan_tiers = _plan_basis(plan)
    basis = [
        *plan_head,
        str(tax_rate),
        tax_note,
        *plan_tiers,
        *(f"{u.key_pk}/{u.method}/{u.quantity}" for u in inputs.usage),
        *(f"{a.key_pk}/{a.method}/{a.quantity}/{a.unit_price}" for a in adjustments),
        *(f"m/{m.pk}/{m.amount}" for m in inputs.manual),
    ]
    fingerprint = hashlib.sha256("|".join(map(str, basis)).encode()).hexdigest()
    return _Basis(tax_rate, tax_note, adjustments, fingerprint)


def _price(inputs: _Inputs, basis: _Basis, period: date) -> _Computed:
    lines, notes = pricing.price_usage(_pricing_plan(inputs.plan), inputs.usage, f"{period:%B %Y}")
    return _Computed(
        lines + basis.adjustments,
        notes,
        basis.tax_rate,
        basis.tax_note,
        basis.fingerprint,
        inputs.deltas,
        inputs.manual,
    )


def _plan_basis(plan: PricePlan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # Built once a plan instance, like its pricing form.
    cached = getattr(plan, "_fingerprint_basis", None)
    if cached is None:
        cached = plan._fingerprint_basis = (
            (str(plan.pk), plan.updated_at.isoformat(), plan.billed_quantity),
            tuple(f"t/{t.up_to_hours}/{t.rate_per_hour}" for t in plan.tiers.all()),
        )
    return cached


def _pricing_plan(plan: PricePlan) -> pricing.Plan:
    # Many customers share a plan instance within a generation: build its pricing form once.
    cached = getattr(plan, "_pricing_plan", None)
    if cached is None:
        cached = plan._pricing_plan = _build_pricing_plan(plan)
    return cached


def _build_pricing_plan(plan: PricePlan) -> pricing.Plan:
    return pricing.Plan(
        currency=plan.currency,
        rate_per_hour=plan.rate_per_hour,
        method_rates={
            m: getattr(plan, f"rate_{m}")
            for m in ("sync", "async", "streaming")
            if getattr(plan, f"rate_{m}") is not None
        },
        tiers=tuple(pricing.Tier(t.up_to_hours, t.rate_per_hour) for t in plan.tiers.all()),
        included_hours=plan.included_hours,
        monthly_minimum=plan.monthly_minimum,
        platform_fee=plan.platform_fee,
        platform_fee_label=plan.platform_fee_label,
    )


@dataclass(frozen=True)
class _Delta:
    """One billed key-day-method whose stored usage differs from what was billed."""

    number: str
    key_pk: int
    key_label: str
    method: str
    unit_price: Decimal
    day: date
    quantity: Decimal


def _pending_deltas(customer_pks, *, before: date) -> dict[int, list[_Delta]]:
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
            "api_key__customer_id",
            "api_key_id",
            "api_key__key_id",
            "day",
            "method",
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
        for key_pk, day, method, hours, total_hours in DailyUsage.objects.filter(
            api_key__customer_id__in=customer_pks, day__in={day for _, day, _ in totals}
        ).values_list("api_key_id", "day", "method", "hours", "total_hours")
    }
    for (key_pk, day, method), (quantity, details) in totals.items():
        customer_pk, label, price, number, quantity_field = details
        row = current.get((key_pk, day, method))
        now = row[quantity_field] if row else ZERO
        if now != quantity:
            deltas[customer_pk].append(
                _Delta(number, key_pk, label, method, price, day, now - quantity)
            )
    return deltas


def _never_billed(customer_pks, *, before: date) -> list[tuple[int, _Delta]]:
    """Usage of an invoiced month (before `before`) for a key, day and method its invoice did
    not bill, as (customer pk, delta): priced at what the invoice billed that key and method
    at, else that method at, else the month's plan rate. One query, more only when some is
    found (rarely: late rows are what the settlement window is for)."""
    invoiced = Invoice.objects.issued_invoices().filter(
        customer_id=OuterRef("api_key__customer_id"), period=OuterRef("month")
    )
    billed = BilledUsage.objects.filter(
        api_key_id=OuterRef("api_key_id"), day=OuterRef("day"), method=OuterRef("method")
    ).exclude(invoice__status=Invoice.Status.VOID)
    rows = list(
        DailyUsage.objects.filter(api_key__customer_id__in=customer_pks, day__lt=before)
        .annotate(month=TruncMonth("day", output_field=DateField()))
        .filter(Exists(invoiced))
        .exclude(Exists(billed))
        .exclude(hours=0, total_hours=0)
        .order_by("day", "api_key_id", "method")
        .values_list(
            "api_key__customer_id",
            "api_key_id",
            "api_key__key_id",
            "day",
            "method",
            "hours",
            "total_hours",
        )
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
            (customer_pk, _Delta(invoice.number, key_pk, label, method, price, day, quantity))
        )
    return found


def _plan_rate(invoice: Invoice, method: str) -> Decimal:
    """What the month's plan charged an hour of `method`; under tiers, the highest tier the
    month reached (as for its usage lines)."""
    top = _top_tier_rate(invoice)
    if top is not None:
        return top
    plan = plan_for(invoice.customer, invoice.period)
    return _pricing_plan(plan).rate_for(method) if plan else ZERO


def _adjustment_lines(deltas: list[_Delta], currency: str) -> list[pricing.Line]:
    """One line per original invoice, key and method: the difference at the billed price."""
    grouped: dict[tuple, list[_Delta]] = defaultdict(list)
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


def invoice_is_stale(*, invoice: Invoice) -> bool:
    """Whether a draft no longer matches its inputs (usage, prices, terms): approving it
    would be refused. Reads only."""
    if not invoice.is_draft:
        return False
    plan = plan_for(invoice.customer, invoice.period)
    if plan is None:
        return True
    return _compute(_inputs_for(invoice, plan), invoice.period).fingerprint != (
        invoice.usage_fingerprint
    )


# --- Approval and after ---------------------------------------------------------------------


def invoice_approve(*, invoice: Invoice, actor, expected_fingerprint: str | None = None) -> Invoice:
    """Issue a draft: refuse it if stale (usage, prices or terms changed since it was
    computed) or, with the four-eyes rule on, if the approver added manual lines; take the
    next number of the year from the locked counter; copy the seller and buyer details; set
    the issue and due dates; record what it billed for later adjustments."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
        if not invoice.is_draft:
            raise InvalidTransition(f"{invoice} is {invoice.get_status_display().lower()}.")
        if expected_fingerprint is not None and expected_fingerprint != invoice.usage_fingerprint:
            raise StaleDraft(
                f"The draft for {invoice.customer} was refreshed after it was "
                "reviewed. Check it again."
            )
        plan = plan_for(invoice.customer, invoice.period)
        computed = plan and _compute(_inputs_for(invoice, plan), invoice.period)
        if not computed or computed.fingerprint != invoice.usage_fingerprint:
            raise StaleDraft(
                f"The draft for {invoice.customer} changed since it was computed "
                "(usage, prices or terms). Refresh it and check it again."
            )
        if (
            settings.BILLING_FOUR_EYES
            and invoice.lines.filter(kind=InvoiceLine.Kind.MANUAL, added_by=actor).exists()
        ):
            raise FourEyesViolation(
                "You added manual lines to this draft: another person must approve it."
            )
        today = timezone.now().date()
        terms = BillingTerms.objects.filter(customer=invoice.customer).first()
        invoice.number = _next_number(settings.BILLING_INVOICE_PREFIX, today.year)
        invoice.status = Invoice.Status.ISSUED
        invoice.issued_on = today
        invoice.due_on = today + timedelta(days=terms.payment_terms_days if terms else 30)
        invoice.approved_at, invoice.approved_by = timezone.now(), actor
        invoice.seller = seller_snapshot()
        invoice.buyer = buyer_snapshot(invoice.customer)
        invoice.save(
            update_fields=[
                "number",
                "status",
                "issued_on",
                "due_on",
                "approved_at",
                "approved_by",
                "seller",
                "buyer",
            ]
        )
        _record_billed_usage(invoice, computed.deltas)
        InvoiceEvent.objects.create(
            invoice=invoice,
            actor=actor,
            action=InvoiceEvent.Action.APPROVED,
            detail=f"{invoice.number}, total {invoice.total} {invoice.currency}.",
        )
        _announce_issued(invoice.pk)
    return invoice


def _announce_issued(invoice_id: int) -> None:
    """Once the issuing transaction commits (never before, never after a rollback), tell the
    listeners: the PDF is rendered and the e-mail sent outside it, and cannot undo it."""
    transaction.on_commit(
        lambda: document_issued.send(sender=Invoice, invoice_id=invoice_id), robust=True
    )


def _next_number(series: str, year: int) -> str:
    """The next gap-free number of a series and year, taken under the counter row's lock (the
    caller's transaction holds it until commit, so a rollback gives the number back)."""
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(series=series, year=year)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(series=series, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{series}-{year}-{counter.last_number:06d}"


def _record_billed_usage(invoice: Invoice, deltas: list[_Delta]) -> None:
    """What this invoice billed, per key, day and method: its month's usage, and the
    differences its adjustment lines billed, so a later change is billed once."""
    first, last = month_bounds(invoice.period)
    prices = {
        (line.api_key_id, line.method): _effective_unit_price(invoice, line)
        for line in invoice.lines.filter(kind=InvoiceLine.Kind.USAGE)
    }
    rows = DailyUsage.objects.filter(api_key__customer=invoice.customer, day__range=(first, last))
    billed = [
        BilledUsage(
            invoice=invoice,
            api_key_id=row.api_key_id,
            day=row.day,
            method=row.method,
            quantity=getattr(row, invoice.billed_quantity),
            unit_price=prices.get((row.api_key_id, row.method), ZERO),
        )
        for row in rows
    ]
    billed += [
        BilledUsage(
            invoice=invoice,
            api_key_id=d.key_pk,
            day=d.day,
            method=d.method,
            quantity=d.quantity,
            unit_price=d.unit_price,
        )
        for d in deltas
    ]
    BilledUsage.objects.bulk_create(billed, batch_size=1000)


def _effective_unit_price(invoice: Invoice, line: InvoiceLine) -> Decimal:
    """A usage line's own rate; under tiers (where usage lines carry no price) the rate of the
    highest tier the month reached, at which a change would have been billed."""
    if line.unit_price:
        return line.unit_price
    top = _top_tier_rate(invoice)
    return ZERO if top is None else top


def _top_tier_rate(invoice: Invoice) -> Decimal | None:
    """The rate of the highest tier an invoice's month reached, if it was priced in tiers."""
    top = invoice.lines.filter(kind=InvoiceLine.Kind.TIER).order_by("-position").first()
    return top.unit_price if top else None


def seller_snapshot() -> dict:
    return {
        "name": settings.BILLING_COMPANY_NAME,
        "address": settings.BILLING_ADDRESS,
        "tax_id": settings.BILLING_TAX_ID,
        "bank_details": settings.BILLING_BANK_DETAILS,
    }


def buyer_snapshot(customer: Customer) -> dict:
    return {
        "name": customer.legal_name or customer.name,
        "address": customer.address,
        "country": customer.country,
        "tax_id": customer.tax_id,
        "email": customer.billing_email,
        "customer_id": str(customer.public_id),
    }


def invoice_void(*, invoice: Invoice, actor, reason: str) -> Invoice:
    """Void an issued invoice or credit note (its number stays used); a voided invoice's
    month can be billed again. An invoice with live credit notes must keep them: void those
    first."""
    if not reason.strip():
        raise InvoicesError("Give a reason for voiding.")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != Invoice.Status.ISSUED:
            raise InvalidTransition(
                f"Only an issued invoice can be voided; {invoice} is "
                f"{invoice.get_status_display().lower()}."
            )
        live_notes = invoice.credit_notes.exclude(status=Invoice.Status.VOID)
        if live_notes.exists():
            raise InvalidTransition(
                f"{invoice} has credit notes ({', '.join(n.number for n in live_notes)}): "
                "void them first."
            )
        invoice.status, invoice.void_reason = Invoice.Status.VOID, reason.strip()
        invoice.voided_at, invoice.voided_by = timezone.now(), actor
        invoice.save(update_fields=["status", "void_reason", "voided_at", "voided_by"])
        InvoiceEvent.objects.create(
            invoice=invoice, actor=actor, action=InvoiceEvent.Action.VOIDED, detail=reason.strip()
        )
    return invoice


def credit_left(invoice: Invoice) -> tuple[Decimal, Decimal]:
    """What of an invoice its live credit notes have not credited yet: the net amount and
    the tax (a voided credit note credits nothing)."""
    credited = invoice.credit_notes.exclude(status=Invoice.Status.VOID).aggregate(
        net=Sum("subtotal"), tax=Sum("tax")
    )
    return (
        quantize_money(invoice.subtotal + (credited["net"] or ZERO), invoice.currency),
        invoice.tax + (credited["tax"] or ZERO),
    )


def credit_note_create(
    *, invoice: Invoice, actor, reason: str, amount: Decimal | None = None
) -> Invoice:
    """Issue a credit note against an issued or paid invoice: the whole of it (`amount`
    None), or a net `amount` taxed at the original's rate. It takes its own number series and
    can never credit more than is left."""
    if not reason.strip():
        raise InvoicesError("Give a reason for the credit note.")
    with transaction.atomic():
        original = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
        if original.kind != Invoice.Kind.INVOICE or original.status not in (
            Invoice.Status.ISSUED,
            Invoice.Status.PAID,
        ):
            raise InvalidTransition("Only an issued or paid invoice can be credited.")
        left, tax_left = credit_left(original)
        net = left if amount is None else quantize_money(amount, original.currency)
        if net <= 0 or net > left:
            raise InvoicesError(
                f"A credit must be more than 0 and at most {left} "
                f"{original.currency} (what is left to credit)."
            )
        # Each part's tax is rounded on its own; the credit that takes what is left takes the
        # tax that is left, so the credit notes of an invoice add up to it to the cent.
        tax = (
            tax_left
            if net == left
            else min(pricing.tax_of(net, original.tax_rate, original.currency), tax_left)
        )
        today = timezone.now().date()
        note = Invoice.objects.create(
            customer=original.customer,
            kind=Invoice.Kind.CREDIT_NOTE,
            credits=original,
            period=original.period,
            currency=original.currency,
            status=Invoice.Status.ISSUED,
            number=_next_number(settings.BILLING_CREDIT_NOTE_PREFIX, today.year),
            subtotal=-net,
            tax_rate=original.tax_rate,
            tax=-tax,
            tax_note=original.tax_note,
            seller=seller_snapshot(),
            buyer=original.buyer,
            issued_on=today,
            due_on=today,
            approved_at=timezone.now(),
            approved_by=actor,
            pricing_notes=[f"Credits {original.number}: {reason}"],
        )
        note.total = note.subtotal + note.tax
        note.save(update_fields=["total"])
        InvoiceLine.objects.create(
            invoice=note,
            kind=InvoiceLine.Kind.CREDIT,
            quantity=Decimal(1),
            unit_price=-net,
            amount=-net,
            description=f"Credit for {original.number}: {reason}"[:300],
        )
        for target, action in (
            (note, InvoiceEvent.Action.APPROVED),
            (original, InvoiceEvent.Action.CREDITED),
        ):
            InvoiceEvent.objects.create(
                invoice=target,
                actor=actor,
                action=action,
                detail=f"{note.number}: {net} {note.currency}, {reason}",
            )
        _announce_issued(note.pk)
    return note


def invoice_mark_paid(*, invoice: Invoice, actor, paid_on: date, reference: str = "") -> Invoice:
    """Record the payment of an issued invoice (not with a date in the future)."""
    if paid_on > timezone.now().date():
        raise InvoicesError("The payment date is in the future.")
    reference = reference.strip()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != Invoice.Status.ISSUED or invoice.kind != Invoice.Kind.INVOICE:
            raise InvalidTransition(
                f"Only an issued invoice can be marked paid; {invoice} is "
                f"{invoice.get_status_display().lower()}."
            )
        invoice.status, invoice.paid_on = Invoice.Status.PAID, paid_on
        invoice.payment_reference, invoice.paid_marked_by = reference, actor
        invoice.save(update_fields=["status", "paid_on", "payment_reference", "paid_marked_by"])
        InvoiceEvent.objects.create(
            invoice=invoice,
            actor=actor,
            action=InvoiceEvent.Action.PAID,
            detail=f"Paid on {paid_on}" + (f", {reference}" if reference else ""),
        )
    return invoice


def invoice_add_manual_line(
    *, invoice: Invoice, actor, description: str, quantity: Decimal, unit_price: Decimal
) -> InvoiceLine:
    """Add a manual line to a draft and recompute its totals."""
    if not description.strip():
        raise InvoicesError("A manual line needs a description.")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if not invoice.is_draft:
            raise InvoiceLocked(f"{invoice} is issued: add a credit note instead.")
        line = InvoiceLine.objects.create(
            invoice=invoice,
            kind=InvoiceLine.Kind.MANUAL,
            description=description,
            quantity=quantize_hours(quantity),
            unit_price=unit_price,
            added_by=actor,
            amount=quantize_money(quantize_hours(quantity) * unit_price, invoice.currency),
            position=10_000,
        )
        InvoiceEvent.objects.create(
            invoice=invoice,
            actor=actor,
            action=InvoiceEvent.Action.LINE_ADDED,
            detail=f"{description}: {line.amount} {invoice.currency}",
        )
        # In the same transaction: a line never stands beside totals that leave it out.
        invoice_refresh_draft(customer=invoice.customer, period=invoice.period, actor=actor)
    return line
