"""Asking Deepgram for a project's usage and cost by key and line item over a range of days:
the project-wide breakdowns, and the per-key fallback where groupings do not combine.

Rules:
- Project-wide, four calls a range: the usage breakdown grouped by accessor, endpoint, method
  and model; the billing breakdown grouped by accessor and line item; and each of the two
  without grouping, the project's own totals that the grouped rows are reconciled against.
  Calls per day of a window: at most 4, fewer when one range holds several days.
- Memory: a range is first asked whole; an answer over the client's body bound
  (DEEPGRAM_MAX_BODY_BYTES, `ResponseTooLargeError`) is asked again as two halves of its days,
  down to a single day, so no answer read is larger than the bound. A single day still too
  large fails the range with that kind.
- Every answer is checked for grouping fields that came back null (the client's
  `GroupingIgnoredError`): such rows are never stored as if grouped; the caller asks per key.
- Per key (where the usage groupings do not combine, and for one key): the key's endpoints
  (grouped by endpoint), then each endpoint's methods (filtered by endpoint, grouped by method),
  then each pair's models (filtered by both, grouped by model): 1 + E + E x M calls a key and
  range, 4 for a key using one endpoint with two methods. The billing breakdown's groupings
  are documented as an array and combine, so cost stays project-wide (2 calls a range).
- No `billing:read` (`MissingPermissionError` on a billing call): the cost is left unread with
  that error, the usage is kept.
- The model is named as Deepgram spells it in the answer (one of `models`; several joined with
  "+"; none: ""); an unknown endpoint or method is "". Rows that land on the same dimensions
  are added up. Days outside the range asked are dropped.
- No database here: this runs in worker threads, each with its own client.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from billing_portal.deepgram import (
    DeepgramClient,
    GroupingIgnoredError,
    MissingPermissionError,
    ResponseTooLargeError,
)
from billing_portal.deepgram.types import BreakdownRow

from ..units import quantize_hours

# The units of a usage row, in the order their values are kept.
UNITS = (
    "hours",
    "total_hours",
    "agent_hours",
    "tts_characters",
    "tokens_in",
    "tokens_out",
    "requests",
)
HOUR_UNITS = frozenset({"hours", "total_hours", "agent_hours"})
NO_UNITS = (Decimal(0), Decimal(0), Decimal(0), 0, 0, 0, 0)
USAGE_CALL, BILLING_CALL, FIELDS_CALL = "usage/breakdown", "billing/breakdown", "billing/fields"

Units = tuple  # values in UNITS order
# accessor, day, endpoint, method, model
UsageKey = tuple[str, date, str, str, str]
CostKey = tuple[str, date, str]  # accessor, day, line item


@dataclass
class Difference:
    """A day on which the grouped rows do not add up to the project's own total of a unit."""

    day: date
    unit: str
    grouped: Decimal
    reported: Decimal

    def as_json(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "unit": self.unit,
            "grouped": str(self.grouped),
            "reported": str(self.reported),
        }


@dataclass
class ProjectFetch:
    """What Deepgram reported for a project over first..last, by accessor and line item."""

    first: date
    last: date
    usage: dict[UsageKey, Units] = field(default_factory=dict)
    costs: dict[CostKey, Decimal] | None = field(default_factory=dict)
    usage_totals: dict[date, Units] | None = None  # None: nothing to reconcile against
    cost_totals: dict[date, Decimal] | None = None
    cost_error: Exception | None = None
    calls: Counter = field(default_factory=Counter)

    def differences(self) -> list[Difference]:
        """Per day and unit (dollars too), where the grouped rows and the project's totals
        disagree: a grouping Deepgram applied only in part, never hidden. Counts must agree
        exactly; hours and dollars within what rounding each row to 6 places can account for
        (half a millionth a row)."""
        found = []
        if self.usage_totals is None:
            return found
        grouped: dict[date, list] = {}
        rows: Counter = Counter()
        for (_, day, *_), values in self.usage.items():
            grouped[day] = _added(grouped.get(day, list(NO_UNITS)), values)
            rows[day] += 1
        for day in sorted(set(grouped) | set(self.usage_totals)):
            mine = grouped.get(day, NO_UNITS)
            theirs = self.usage_totals.get(day, NO_UNITS)
            found += [
                Difference(day, unit, Decimal(a), Decimal(b))
                for unit, a, b in zip(UNITS, mine, theirs, strict=True)
                if _apart(unit, Decimal(a), Decimal(b), rows[day])
            ]
        if self.costs is not None and self.cost_totals is not None:
            dollars: dict[date, Decimal] = {}
            cost_rows: Counter = Counter()
            for (_, day, _), amount in self.costs.items():
                dollars[day] = dollars.get(day, Decimal(0)) + amount
                cost_rows[day] += 1
            for day in sorted(set(dollars) | set(self.cost_totals)):
                mine, theirs = dollars.get(day, Decimal(0)), self.cost_totals.get(day, Decimal(0))
                if _apart("dollars", mine, theirs, cost_rows[day]):
                    found.append(Difference(day, "dollars", mine, theirs))
        return sorted(found, key=lambda d: (d.day, d.unit))


ROUNDING = Decimal("0.0000005")  # half of the 6th decimal: what rounding one row may move


def _apart(unit: str, mine: Decimal, theirs: Decimal, rows: int) -> bool:
    if unit in HOUR_UNITS or unit == "dollars":
        return abs(mine - theirs) > ROUNDING * max(rows, 1)
    return mine != theirs


def fetch_project(
    client: DeepgramClient,
    project_id: str,
    first: date,
    last: date,
    *,
    model_grouping: str = "models",
    combine: bool = True,
) -> ProjectFetch:
    """The project's usage and cost by accessor and line item over first..last, and its own
    totals. Where usage groupings do not `combine`, the accessors with usage are found by one
    grouping and asked one by one. Deepgram errors other than a missing billing permission
    are raised (a `GroupingIgnoredError` too: the caller decides)."""
    fetched = ProjectFetch(first, last)
    usage = _asker(client, project_id, fetched)
    if combine:
        asked = ("accessor", "endpoint", "method", model_grouping)
        for row in _halving(first, last, lambda a, b: usage(a, b, grouping=asked)):
            _add_usage(fetched, row, row.grouping.accessor)
    else:
        rows = _halving(first, last, lambda a, b: usage(a, b, grouping=("accessor",)))
        for accessor in sorted({row.grouping.accessor for row in rows}):
            _key_usage(fetched, usage, accessor, model_grouping)
    fetched.usage_totals = {}
    for row in _halving(first, last, lambda a, b: usage(a, b)):
        day = row.grouping.start
        if first <= day <= last:
            totals = fetched.usage_totals.get(day, NO_UNITS)
            fetched.usage_totals[day] = tuple(_added(totals, _units(row)))
    _fetch_costs(client, project_id, fetched, ("accessor", "line_item"))
    return fetched


def fetch_key(
    client: DeepgramClient,
    project_id: str,
    first: date,
    last: date,
    accessor: str,
    model_grouping: str = "models",
) -> ProjectFetch:
    """One key's usage and cost by line item over first..last, with the key as a filter (no
    project totals: nothing to reconcile). Where groupings do not combine, one dimension at a
    time."""
    fetched = ProjectFetch(first, last, usage_totals=None, cost_totals=None)
    usage = _asker(client, project_id, fetched)
    asked = ("endpoint", "method", model_grouping)
    try:
        rows = _halving(first, last, lambda a, b: usage(a, b, grouping=asked, accessor=accessor))
    except GroupingIgnoredError:
        _key_usage(fetched, usage, accessor, model_grouping)
    else:
        for row in rows:
            _add_usage(fetched, row, accessor)
    _fetch_costs(client, project_id, fetched, ("line_item",), accessor=accessor)
    return fetched


def _asker(client: DeepgramClient, project_id: str, fetched: ProjectFetch):
    def usage(start: date, end: date, **query) -> list[BreakdownRow]:
        fetched.calls[USAGE_CALL] += 1
        return list(client.usage_breakdown(project_id, start=start, end=end, **query).results)

    return usage


def _fetch_costs(
    client: DeepgramClient,
    project_id: str,
    fetched: ProjectFetch,
    grouping: tuple[str, ...],
    accessor: str | None = None,
) -> None:
    def billing(start: date, end: date, grouping=()):
        fetched.calls[BILLING_CALL] += 1
        answer = client.billing_breakdown(
            project_id, start=start, end=end, grouping=grouping, accessor=accessor
        )
        return list(answer.results)

    first, last = fetched.first, fetched.last
    try:
        grouped = _halving(first, last, lambda a, b: billing(a, b, grouping))
        totals = None if accessor else _halving(first, last, billing)
    except MissingPermissionError as exc:
        fetched.costs = fetched.cost_totals = None
        fetched.cost_error = exc
        return
    for row in grouped:
        day = row.grouping.start
        if first <= day <= last:
            key = (accessor or row.grouping.accessor or "", day, row.grouping.line_item or "")
            fetched.costs[key] = fetched.costs.get(key, Decimal(0)) + row.dollars
    if totals is not None:
        fetched.cost_totals = {}
        for row in totals:
            day = row.grouping.start
            if first <= day <= last:
                fetched.cost_totals[day] = fetched.cost_totals.get(day, Decimal(0)) + row.dollars


def _key_usage(fetched: ProjectFetch, usage, accessor: str, model_grouping: str) -> None:
    """One key's rows by endpoint, method and model, asked one dimension at a time: its
    endpoints, each endpoint's methods, each pair's models (the rows' dimensions not grouped by
    are the call's filters)."""
    first, last = fetched.first, fetched.last

    def ask(grouping: str, **where) -> list[BreakdownRow]:
        return _halving(
            first, last, lambda a, b: usage(a, b, grouping=(grouping,), accessor=accessor, **where)
        )

    for endpoint in sorted({row.grouping.endpoint for row in ask("endpoint")}):
        for method in sorted({row.grouping.method for row in ask("method", endpoint=endpoint)}):
            for row in ask(model_grouping, endpoint=endpoint, method=method):
                _add_usage(fetched, row, accessor, endpoint=endpoint, method=method)


def _halving(first: date, last: date, ask: Callable[[date, date], list]) -> list:
    """`ask(first, last)`'s rows; an answer too large is asked again as two halves of its days,
    down to a single day (still too large: raised)."""
    try:
        return ask(first, last)
    except ResponseTooLargeError:
        if first == last:
            raise
        middle = first + timedelta(days=(last - first).days // 2)
        return _halving(first, middle, ask) + _halving(middle + timedelta(days=1), last, ask)


def _units(row: BreakdownRow) -> Units:
    return (
        quantize_hours(row.hours),
        quantize_hours(row.total_hours),
        quantize_hours(row.agent_hours),
        row.tts_characters,
        row.tokens_in,
        row.tokens_out,
        row.requests,
    )


def _added(a, b) -> list:
    return [x + y for x, y in zip(a, b, strict=True)]


def model_name(models: tuple[str, ...] | None) -> str:
    """The model as the answer spells it: one name, several joined with "+", none ""."""
    return "+".join(models) if models else ""


def _add_usage(
    fetched: ProjectFetch,
    row: BreakdownRow,
    accessor: str,
    *,
    endpoint: str | None = None,
    method: str | None = None,
) -> None:
    group = row.grouping
    if not fetched.first <= group.start <= fetched.last:
        return
    endpoint = endpoint or group.endpoint or ""
    method = method or group.method or ""
    key = (accessor, group.start, endpoint, method, model_name(group.models))
    fetched.usage[key] = tuple(_added(fetched.usage.get(key, NO_UNITS), _units(row)))
