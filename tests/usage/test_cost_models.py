"""Deepgram's cost per key, day and line item (`DailyCost`), written like usage: a window
replaced as a whole, exact Decimals with 6 places, corrections with old and new dollars, a line
item no longer reported zeroed; and the same writer for usage by line item, where a backfill by
model supersedes the "model not reported" rows instead of adding to them."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from usage.models import CostCorrection, DailyCost, DailyUsage, SyncRun, UsageCorrection
from usage.services import KEY_COST, KEY_USAGE, store_day_rows

pytestmark = pytest.mark.django_db

DAY = date(2026, 10, 3)
WINDOW = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def key(customer_a, key_of):
    return key_of(customer_a)


def store_cost(key, rows: dict[tuple[date, str], str], run_id=None):
    return store_day_rows(
        KEY_COST,
        {key.pk: {k: (D(v),) for k, v in rows.items()}},
        {key.pk: WINDOW},
        run_id=run_id,
    )[key.pk]


def cost(key) -> dict[tuple[date, str], D]:
    return {(c.day, c.line_item): c.dollars for c in DailyCost.objects.filter(api_key=key)}


# --- Cost -----------------------------------------------------------------------------------


def test_it_stores_deepgrams_dollars_per_line_item_exactly(key):
    created = store_cost(
        key,
        {(DAY, "streaming::nova-3"): "0.300000", (DAY, "sync::aura-2"): "123456789.123456"},
    )

    assert created == (2, 0)
    assert cost(key) == {
        (DAY, "streaming::nova-3"): D("0.300000"),
        (DAY, "sync::aura-2"): D("123456789.123456"),
    }
    assert all(isinstance(v, D) for v in cost(key).values())


def test_it_changes_nothing_the_second_time(key):
    rows = {(DAY, "streaming::nova-3"): "0.300000"}
    store_cost(key, rows)
    before = list(DailyCost.objects.values())

    assert store_cost(key, rows) == (0, 0)
    assert list(DailyCost.objects.values()) == before
    assert not CostCorrection.objects.exists()


def test_it_records_a_late_correction_of_dollars(key):
    run = SyncRun.objects.create(trigger=SyncRun.Trigger.BEAT, started_at=timezone.now())
    store_cost(key, {(DAY, "streaming::nova-3"): "0.300000"})

    assert store_cost(key, {(DAY, "streaming::nova-3"): "0.310001"}, run.pk) == (0, 1)

    correction = CostCorrection.objects.get()
    assert (correction.old_dollars, correction.new_dollars) == (D("0.300000"), D("0.310001"))
    assert (correction.run, correction.cost.dollars) == (run, D("0.310001"))


def test_it_zeroes_a_line_item_deepgram_no_longer_reports(key):
    store_cost(key, {(DAY, "streaming::nova-3"): "0.300000", (DAY, "sync::nova-3"): "0.1"})

    assert store_cost(key, {(DAY, "streaming::nova-3"): "0.300000"}) == (0, 1)

    assert cost(key)[(DAY, "sync::nova-3")] == D(0)
    assert CostCorrection.objects.get().old_dollars == D("0.100000")


def test_it_leaves_days_outside_the_window_alone(key):
    store_day_rows(
        KEY_COST,
        {key.pk: {(date(2026, 9, 30), "sync::nova-3"): (D("5"),)}},
        {key.pk: (date(2026, 9, 30), date(2026, 9, 30))},
        run_id=None,
    )

    store_cost(key, {(DAY, "sync::nova-3"): "1"})

    assert cost(key)[(date(2026, 9, 30), "sync::nova-3")] == D("5.000000")


def test_it_keeps_one_cost_row_per_key_day_and_line_item(key):
    store_cost(key, {(DAY, "sync::nova-3"): "1"})
    now = timezone.now()

    with pytest.raises(IntegrityError), transaction.atomic():
        DailyCost.objects.create(
            api_key=key,
            day=DAY,
            line_item="sync::nova-3",
            dollars=D("2"),
            first_seen_at=now,
            changed_at=now,
        )


def test_it_keeps_six_decimal_places_of_dollars():
    field = DailyCost._meta.get_field("dollars")

    assert (field.max_digits, field.decimal_places) == (16, 6)
    assert CostCorrection._meta.get_field("new_dollars").decimal_places == 6


# --- Usage by line item ---------------------------------------------------------------------


def units(hours="0", *, characters=0, agent="0", tokens=(0, 0), requests=1):
    return (D(hours), D(hours), D(agent), characters, tokens[0], tokens[1], requests)


def store_usage(key, rows: dict[tuple, tuple]):
    return store_day_rows(KEY_USAGE, {key.pk: rows}, {key.pk: WINDOW}, run_id=None)[key.pk]


def test_it_stores_every_unit_of_every_line_item(key):
    store_usage(
        key,
        {
            (DAY, "listen", "streaming", "nova-3"): units("1.250000", requests=3),
            (DAY, "speak", "sync", "aura-2"): units(characters=91588, requests=7),
            (DAY, "agent", "streaming", "voice-agent"): units(agent="0.413400", requests=2),
            (DAY, "read", "sync", "text-intelligence"): units(tokens=(1200, 340)),
        },
    )

    stored = {
        (r.endpoint, r.method, r.model): (
            r.hours,
            r.agent_hours,
            r.tts_characters,
            r.tokens_in,
            r.tokens_out,
            r.requests,
        )
        for r in DailyUsage.objects.filter(api_key=key)
    }
    assert stored == {
        ("listen", "streaming", "nova-3"): (D("1.25"), D(0), 0, 0, 0, 3),
        ("speak", "sync", "aura-2"): (D(0), D(0), 91588, 0, 0, 7),
        ("agent", "streaming", "voice-agent"): (D(0), D("0.4134"), 0, 0, 0, 2),
        ("read", "sync", "text-intelligence"): (D(0), D(0), 0, 1200, 340, 1),
    }


def test_a_backfill_by_model_supersedes_the_model_not_reported_row(key):
    store_usage(key, {(DAY, "", "streaming", ""): units("3.000000", requests=5)})

    created, changed = store_usage(
        key,
        {
            (DAY, "listen", "streaming", "nova-3"): units("2.000000", requests=3),
            (DAY, "listen", "streaming", "nova-2"): units("1.000000", requests=2),
        },
    )

    assert (created, changed) == (2, 1)
    rows = DailyUsage.objects.filter(api_key=key, day=DAY)
    assert sum(r.total_hours for r in rows) == D("3.000000")
    assert sum(r.requests for r in rows) == 5
    old = rows.get(model="")
    assert (old.hours, old.total_hours, old.requests) == (D(0), D(0), 0)
    correction = UsageCorrection.objects.get()
    assert (correction.usage, correction.old_total_hours, correction.new_total_hours) == (
        old,
        D("3.000000"),
        D(0),
    )
    assert (correction.old_requests, correction.new_requests) == (5, 0)


def test_it_records_a_correction_of_the_new_units(key):
    store_usage(key, {(DAY, "speak", "sync", "aura-2"): units(characters=1000)})

    store_usage(key, {(DAY, "speak", "sync", "aura-2"): units(characters=1500)})

    correction = UsageCorrection.objects.get()
    assert (correction.old_tts_characters, correction.new_tts_characters) == (1000, 1500)
    assert (correction.old_hours, correction.new_hours) == (D(0), D(0))


def test_it_never_stores_null_for_what_deepgram_did_not_report(key):
    now = timezone.now()
    row = DailyUsage.objects.create(
        api_key=key, day=DAY, hours=D(1), total_hours=D(1), first_seen_at=now, changed_at=now
    )

    row.refresh_from_db()
    assert (row.endpoint, row.method, row.model) == ("", "all", "")
    assert (row.agent_hours, row.tts_characters, row.tokens_in, row.tokens_out) == (0, 0, 0, 0)
