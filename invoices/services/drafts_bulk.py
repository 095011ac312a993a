"""Code that exists only for speed in draft generation, kept apart from the rules it serves
(`drafts`, `draft_pricing`): pricing the next batch on a worker thread while a batch commits,
and writing a batch's drafts, lines and events in bulk (COPY on PostgreSQL).

Rules it keeps:
- A draft priced ahead is used only where its inputs were all of the customer's inputs (no
  live invoice, nothing to adjust): the same result the batch would compute.
- A refreshed draft's computed lines are replaced; its manual lines stay. Every new or
  refreshed draft gets one event.
"""

import decimal
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

from billing_portal.bulk import insert_objects, insert_rows, update_objects

from .. import pricing
from ..models import Invoice, InvoiceEvent, InvoiceLine
from .draft_inputs import MonthInputs
from .draft_pricing import DRAFT_TOTALS_FIELDS, PricedDraft, price_draft
from .fingerprint import plan_fingerprint_basis
from .plans import pricing_plan_of

__all__ = ["PricedAhead", "insert_lines", "write_drafts"]


class PricedAhead:
    """Prices the next batch's customers that had no invoice for the month, as new drafts
    with nothing to adjust, on a worker thread while this batch commits: the commit (the
    database checking every new row's foreign keys) would otherwise leave this process idle
    for a quarter of a generation. A batch takes a customer's result only where it finds
    those were all of the customer's inputs (no live invoice, nothing to adjust): the worker
    ran `price_draft` on the same plan, usage and terms, in the caller's decimal context, so the
    result is the one the batch would compute. Pure computation: the worker reads no
    database."""

    def __init__(self, month: MonthInputs):
        self.month, self.worker, self.pending = month, None, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.worker:
            self.worker.shutdown(wait=True, cancel_futures=True)

    def start(self, batch: list[int]) -> None:
        """Price `batch`'s customers without an invoice on the worker, from now on."""
        if self.worker is None:
            for plan in self.month.plans.values():  # built here: the worker reads no database
                pricing_plan_of(plan)
                plan_fingerprint_basis(plan)
            self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pricing")
        new = [pk for pk in batch if pk not in self.month.invoiced]
        context = decimal.getcontext().copy()
        self.pending = batch, self.worker.submit(self._price_new, new, context)

    def results(self, batch: list[int]) -> dict[int, PricedDraft]:
        """What was priced ahead for `batch` (waiting for it), by customer; else nothing."""
        if self.pending is None or self.pending[0] is not batch:
            return {}
        (_, future), self.pending = self.pending, None
        return future.result()

    def _price_new(self, customer_pks: list[int], context) -> dict[int, PricedDraft]:
        month = self.month
        with decimal.localcontext(context):
            return {pk: price_draft(month.inputs_for(pk), month.period) for pk in customer_pks}


_LINE_COLUMNS = (  # a line's row: its invoice, its position, then the `pricing.Line`
    "invoice_id",
    "position",
    *({"key_pk": "api_key_id", "corrects": "corrects_id"}.get(n, n) for n in pricing.Line._fields),
)


_EVENT_COLUMNS = ("invoice_id", "at", "actor_id", "action", "detail")


def insert_lines(drafts) -> None:
    """Write computed lines in bulk: `drafts` are (invoice id, its `pricing.Line`s), each
    line at its position in the list."""
    insert_rows(
        InvoiceLine._meta.db_table,
        _LINE_COLUMNS,
        ((pk, n, *line) for pk, lines in drafts for n, line in enumerate(lines)),
    )


def write_drafts(
    *,
    new: list[tuple[dict, PricedDraft]],
    changed: list[tuple[Invoice, PricedDraft]],
    period: date,
    actor,
    now: datetime,
) -> tuple[list[int], list[Invoice]]:
    """Save a batch in bulk: the `new` drafts (their fields) by COPY (PostgreSQL), the
    `changed` ones in one UPDATE, their computed lines replaced (manual lines stay); the lines
    of both and an event each by COPY. Returns the new drafts' ids and the refreshed drafts."""
    ids = _insert_drafts([fields for fields, _ in new], period)
    written = [  # (invoice id, its fields, priced, event)
        (ids[fields["customer_id"]], fields, priced, InvoiceEvent.Action.GENERATED)
        for fields, priced in new
    ]
    refreshed = [inv for inv, _ in changed]
    if refreshed:
        update_objects(refreshed, DRAFT_TOTALS_FIELDS)
        InvoiceLine.objects.filter(invoice__in=refreshed).exclude(
            kind=InvoiceLine.Kind.MANUAL
        ).delete()
        written += [
            (
                inv.pk,
                {"total": inv.total, "currency": inv.currency},
                priced,
                InvoiceEvent.Action.REFRESHED,
            )
            for inv, priced in changed
        ]
    insert_lines((pk, priced.lines) for pk, _, priced, _ in written)
    actor_pk = actor.pk if actor else None
    insert_rows(
        InvoiceEvent._meta.db_table,
        _EVENT_COLUMNS,
        (
            (pk, now, actor_pk, action, f"Total {fields['total']} {fields['currency']}.")
            for pk, fields, _, action in written
        ),
    )
    return [pk for pk, _, _, _ in written[: len(new)]], refreshed


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
