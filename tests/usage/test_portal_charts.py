"""The portal's stacked daily bars: a series per line item, stacked in one order, at most
as many colours as it has (the rest as "Other line items")."""

from datetime import date
from decimal import Decimal as D

from usage.portal_charts import COLOURS, OTHER, short_count, stacked_daily_bars

NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)


def test_it_stacks_each_day_with_the_largest_series_at_the_bottom():
    chart = stacked_daily_bars(
        [("Small", {NOV_1: D("1")}), ("Large", {NOV_1: D("3"), date(2026, 11, 2): D("2")})],
        start=NOV_1,
        end=NOV_30,
    )

    assert [s.label for s in chart.series] == ["Large", "Small"]
    assert (chart.total, chart.peak) == (D("6"), D("4"))
    first = chart.bars[0]
    assert [s.series.label for s in first.segments] == ["Large", "Small"]
    large, small = first.segments
    assert large.y + large.height == chart.baseline  # the first sits on the axis
    assert small.y + small.height == large.y and small.y == chart.top  # the peak day is full


def test_beyond_its_colours_the_smallest_series_are_one_other():
    series = [(f"Model {n}", {NOV_1: D(n + 1)}) for n in range(len(COLOURS) + 2)]

    chart = stacked_daily_bars(series, start=NOV_1, end=NOV_30)

    assert len(chart.series) == len(COLOURS)
    assert chart.series[-1].label == OTHER and chart.series[-1].total == D(1 + 2 + 3)
    assert chart.total == sum(D(n + 1) for n in range(len(series)))


def test_a_month_without_usage_has_no_bars():
    chart = stacked_daily_bars([("Nova-3", {NOV_1: D(0)})], start=NOV_1, end=NOV_30)

    assert chart.bars == [] and chart.series == [] and chart.peak == 0


def test_the_axis_reads_large_counts_short():
    assert [short_count(D(n)) for n in (950, 12_345, 2_345_678, 1_000_000)] == [
        "950",
        "12.3k",
        "2.3M",
        "1M",
    ]
