"""What a sync reports: one `KeySyncResult` per key, added up into `SyncTotals`, with what
the ranges it read learned (calls by endpoint, reconciliation differences, unread costs).

Rules:
- Every key asked for gets exactly one result: synced, skipped (nothing to read) or failed.
- A failure carries its kind (the Deepgram error's class name, or "InternalError" for a bug
  or a failed write) so that a run can count its errors by kind.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date


@dataclass
class KeySyncResult:
    key_pk: int
    ok: bool = True
    skipped: bool = False
    rows_created: int = 0
    rows_changed: int = 0
    api_calls: int = 0
    retries: int = 0
    error_kind: str = ""
    error: str = ""
    window: tuple[date, date] | None = None


@dataclass
class SyncTotals:
    """What a batch of key syncs added up to."""

    keys_ok: int = 0
    keys_failed: int = 0
    api_calls: int = 0
    retries: int = 0
    rows_created: int = 0
    rows_changed: int = 0
    errors_by_kind: Counter = field(default_factory=Counter)
    calls_by_endpoint: Counter = field(default_factory=Counter)
    # Days whose grouped rows do not add up to Deepgram's project totals (reconciliation).
    differences: list[dict] = field(default_factory=list)
    cost_unread: dict[str, str] = field(default_factory=dict)  # project id: why

    def add(self, result: KeySyncResult) -> None:
        self.keys_ok += result.ok
        self.keys_failed += not result.ok
        self.api_calls += result.api_calls
        self.retries += result.retries
        self.rows_created += result.rows_created
        self.rows_changed += result.rows_changed
        if result.error_kind:
            self.errors_by_kind[result.error_kind] += 1
