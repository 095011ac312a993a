"""The daily usage chart: `daily_bars` on its own, and the inline SVG on a customer's admin page."""

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import ApiKey
from usage.charts import BOTTOM, HEIGHT, LEFT, TOP, WIDTH, daily_bars
from usage.models import DailyUsage, Method
from usage.services import usage_sync_keys, utc_today

END = date(2026, 10, 31)
USABLE = HEIGHT - BOTTOM - TOP  # the height of the peak day's bar


# --- daily_bars -----------------------------------------------------------------------------


def test_it_draws_one_bar_per_day_with_usage():
    hours = {
        date(2026, 10, 3): Decimal("1.500000"),
        date(2026, 10, 1): Decimal("0.250000"),
        date(2026, 10, 2): Decimal("0"),
        date(2026, 10, 7): Decimal("3.000000"),
    }

    chart = daily_bars(hours, end=date(2026, 10, 7), days=7)

    assert [bar.day for bar in chart.bars] == [
        date(2026, 10, 1),
        date(2026, 10, 3),
        date(2026, 10, 7),
    ]
    assert [bar.hours for bar in chart.bars] == [
        Decimal("0.250000"),
        Decimal("1.500000"),
        Decimal("3.000000"),
    ]
    assert (chart.start, chart.end) == (date(2026, 10, 1), date(2026, 10, 7))


def test_it_scales_the_bars_to_the_peak_day():
    hours = {
        date(2026, 10, 29): Decimal("4.000000"),
        date(2026, 10, 30): Decimal("1.000000"),
        date(2026, 10, 31): Decimal("2.000000"),
    }

    chart = daily_bars(hours, end=END, days=3)

    heights = [bar.height for bar in chart.bars]
    assert heights == [pytest.approx(USABLE), pytest.approx(USABLE / 4), pytest.approx(USABLE / 2)]
    for bar in chart.bars:
        assert bar.y + bar.height == pytest.approx(HEIGHT - BOTTOM)  # standing on the baseline


def test_it_places_the_days_left_to_right_inside_the_plot():
    hours = {END - timedelta(days=n): Decimal("1.000000") for n in range(60)}

    chart = daily_bars(hours, end=END, days=60)

    xs = [bar.x for bar in chart.bars]
    assert len(chart.bars) == 60
    assert xs == sorted(xs)
    assert chart.bars[0].x > LEFT
    assert chart.bars[-1].x + chart.bars[-1].width < WIDTH
    for left, right in itertools.pairwise(chart.bars):
        assert left.x + left.width < right.x


def test_it_totals_and_peaks_in_exact_decimals():
    hours = {
        date(2026, 10, 29): Decimal("0.100001"),
        date(2026, 10, 30): Decimal("0.200002"),
        date(2026, 10, 31): Decimal("0.300003"),
    }

    chart = daily_bars(hours, end=END, days=60)

    assert chart.total == Decimal("0.600006")
    assert chart.peak == Decimal("0.300003")
    assert isinstance(chart.total, Decimal) and isinstance(chart.peak, Decimal)


def test_it_draws_no_bars_without_usage():
    chart = daily_bars({}, end=END, days=60)

    assert chart.bars == []
    assert (chart.total, chart.peak) == (Decimal(0), Decimal(0))


def test_it_draws_no_bars_for_days_of_zero_hours():
    chart = daily_bars(
        {END: Decimal("0.000000"), END - timedelta(days=1): Decimal(0)}, end=END, days=7
    )

    assert chart.bars == []
    assert chart.total == Decimal(0)


def test_it_ignores_usage_outside_its_days():
    hours = {
        date(2026, 10, 24): Decimal("9.000000"),  # the day before the 7
        date(2026, 10, 25): Decimal("1.000000"),
        date(2026, 10, 31): Decimal("2.000000"),
        date(2026, 11, 1): Decimal("8.000000"),  # the day after
    }

    chart = daily_bars(hours, end=END, days=7)

    assert [bar.day for bar in chart.bars] == [date(2026, 10, 25), date(2026, 10, 31)]
    assert chart.total == Decimal("3.000000")
    assert chart.peak == Decimal("2.000000")
    assert chart.bars[-1].height == pytest.approx(USABLE)


# --- On the customer's admin page -----------------------------------------------------------


@pytest.fixture
def client(db):
    """The web client (the usage conftest's `client` is the Deepgram one)."""
    return Client()


def usage(key, day, total_hours, method=Method.ALL):
    now = timezone.now()
    DailyUsage.objects.create(
        api_key=key,
        day=day,
        method=method,
        hours=Decimal(total_hours),
        total_hours=Decimal(total_hours),
        requests=1,
        first_seen_at=now,
        changed_at=now,
    )


def chart_of(client, customer) -> str:
    response = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert response.status_code == 200
    return response.text


def svg_of(page: str) -> str:
    """The chart's SVG (the admin's own icons are SVGs too, without rects)."""
    charts = re.findall(r'<svg role="img".*?</svg>', page, re.DOTALL)
    assert len(charts) == 1
    return charts[0]


@pytest.fixture
def two_customers_usage(customer_a, customer_b, key_of):
    """Seen from 2026-10-31: Acme used three days of the last 60, Globex two others."""
    a, b = key_of(customer_a), key_of(customer_b)
    usage(a, date(2026, 9, 1), "99.000000")  # 61 days back: outside the chart
    usage(a, date(2026, 9, 2), "1.250000")  # the chart's first day
    usage(a, date(2026, 10, 10), "0.000000")  # a zeroed day: no bar
    usage(a, date(2026, 10, 15), "0.500000", Method.SYNC)  # three methods, one day, one bar
    usage(a, date(2026, 10, 15), "0.250000", Method.ASYNC)
    usage(a, date(2026, 10, 15), "0.250000", Method.STREAMING)
    usage(a, date(2026, 10, 31), "2.500000")  # today
    usage(b, date(2026, 10, 20), "50.000000")
    usage(b, date(2026, 10, 21), "40.000000")


@pytest.fixture
def on_the_31st():
    with time_machine.travel(datetime(2026, 10, 31, 15, tzinfo=UTC)):
        yield


def test_it_draws_a_bar_per_day_with_usage_on_the_customer_page(
    client, support_user, customer_a, two_customers_usage, on_the_31st
):
    client.force_login(support_user)

    page = chart_of(client, customer_a)

    svg = svg_of(page)
    assert svg.count("<rect") == 3
    titles = re.findall(r"<title>(.*?)</title>", svg)
    assert titles == [
        "Wed 2 Sep 2026: 1.250 h",
        "Thu 15 Oct 2026: 1.000 h",
        "Sat 31 Oct 2026: 2.500 h",
    ]
    assert 'height="148.00"' in svg  # the peak day
    assert "4.75 hours in total; the highest day had 2.50 hours." in page
    assert "Daily usage, last 60 days (UTC)" in page


def test_it_never_shows_another_customers_usage(
    client, support_user, customer_b, two_customers_usage, on_the_31st
):
    client.force_login(support_user)

    page = chart_of(client, customer_b)

    svg = svg_of(page)
    assert svg.count("<rect") == 2
    assert re.findall(r"<title>(.*?)</title>", svg) == [
        "Tue 20 Oct 2026: 50.000 h",
        "Wed 21 Oct 2026: 40.000 h",
    ]
    assert "90.00 hours in total; the highest day had 50.00 hours." in page


def test_it_says_so_when_a_customer_has_no_usage(
    client, support_user, customer_a, customer_b, key_of, on_the_31st
):
    usage(key_of(customer_b), date(2026, 10, 30), "3.000000")
    usage(key_of(customer_a), date(2026, 8, 1), "3.000000")  # too long ago
    client.force_login(support_user)

    page = chart_of(client, customer_a)

    assert "No billed hours (every channel) in the last 60 days." in page
    assert '<svg role="img"' not in page
    assert "<rect" not in page


def test_it_charts_the_usage_the_sync_stored(
    client, support_user, make_key, customer_a, customer_b
):
    key = make_key(customer_a)
    make_key(customer_b)
    usage_sync_keys(key_ids=list(ApiKey.objects.values_list("pk", flat=True)))
    today = utc_today()
    days = set(
        DailyUsage.objects.filter(
            api_key=key, day__gt=today - timedelta(days=60), total_hours__gt=0
        ).values_list("day", flat=True)
    )
    client.force_login(support_user)

    svg = svg_of(chart_of(client, customer_a))

    assert len(days) > 20
    assert svg.count("<rect") == len(days)
    for day in days:
        assert f"<title>{day:%a} {day.day} {day:%b %Y}: " in svg


def test_it_shows_one_unit_at_a_time(client, finance_user, make_key, customer_a):
    from billing_portal.deepgram import client_from_settings
    from usage.services import usage_sync_key

    key = make_key(customer_a, created=datetime(2026, 10, 1, tzinfo=UTC))
    usage_sync_key(api_key=key, client=client_from_settings(), today=END)
    client.force_login(finance_user)
    url = reverse("admin:customers_customer_change", args=[customer_a.pk])

    hours = client.get(url).content.decode()
    characters = client.get(url, {"chart_unit": "tts_characters"}).content.decode()
    unknown = client.get(url, {"chart_unit": "dollars"}).content.decode()

    assert "billed hours (every channel)" in hours and "<strong>Billed hours" in hours
    assert "text-to-speech characters" in characters
    assert '<a href="?chart_unit=total_hours">' in characters
    assert " characters</title>" in characters
    assert "billed hours (every channel)" in unknown  # anything else: the default
