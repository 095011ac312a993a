"""Stacked daily bars as inline SVG, drawn on the server (no JavaScript): a unit's usage per
day with a series per line item, for the portal's usage page. Same frame as `usage.charts`.

Rules:
- One bar per day with usage, its segments stacked in the series' order (the largest total
  first, so the colours read the same on every day); the peak is the highest day's total.
- At most `MAX_SERIES` colours: beyond them the smallest series are drawn as one "Other".
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .charts import BOTTOM, HEIGHT, LEFT, TOP, WIDTH

# Colours that stay apart for most colour vision (Okabe and Ito's, darkened for contrast).
COLOURS = ("#2f5d8a", "#d55e00", "#009e73", "#b8860b", "#cc79a7", "#56b4e9", "#7a5195")
MAX_SERIES = len(COLOURS)
OTHER = "Other line items"


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    total: Decimal


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    value: Decimal
    series: Series


@dataclass(frozen=True)
class DayBar:
    x: float
    width: float
    day: date
    total: Decimal
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class StackedChart:
    bars: list[DayBar]
    series: list[Series]
    total: Decimal
    peak: Decimal
    start: date
    end: date
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM
    top: int = TOP

    @property
    def peak_short(self) -> str:
        """The peak in few letters, for the axis: 950, 12.3k, 2.3M."""
        return short_count(self.peak)


def short_count(value: Decimal) -> str:
    for size, suffix in ((Decimal(1_000_000), "M"), (Decimal(1000), "k")):
        if value >= size:
            return f"{(value / size).quantize(Decimal('0.1')).normalize():f}{suffix}"
    return f"{value.normalize():f}"


def stacked_daily_bars(
    series: list[tuple[str, dict[date, Decimal]]], *, start: date, end: date
) -> StackedChart:
    """A bar a day from `start` to `end`, each stacked by series (label, values by day)."""
    named = _at_most_colours([(label, values) for label, values in series if any(values.values())])
    days = (end - start).days + 1
    totals = {start + timedelta(n): Decimal(0) for n in range(days)}
    for _, values in named:
        for day, value in values.items():
            if day in totals:
                totals[day] += value
    peak = max(totals.values(), default=Decimal(0))
    legend = [
        Series(label, COLOURS[n], sum(values.values(), Decimal(0)))
        for n, (label, values) in enumerate(named)
    ]
    slot, usable = (WIDTH - LEFT - 4) / days, HEIGHT - BOTTOM - TOP
    bars = []
    for offset, (day, total) in enumerate(totals.items()):
        if not total or not peak:
            continue
        segments, floor = [], float(HEIGHT - BOTTOM)
        for entry, (_, values) in zip(legend, named, strict=True):
            value = values.get(day, Decimal(0))
            if value:
                height = float(value / peak) * usable
                floor -= height
                segments.append(Segment(floor, height, value, entry))
        bars.append(DayBar(LEFT + offset * slot + slot * 0.1, slot * 0.8, day, total,
                           tuple(segments)))  # fmt: skip
    return StackedChart(bars, legend, sum(totals.values(), Decimal(0)), peak, start, end)


def _at_most_colours(series: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The series by total, largest first; those beyond the colours summed as "Other"."""
    ranked = sorted(series, key=lambda s: -sum(s[1].values(), Decimal(0)))
    if len(ranked) <= MAX_SERIES:
        return ranked
    other: dict[date, Decimal] = {}
    for _, values in ranked[MAX_SERIES - 1 :]:
        for day, value in values.items():
            other[day] = other.get(day, Decimal(0)) + value
    return [*ranked[: MAX_SERIES - 1], (OTHER, other)]
