"""Writing fetched usage and cost: one row per owner (a key, or an unassigned accessor), UTC
day and dimensions; corrections; sync states.

Rules:
- A read of an owner's window replaces the window as a whole (`store_day_rows`): a new row is
  inserted; a stored row whose values differ is updated and the change recorded as a
  correction (old and new values, the run that saw it); a stored row inside the window that the
  read did not report becomes zero (a correction too), never silently kept and never deleted.
  So the same window twice changes nothing, a backfill by model supersedes the "model not
  reported" rows (zeroed, with corrections) instead of adding to them, and the rows of the
  other method split (the project changed its setting) are zeroed, not counted twice.
- The four tables written so are `KEY_USAGE` (`DailyUsage`), `UNASSIGNED_USAGE`, `KEY_COST`
  (`DailyCost`) and `UNASSIGNED_COST`: the same rule, each with its own dimensions and values.
- The sync (`chunk_sync`) writes each range of days it read in one transaction: the keys' rows
  and cost rows, the unassigned accessors' rows, the keys' sync states.
- Mass cut (`refuse_mass_cut`): when the answers of a range would zero, or cut by more than
  90 %, the stored usage (total hours over the range) of most of the keys that had usage in it
  (at least SYNC_MASS_CUT_MIN_KEYS keys), nothing is written and `MassCutError` is raised: a
  broken upstream, not a correction, until ops accept it. A cut of a few keys applies.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Model
from django.utils import timezone

from billing_portal.bulk import insert_rows

from ..models import (
    UNITS,
    CostCorrection,
    DailyCost,
    DailyUsage,
    UnassignedCost,
    UnassignedCostCorrection,
    UnassignedUsage,
    UnassignedUsageCorrection,
    UsageCorrection,
)

CUT_TO = Decimal("0.1")  # what is left of a key's usage after a cut of more than 90 %


class MassCutError(Exception):
    """A chunk's answers would wipe out the usage of most of a project's keys."""


@dataclass(frozen=True)
class DayTable:
    """A table of rows per owner and UTC day, replaced window by window as Deepgram reports
    them: a row's key is (day, *dimensions), its values are `values` in that order."""

    model: type[Model]
    owner: str  # the owner's column: "api_key_id" or "accessor_id"
    dimensions: tuple[str, ...]
    values: tuple[str, ...]
    correction: type[Model]
    corrected: str  # the correction's column naming the row

    @property
    def zero(self) -> tuple:
        return tuple(Decimal(0) if name in _DECIMALS else 0 for name in self.values)


_DECIMALS = {"hours", "total_hours", "agent_hours", "dollars"}
_USAGE_DIMENSIONS = ("endpoint", "method", "model")
KEY_USAGE = DayTable(
    DailyUsage, "api_key_id", _USAGE_DIMENSIONS, UNITS, UsageCorrection, "usage_id"
)
UNASSIGNED_USAGE = DayTable(
    UnassignedUsage, "accessor_id", _USAGE_DIMENSIONS, UNITS, UnassignedUsageCorrection, "usage_id"
)
KEY_COST = DayTable(
    DailyCost, "api_key_id", ("line_item",), ("dollars",), CostCorrection, "cost_id"
)
UNASSIGNED_COST = DayTable(
    UnassignedCost, "accessor_id", ("line_item",), ("dollars",), UnassignedCostCorrection, "cost_id"
)

Window = tuple[date, date]
Stored = dict[int, dict[tuple, tuple[int, tuple]]]  # owner: {(day, *dimensions): (pk, values)}


def store_day_rows(
    table: DayTable,
    reported: dict[int, dict[tuple, tuple]],
    windows: dict[int, Window],
    *,
    run_id: int | None,
    now: datetime | None = None,
    stored: Stored | None = None,
) -> dict[int, tuple[int, int]]:
    """Replace each owner's window (`windows`: {owner pk: (first, last day)}) in `table` by
    what Deepgram reported for it (`reported`: {owner pk: {(day, *dimensions): values}}, an
    owner missing from it reported nothing): insert new rows, update changed ones and zero the
    stored rows it did not report, each change with a correction. Rows outside an owner's
    window are left alone. Runs in the caller's transaction; `stored` is what
    `stored_day_rows` read in it, when the caller needed it first. Returns {owner pk:
    (rows created, rows changed)}."""
    now = now or timezone.now()
    stored = stored_day_rows(table, windows) if stored is None else stored
    new, changed, counts = [], [], {}
    for owner, (first, last) in windows.items():
        rows = dict(stored.get(owner, {}))
        created, before = 0, len(changed)
        for key, values in reported.get(owner, {}).items():
            if not first <= key[0] <= last:
                continue
            row = rows.pop(key, None)
            if row is None:
                new.append((owner, *key, *values))
                created += 1
            elif row[1] != tuple(values):
                changed.append((row[0], row[1], tuple(values)))
        changed += [(pk, old, table.zero) for pk, old in rows.values() if old != table.zero]
        counts[owner] = (created, len(changed) - before)
    _insert_rows(table, new, now)
    _update_rows(table, changed, now, run_id)
    return counts


def stored_day_rows(table: DayTable, windows: dict[int, Window]) -> Stored:
    """The stored rows of `table` inside each owner's window: {owner pk: {(day,
    *dimensions): (pk, values)}}. One query."""
    if not windows:
        return {}
    first = min(window[0] for window in windows.values())
    last = max(window[1] for window in windows.values())
    rows = table.model.objects.filter(
        **{f"{table.owner}__ids_in": list(windows), "day__range": (first, last)}
    ).values_list("pk", table.owner, "day", *table.dimensions, *table.values)
    width = 1 + len(table.dimensions)
    stored: Stored = {}
    for pk, owner, *rest in rows:
        window = windows[owner]
        if window[0] <= rest[0] <= window[1]:
            stored.setdefault(owner, {})[tuple(rest[:width])] = (pk, tuple(rest[width:]))
    return stored


def refuse_mass_cut(project_id: str, stored: Stored, reported: dict[int, dict]) -> None:
    """Raise `MassCutError` when most of the keys with stored usage in a range (at least
    SYNC_MASS_CUT_MIN_KEYS) would lose all of it, or more than 90 % (total hours)."""
    total_hours = KEY_USAGE.values.index("total_hours")
    with_usage = cut = 0
    for owner, rows in stored.items():
        old = sum(values[total_hours] for _, values in rows.values())
        if old <= 0:
            continue
        new = sum(values[total_hours] for values in reported.get(owner, {}).values())
        with_usage += 1
        cut += new < old * CUT_TO
    if with_usage >= settings.SYNC_MASS_CUT_MIN_KEYS and cut * 2 > with_usage:
        raise MassCutError(
            f"Deepgram's answers would zero, or cut by more than 90 %, the usage of {cut} "
            f"of the {with_usage} keys of project {project_id} that had usage in the "
            "window: nothing was written. If the cut is real, accept it in the sync runs."
        )


def _insert_rows(table: DayTable, rows: list[tuple], now: datetime) -> None:
    """Insert new rows in bulk (COPY on PostgreSQL): the backfill's hot path."""
    if rows:
        columns = (
            table.owner,
            "day",
            *table.dimensions,
            *table.values,
            "first_seen_at",
            "changed_at",
        )
        insert_rows(table.model._meta.db_table, columns, ((*row, now, now) for row in rows))


def _update_rows(
    table: DayTable, changed: list[tuple[int, tuple, tuple]], now: datetime, run_id: int | None
) -> None:
    """Apply late corrections and keep the old and new values of each."""
    if not changed:
        return
    table.model.objects.bulk_update(
        [
            table.model(pk=pk, changed_at=now, **dict(zip(table.values, new, strict=True)))
            for pk, _, new in changed
        ],
        [*table.values, "changed_at"],
        batch_size=500,
    )
    table.correction.objects.bulk_create(
        [
            table.correction(
                **{table.corrected: pk, "run_id": run_id, "at": now},
                **{f"old_{name}": value for name, value in zip(table.values, old, strict=True)},
                **{f"new_{name}": value for name, value in zip(table.values, new, strict=True)},
            )
            for pk, old, new in changed
        ],
        batch_size=500,
    )
