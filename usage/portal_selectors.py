"""Reads of the customer portal's usage pages: a month of one customer's usage per line item
and UTC day, in every unit, without Deepgram's dollars.

Rules:
- Rows are mapped to line items as the mapping names them now (`usage.line_items`); rows no
  rule maps are "Unmapped", listed last.
- Two queries whatever the keys and days: the rows summed per day and (endpoint, method,
  model), and the mapping.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from customers.models import Customer

from .line_items import UNMAPPED_LABEL, LineItemMapping
from .models import DailyUsage

PORTAL_UNITS = ("total_hours", "agent_hours", "tts_characters", "tokens_in", "tokens_out")


@dataclass
class LineItemDays:
    """One line item's usage of a month, by unit and UTC day (`code` None: unmapped)."""

    code: str | None
    label: str
    days: dict[str, dict[date, Decimal]] = field(
        default_factory=lambda: {unit: defaultdict(Decimal) for unit in PORTAL_UNITS}
    )

    def total(self, unit: str) -> Decimal:
        return sum(self.days[unit].values(), Decimal(0))


def line_item_days(*, customer: Customer, start: date, end: date) -> list[LineItemDays]:
    """The customer's usage between two UTC days per line item and day, sorted by label
    (unmapped last). Two queries."""
    rows = (
        DailyUsage.objects.filter(api_key__customer=customer, day__range=(start, end))
        .values_list("day", "endpoint", "method", "model")
        .annotate(**{unit: Sum(unit) for unit in PORTAL_UNITS})
        .order_by()
    )
    mapping = LineItemMapping.load()
    items: dict[str | None, LineItemDays] = {}
    for day, endpoint, method, model, *units in rows:
        item = mapping.of(endpoint, method, model)
        code, label = (item.code, item.label) if item else (None, UNMAPPED_LABEL)
        found = items.setdefault(code, LineItemDays(code, label))
        for unit, value in zip(PORTAL_UNITS, units, strict=True):
            if value:
                found.days[unit][day] += value
    return sorted(items.values(), key=lambda i: (i.code is None, i.label.lower(), i.code or ""))
