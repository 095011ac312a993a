"""A bar chart of daily hours as inline SVG, drawn on the server (no JavaScript)."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 180, 48, 22, 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    hours: Decimal


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
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
    def plot_width(self) -> int:
        return self.width - self.left

    @property
    def plot_height(self) -> int:
        return self.baseline - self.top

    @property
    def bars_path(self) -> str:
        """All bars as one SVG path (one element to draw, where print renderers are slow
        with many)."""
        return " ".join(
            f"M{bar.x:.2f} {bar.y + bar.height:.2f}v-{bar.height:.2f}h{bar.width:.2f}"
            f"v{bar.height:.2f}z"
            for bar in self.bars
        )


def daily_bars(hours_by_day: dict[date, Decimal], *, end: date, days: int) -> Chart:
    """One bar per day from `end - days + 1` to `end`; days without usage get no bar."""
    start = end - timedelta(days=days - 1)
    hours_by_day = {day: hours for day, hours in hours_by_day.items() if start <= day <= end}
    peak = max(hours_by_day.values(), default=Decimal(0))
    plot_width = WIDTH - LEFT - 4
    slot = plot_width / days
    usable = HEIGHT - BOTTOM - TOP
    bars = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        hours = hours_by_day.get(day, Decimal(0))
        if not hours or not peak:
            continue
        height = float(hours / peak) * usable
        bars.append(
            Bar(
                x=LEFT + offset * slot + slot * 0.1,
                y=HEIGHT - BOTTOM - height,
                width=slot * 0.8,
                height=height,
                day=day,
                hours=hours,
            )
        )
    return Chart(
        bars=bars, total=sum(hours_by_day.values(), Decimal(0)), peak=peak, start=start, end=end
    )
