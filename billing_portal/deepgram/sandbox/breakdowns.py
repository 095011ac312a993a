"""The usage breakdown, the billing breakdown and the billing fields, built from lines.

Both breakdowns answer one row per UTC day and combination of the grouped dimensions' values
(days without usage left out); a dimension not grouped by is null. Dollars are the sums of each
line's own cost (PRICES x quantities, rounded once per key, day and line item), so every
grouping of the billing breakdown adds up to its ungrouped answer exactly, as every grouping of
the usage breakdown does.

`Shape` holds the modes in which an answer is wrong the way a real upstream can be: models by
display name, groupings it will not combine (every grouping field null), grouped rows left out.
"""

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from . import catalog
from .params import BILLING_GROUPINGS, GROUPINGS, UsageFilter
from .replies import number
from .reports import Totals, answer_head
from .synthetic import Line


@dataclass(frozen=True)
class Shape:
    model_names: str = "id"  # or "display"
    combine: bool = True  # False: more than one grouping is answered as none
    drop_every: int = 0  # N > 0: every Nth row of a grouped answer is left out


_USAGE_VALUES = {
    "accessor": lambda line: line.key.api_key_id,
    "endpoint": lambda line: line.endpoint,
    "feature_set": lambda line: ",".join(line.features),
    "models": lambda line: (line.model.name,),
    "method": lambda line: line.method,
    "tags": lambda line: line.key.tags,
    "deployment": lambda line: "hosted",
}
_DISPLAY_VALUES = {**_USAGE_VALUES, "models": lambda line: (line.model.display,)}
_BILLING_VALUES = {
    "accessor": lambda line: line.key.api_key_id,
    "deployment": lambda line: "hosted",
    "line_item": lambda line: line.line_item,
    "tags": lambda line: line.key.tags,
}


def usage_breakdown(
    all_lines: Iterator[Line], where: UsageFilter, grouping: tuple[str, ...], shape: Shape
) -> dict:
    """`/usage/breakdown`: every unit summed per day and group."""
    if len(grouping) > 1 and not shape.combine:
        grouping = ()  # what it will not combine it answers as if nothing were grouped
    values = _DISPLAY_VALUES if shape.model_names == "display" else _USAGE_VALUES
    dimensions = [values[name] for name in grouping]
    groups: dict[tuple, Totals] = defaultdict(Totals)
    for line in all_lines:
        groups[(line.day, *(value(line) for value in dimensions))].add(line)
    labels = _labeller(grouping, GROUPINGS)
    rows = [{**groups[g].as_row(), "grouping": labels(g)} for g in sorted(groups)]
    if grouping and shape.drop_every:
        rows = [row for number, row in enumerate(rows, 1) if number % shape.drop_every]
    return {**answer_head(where), "results": rows}


def billing_breakdown(
    all_lines: Iterator[Line], where: UsageFilter, grouping: tuple[str, ...], noise: bool
) -> dict:
    """`/billing/breakdown`: Deepgram's cost in US dollars per day and group."""
    dimensions = [_BILLING_VALUES[name] for name in grouping]
    groups: dict[tuple, Decimal] = defaultdict(Decimal)
    for line in all_lines:
        groups[(line.day, *(value(line) for value in dimensions))] += line.cost()
    labels = _labeller(grouping, BILLING_GROUPINGS)
    rows = [
        {"dollars": _noisy(groups[g], n) if noise else number(groups[g]), "grouping": labels(g)}
        for n, g in enumerate(sorted(groups))
    ]
    return {**answer_head(where), "results": rows}


def _noisy(dollars: Decimal, number: int) -> float:
    """The amount as a float one step off (0.30000000000000004 for 0.3), up or down in turn
    (never below zero): it rounds back to the amount at 6 decimals, never through float."""
    exact = float(dollars)
    direction = -math.inf if number % 2 and exact > 0 else math.inf
    return math.nextafter(exact, direction)


def billing_fields(all_lines: Iterator[Line]) -> dict:
    """`/billing/fields`: the accessors, deployments, tags and line items (code: label) seen."""
    seen = list(all_lines)
    items = {line.line_item for line in seen}
    return {
        "accessors": sorted({line.key.api_key_id for line in seen}),
        "deployments": ["hosted"] if seen else [],
        "tags": sorted({tag for line in seen for tag in line.key.tags}),
        "line_items": {code: label for code, label in catalog.LINE_ITEMS.items() if code in items},
    }


def _labeller(grouping: tuple[str, ...], dimensions: tuple[str, ...]):
    """A group's `grouping` object: start and end days, then every dimension of the answer
    (null where not grouped by). Built for the answer's grouping once, as it runs per row."""
    templates: dict[date, dict] = {}

    def labels(group: tuple) -> dict:
        # A group is (day, *values), each value a string or a tuple of strings (a JSON array
        # as it goes out), never None, so groups sort as they are.
        day = group[0]
        template = templates.get(day)
        if template is None:
            text = day.isoformat()
            template = templates[day] = {"start": text, "end": text, **dict.fromkeys(dimensions)}
        row = template.copy()
        row.update(zip(grouping, group[1:], strict=True))
        return row

    return labels
