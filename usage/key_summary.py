"""What a key's admin page shows of the usage app: its last sync and its usage this month.

Rules:
- The last sync is the key's `KeySyncState`: a key whose row is missing, or whose row has
  neither a success nor an error, has never synced. The last attempt failed while
  `consecutive_failures` is above 0 (a success resets it, as the sync's own filter reads it);
  it happened at `last_error_at` then, else at `last_success_at`.
- Usage is summed per line item, as the line-item mapping names the stored rows now (rows no
  rule maps are "Unmapped"), every unit as Deepgram reports it. Deepgram's dollars are summed
  per line item code of its billing breakdown, only for who may see them (finance).
- A fixed number of queries whatever the rows: the state, the usage, the mapping, the cost.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Sum

from customers.models import ApiKey

from .line_items import UNMAPPED_LABEL, LineItemMapping
from .models import HOUR_UNITS, UNITS, DailyCost, DailyUsage, KeySyncState


@dataclass
class LastSync:
    """How the key's last sync went; `state` is None when the key has no sync row yet."""

    state: KeySyncState | None

    @property
    def never(self) -> bool:
        state = self.state
        return state is None or not (state.last_success_at or state.last_error_at)

    @property
    def failed(self) -> bool:
        return bool(self.state and self.state.consecutive_failures)

    @property
    def at(self) -> datetime | None:
        if self.never:
            return None
        return self.state.last_error_at if self.failed else self.state.last_success_at


def last_sync_of(api_key: ApiKey) -> LastSync:
    """The key's sync status, in one query."""
    return LastSync(KeySyncState.objects.filter(api_key_id=api_key.pk).first())


def _zero() -> dict:
    return {unit: Decimal(0) if unit in HOUR_UNITS else 0 for unit in UNITS}


@dataclass
class LineItemUsage:
    """A line item's units over the days (`code` None: unmapped) and Deepgram's dollars."""

    code: str | None
    label: str
    units: dict = field(default_factory=_zero)
    dollars: Decimal | None = None

    def add(self, units: dict) -> None:
        for unit in UNITS:
            self.units[unit] += units[unit] or 0


def key_usage_by_line_item(
    *, api_key: ApiKey, start: date, end: date, with_cost: bool
) -> list[LineItemUsage]:
    """The key's usage between two UTC days per line item, sorted by label (unmapped last),
    with Deepgram's dollars when `with_cost`. Two queries, three with the cost."""
    rows = (
        DailyUsage.objects.filter(api_key=api_key, day__range=(start, end))
        .values("endpoint", "method", "model")
        .annotate(**{unit: Sum(unit) for unit in UNITS})
        .order_by()
    )
    rows = list(rows)
    mapping = LineItemMapping.load()
    items: dict[str | None, LineItemUsage] = {}
    for row in rows:
        item = mapping.of(row["endpoint"], row["method"], row["model"])
        code = item.code if item else None
        label = item.label if item else UNMAPPED_LABEL
        items.setdefault(code, LineItemUsage(code, label)).add(row)
    if with_cost:
        _add_cost(items, mapping, api_key=api_key, start=start, end=end)
    return sorted(items.values(), key=lambda i: (i.code is None, i.label.lower(), i.code or ""))


def _add_cost(items: dict, mapping: LineItemMapping, *, api_key, start, end) -> None:
    costs = (
        DailyCost.objects.filter(api_key=api_key, day__range=(start, end))
        .values_list("line_item")
        .annotate(dollars=Sum("dollars"))
        .order_by()
    )
    for code, dollars in costs:
        if code not in items:  # billed by Deepgram, with no usage row mapped to it
            known = mapping.items.get(code)
            items[code] = LineItemUsage(code, known.label if known else code)
        items[code].dollars = dollars


def totals_of(items: list[LineItemUsage]) -> LineItemUsage:
    """Every unit and the dollars summed over the line items (dollars None when none)."""
    total = LineItemUsage(None, "Total")
    for item in items:
        total.add(item.units)
        if item.dollars is not None:
            total.dollars = (total.dollars or Decimal(0)) + item.dollars
    return total
