"""The invoice lifecycle, one module a concept. Invoices bill stored usage only; they never
call Deepgram.

- `plans`: which price plan applies to a month, and its pure pricing form.
- `draft_inputs`: what a draft is computed from (usage, terms, manual lines, adjustments).
- `fingerprint`: what a draft was computed from, as a hash; whether it is stale.
- `draft_pricing`: a draft's lines and totals from its inputs.
- `drafts`: generate and refresh the drafts of a month.
- `drafts_bulk`: what only makes generation fast (pricing ahead on a thread, COPY writes).
- `adjustment_drafts`: late adjustments in another currency than the draft's, on their own.
- `billed_usage`: what an issued hourly invoice billed of its month, day by day.
- `numbering`: gap-free document numbers.
- `snapshots`: the seller's and buyer's details an issued document keeps.
- `issuing`: approve, void, mark paid, manual lines.
- `credit_notes`: credit an issued invoice in whole or in parts.
- `fx`: exchange rates: a month's rate of a currency; `fx_import`: importing a file of them.
- `line_inputs`: what the line-item modes (rate card, cost plus) price from.
- `month_usage`: a month's usage per key and method, as hourly pricing takes it.
- `repricing`: late usage: a billed month priced again as a whole, the difference billed once.
- `payments`: payments recorded against issued invoices, and their reversals.
- `statements`: statements of account and overdue reminders e-mailed to customers.
- `exports`: accounting exports, each recorded with what it held.
"""

from .credit_notes import credit_left, credit_note_create
from .drafts import (
    GenerateReport,
    invoice_generate_drafts,
    invoice_refresh_draft,
    invoice_refresh_open_drafts,
)
from .fingerprint import invoice_is_stale
from .issuing import invoice_add_manual_line, invoice_approve, invoice_mark_paid, invoice_void
from .plans import plan_for, previous_month
from .snapshots import buyer_snapshot, seller_snapshot

__all__ = [
    "GenerateReport",
    "buyer_snapshot",
    "credit_left",
    "credit_note_create",
    "invoice_add_manual_line",
    "invoice_approve",
    "invoice_generate_drafts",
    "invoice_is_stale",
    "invoice_mark_paid",
    "invoice_refresh_draft",
    "invoice_refresh_open_drafts",
    "invoice_void",
    "plan_for",
    "previous_month",
    "seller_snapshot",
]
