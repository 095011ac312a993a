"""Drafts: generated for a month from stored usage, refreshed until approved.

Rules:
- Every active customer with a plan for the month gets one draft; a customer whose month is
  issued is skipped (late usage goes to the next draft as an adjustment); a customer with
  nothing to bill gets no draft unless a fee or a minimum applies. Late changes to months
  invoiced in another currency than the draft's get a draft of their own
  (`adjustment_drafts`).
- Idempotent: a draft whose inputs did not change (same fingerprint) is left as it is; one
  whose inputs changed is refreshed: its computed lines replaced, its manual lines kept.
- After every usage sync all open drafts are refreshed, one generation a month that has any.
- A customer whose plan is invalid (`plan_problems_of`: made so outside the admin's forms)
  gets no draft and its draft is not refreshed: the report counts them with the reasons, and
  approval refuses the draft it has. Drafts of customers without billing terms are made (so
  finance sees them) and counted apart: approval refuses them until terms exist.
- Works in batches of customers, each one transaction that locks its live invoices; the
  machinery that makes it fast sits in `drafts_bulk`.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from django.db import transaction
from django.utils import timezone

from billing_portal.cycles import cycle_collector_paused
from customers.models import Customer

from ..exceptions import InvalidPlan, NoPlan
from ..models import Invoice, InvoiceLine
from .adjustment_drafts import write_adjustment_drafts
from .draft_inputs import MonthInputs, manual_lines_of, read_month
from .draft_pricing import PricedDraft, draft_totals, price_on_basis
from .drafts_bulk import PricedAhead, write_drafts
from .fingerprint import draft_basis
from .plans import plan_problems_of
from .repricing import Repriced, pending_repricing

__all__ = [
    "GenerateReport",
    "invoice_generate_drafts",
    "invoice_refresh_draft",
    "invoice_refresh_open_drafts",
]


@dataclass
class GenerateReport:
    """What a generation did, by customer outcome."""

    period: date
    created_ids: list[int] = field(default_factory=list)
    refreshed: list[Invoice] = field(default_factory=list)
    unchanged: list[Invoice] = field(default_factory=list)
    skipped_issued: int = 0
    skipped_empty: int = 0
    no_plan: int = 0
    no_terms: int = 0  # drafts (made, refreshed or unchanged) whose customer has no terms
    invalid_plan: int = 0  # customers left out: their plan is invalid
    invalid_plans: dict[str, list[str]] = field(default_factory=dict)  # plan name: reasons

    @cached_property
    def created(self) -> list[Invoice]:
        """The new drafts, read when first asked for: a generation builds no instances of
        thousands of drafts that nobody looks at."""
        found = Invoice.objects.in_bulk(self.created_ids)
        return [found[pk] for pk in self.created_ids]

    def counts(self) -> dict:
        """The outcomes as counts (what the command and the beat task print)."""
        return {
            "period": self.period.isoformat(),
            "created": len(self.created_ids),
            "refreshed": len(self.refreshed),
            "unchanged": len(self.unchanged),
            "skipped_issued": self.skipped_issued,
            "skipped_empty": self.skipped_empty,
            "no_plan": self.no_plan,
            "no_terms": self.no_terms,
            "invalid_plan": self.invalid_plan,
        }

    def invalid_plans_text(self) -> str:
        """The invalid plans and why, in one line ("" when none)."""
        return "; ".join(
            f"{name}: {' '.join(problems)}" for name, problems in self.invalid_plans.items()
        )


GENERATE_BATCH = 2000  # customers a transaction: each commit costs, each holds its locks


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
        month = read_month(period, active.values("pk"), everyone=True)
    else:
        month = read_month(period, customer_pks)
    report.no_plan += len(customer_pks) - len(month.plans)
    invalid = _leave_out_invalid_plans(month, report)
    batches = [
        [
            pk
            for pk in customer_pks[start : start + GENERATE_BATCH]
            if pk in month.plans and pk not in invalid
        ]
        for start in range(0, len(customer_pks), GENERATE_BATCH)
    ]
    batches = [batch for batch in batches if batch]
    with PricedAhead(month) as ahead:
        for batch, following in zip(batches, [*batches[1:], None][: len(batches)], strict=True):
            _generate_batch(batch, month, actor, report, ahead, following)
    return report


def _leave_out_invalid_plans(month: MonthInputs, report: GenerateReport) -> set[int]:
    """The customers whose plan is invalid, counted in the report with the plans' reasons."""
    invalid = set()
    for customer_pk, plan in month.plans.items():
        problems = plan_problems_of(plan)
        if problems:
            invalid.add(customer_pk)
            report.invalid_plans[plan.name] = problems
    report.invalid_plan += len(invalid)
    return invalid


@dataclass
class _DraftBatch:
    """A batch's customers and what was read for them under lock."""

    customer_pks: list[int]
    existing: dict[int, Invoice]  # live invoices, locked
    manual: dict[int, list[InvoiceLine]]
    repriced: dict[int, Repriced]
    now: datetime
    new: list[tuple[dict, PricedDraft]] = field(default_factory=list)  # (its fields, priced)
    changed: list[tuple[Invoice, PricedDraft]] = field(default_factory=list)


def _generate_batch(
    customer_pks: list[int],
    month: MonthInputs,
    actor,
    report: GenerateReport,
    ahead: PricedAhead,
    following: list[int] | None,
) -> None:
    """One transaction: lock the batch's live invoices, read their manual lines and what is
    left to adjust, price, write; then have the next batch priced ahead while it commits."""
    with transaction.atomic():
        existing = {
            inv.customer_id: inv
            for inv in Invoice.objects.select_for_update()
            .live_invoices()
            .filter(customer_id__in=customer_pks, period=month.period)
        }
        open_pks = [pk for pk in customer_pks if pk not in existing or existing[pk].is_draft]
        report.skipped_issued += len(customer_pks) - len(open_pks)
        batch = _DraftBatch(
            customer_pks=open_pks,
            existing=existing,
            manual=manual_lines_of([inv for inv in existing.values() if inv.is_draft]),
            repriced=pending_repricing(
                open_pks,
                period=month.period,
                currencies={pk: month.plans[pk].currency for pk in open_pks},
            )
            if month.billed_before
            else {},
            now=timezone.now(),
        )
        _price_batch(batch, month, report, ahead.results(customer_pks))
        created_ids, refreshed = write_drafts(
            new=batch.new, changed=batch.changed, period=month.period, actor=actor, now=batch.now
        )
        report.created_ids += created_ids
        report.refreshed += refreshed
        created_ids, refreshed = write_adjustment_drafts(  # in other currencies, if any
            batch.repriced,
            month.adjusting.intersection(open_pks),
            period=month.period,
            terms=month.terms,
            actor=actor,
            now=batch.now,
        )
        report.created_ids += created_ids
        report.refreshed += refreshed
        if following:
            ahead.start(following)  # on the worker, while this batch commits


def _price_batch(
    batch: _DraftBatch, month: MonthInputs, report: GenerateReport, ahead: dict[int, PricedDraft]
):
    """Price the batch: its new and changed drafts are kept in it for `write_drafts`, the
    unchanged and the empty ones counted. `ahead` (from `PricedAhead`) serves the
    customers it covers that have no invoice and nothing to adjust."""
    for customer_pk in batch.customer_pks:
        plan, invoice = month.plans[customer_pk], batch.existing.get(customer_pk)
        repriced = batch.repriced.get(customer_pk)
        untouched = invoice is None and repriced is None
        priced = ahead.get(customer_pk) if untouched else None
        if priced is None:
            manual = batch.manual.get(invoice.pk, []) if invoice else []
            inputs = month.inputs_for(customer_pk, manual, repriced)
            basis = draft_basis(inputs)
            if invoice is not None and invoice.usage_fingerprint == basis.fingerprint:
                report.unchanged.append(invoice)  # same inputs, same lines: no need to price
                report.no_terms += customer_pk not in month.terms
                continue
            priced = price_on_basis(inputs, basis, month.period)
        totals = draft_totals(plan, priced, batch.now)
        if invoice is not None:
            for name, value in totals.items():
                setattr(invoice, name, value)
            batch.changed.append((invoice, priced))
        elif priced.lines or priced.blockers:  # a blocked draft says why it bills nothing
            fields = {"customer_id": customer_pk, "period": month.period, **totals}
            batch.new.append((fields, priced))
        else:
            report.skipped_empty += 1
            continue
        report.no_terms += customer_pk not in month.terms


def invoice_refresh_open_drafts(*, actor=None) -> dict:
    """Recompute every draft (after a usage sync); unchanged drafts stay as they are. One
    generation a month that has drafts, for their customers. Counts by outcome: created
    (the draft went meanwhile), refreshed, unchanged, issued, empty, no_plan, invalid_plan;
    and no_terms: how many of those drafts are for customers without billing terms (approval
    refuses them), so the task's result says so as the command does."""
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
    "invalid_plan": "invalid_plan",
    "no_terms": "no_terms",
}


def invoice_refresh_draft(*, customer: Customer, period: date, actor=None):
    """(outcome, invoice) with outcome created / refreshed / unchanged / issued / empty."""
    report = invoice_generate_drafts(period=period, actor=actor, customers=[customer])
    if report.no_plan:
        raise NoPlan(f"{customer} has no price plan for {period:%Y-%m}.")
    if report.invalid_plan:
        raise InvalidPlan(
            f"{customer}'s price plan is invalid, so it prices nothing: "
            f"{report.invalid_plans_text()} Correct the plan, then refresh."
        )
    for outcome in ("created", "refreshed", "unchanged"):
        if getattr(report, outcome):
            return outcome, getattr(report, outcome)[0]
    if report.skipped_issued:
        return "issued", (
            Invoice.objects.live_invoices().filter(customer=customer, period=report.period).first()
        )
    return "empty", None
