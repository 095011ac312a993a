"""Usage sync: Deepgram's usage per key (by accessor) into one row per key, UTC day, endpoint,
method and model, Deepgram's cost per key, day and line item, the usage of accessors that are
no customer's key, and the sync runs that record it.

Each rule lives in the module named for it:
- `sync_window`: which days of a key are read (settlement window, revoked keys, `utc_today`).
- `breakdowns`: asking Deepgram for a project's (or a key's) usage and cost by line item over a
  range of days, and the project's own totals (worker threads, no database).
- `chunk_sync`: a chunk's ranges of days, fetching one, and storing one in a transaction
  (keys, unassigned accessors, cost, reconciliation).
- `storing`: writing rows idempotently, a window replaced as a whole (`store_day_rows`, for
  usage and cost, of keys and of unassigned accessors), zeroing dropped rows as corrections,
  sync states.
- `unassigned`: accessors that are no customer's key, and their assignment to a key.
- `key_sync`: one key's sync, and a chunk's (a transaction a range, failure accounting);
  `key_sync_pool`: the same for many keys, with a thread pool and lookahead (speed only).
- `runs`: sync runs (single flight, heartbeat and takeover, chunk outcomes, final status,
  `usage_synced`).
- `lanes`: how a run's keys are spread over lanes and chunks (one project each) of Celery tasks.
- `outcomes`: the per-key results and their totals.
- `alerts`: telling operators (log, ADMINS e-mail) of failed or partial runs and stale keys.
"""

from .alerts import sync_report_stale_keys, sync_run_alert
from .key_sync import usage_sync_key
from .key_sync_pool import usage_sync_keys, usage_sync_run
from .lanes import chunk_lanes, range_concurrency, sync_lanes
from .outcomes import KeySyncResult, SyncTotals
from .runs import (
    RunChunk,
    stale_after,
    sync_chunk_claim,
    sync_run_accept_cut,
    sync_run_beat,
    sync_run_hold,
    sync_run_pending,
    sync_run_record,
    sync_run_start,
    sync_run_take_over,
)
from .storing import (
    KEY_COST,
    KEY_USAGE,
    UNASSIGNED_COST,
    UNASSIGNED_USAGE,
    DayTable,
    store_day_rows,
    stored_day_rows,
)
from .sync_window import sync_window, utc_today
from .unassigned import (
    Assignment,
    AssignmentRefused,
    accessor_assign,
    issued_months,
    unassigned_accessor_of,
)

__all__ = [
    "KEY_COST",
    "KEY_USAGE",
    "UNASSIGNED_COST",
    "UNASSIGNED_USAGE",
    "Assignment",
    "AssignmentRefused",
    "DayTable",
    "KeySyncResult",
    "RunChunk",
    "SyncTotals",
    "accessor_assign",
    "chunk_lanes",
    "issued_months",
    "range_concurrency",
    "stale_after",
    "store_day_rows",
    "stored_day_rows",
    "sync_chunk_claim",
    "sync_lanes",
    "sync_report_stale_keys",
    "sync_run_accept_cut",
    "sync_run_alert",
    "sync_run_beat",
    "sync_run_hold",
    "sync_run_pending",
    "sync_run_record",
    "sync_run_start",
    "sync_run_take_over",
    "sync_window",
    "unassigned_accessor_of",
    "usage_sync_key",
    "usage_sync_keys",
    "usage_sync_run",
    "utc_today",
]
