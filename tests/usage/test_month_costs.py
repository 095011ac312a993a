"""Deepgram's dollars per key and month, kept summed for the Margin page (usage.month_costs):
summed whole on the first read, then only the keys changed since; rows moved in from
unassigned usage (older `changed_at`) are seen once the month is forgotten."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from usage.models import CostMonth, DailyCost, MonthlyCost
from usage.month_costs import NEVER, SETTLE, forget_key, month_costs, sum_synced_months

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def put_cost():
    def put(key, day, dollars, *, changed_at=None):
        at = changed_at or timezone.now()
        DailyCost.objects.update_or_create(
            api_key=key,
            day=day,
            line_item="streaming::nova-3",
            defaults={"dollars": D(dollars), "first_seen_at": at, "changed_at": at},
        )

    return put


@pytest.fixture
def keys(customer_a, customer_b, key_of):
    return key_of(customer_a), key_of(customer_b)


def test_a_month_is_summed_whole_once_then_only_the_keys_changed_since(
    keys, put_cost, django_assert_num_queries
):
    one, two = keys
    put_cost(one, date(2026, 10, 3), "1.250000")
    put_cost(one, date(2026, 10, 4), "0.500000")
    put_cost(two, date(2026, 10, 4), "2.000000")
    put_cost(two, date(2026, 11, 1), "9.000000")  # another month

    assert month_costs(*OCTOBER) == {one.pk: D("1.75"), two.pk: D("2")}
    state = CostMonth.objects.get(month=OCTOBER[0])
    assert timezone.now() - SETTLE - timedelta(seconds=5) < state.summed_at < timezone.now()

    put_cost(two, date(2026, 10, 4), "3.000000")  # a late correction, after the sums
    assert month_costs(*OCTOBER) == {one.pk: D("1.75"), two.pk: D("3")}

    # Settled: nothing changed since the last read (as if it were long ago).
    CostMonth.objects.filter(month=OCTOBER[0]).update(summed_at=timezone.now())
    with django_assert_num_queries(7):  # get or create, lock, changed keys, save, read, tx
        assert month_costs(*OCTOBER) == {one.pk: D("1.75"), two.pk: D("3")}
    assert MonthlyCost.objects.filter(month=OCTOBER[0]).count() == 2


def test_rows_stored_with_an_older_change_time_are_seen_once_the_month_is_forgotten(keys, put_cost):
    one, two = keys
    put_cost(one, date(2026, 10, 3), "1.000000")
    month_costs(*OCTOBER)
    CostMonth.objects.update(summed_at=timezone.now())
    long_ago = datetime(2026, 10, 5, tzinfo=UTC)
    put_cost(two, date(2026, 10, 5), "4.000000", changed_at=long_ago)  # as moved in

    assert two.pk not in month_costs(*OCTOBER)
    forget_key(two.pk, date(2026, 10, 5))
    assert CostMonth.objects.get(month=OCTOBER[0]).summed_at == NEVER
    assert month_costs(*OCTOBER) == {one.pk: D("1"), two.pk: D("4")}


def test_the_worker_brings_the_current_and_previous_months_up_to_date(
    keys, put_cost, django_assert_max_num_queries
):
    one, two = keys
    put_cost(one, date(2026, 11, 30), "1.000000")
    put_cost(two, date(2026, 12, 1), "2.000000")
    put_cost(two, date(2026, 10, 31), "4.000000")  # two months back: not this task's

    assert sum_synced_months(date(2026, 12, 2)) == {"2026-11": 1, "2026-12": 1}

    assert not CostMonth.objects.filter(month=date(2026, 10, 1)).exists()
    for first in (date(2026, 11, 1), date(2026, 12, 1)):
        # Settled since: the Margin page's next read of the month sums nothing again.
        CostMonth.objects.filter(month=first).update(summed_at=timezone.now())
        with django_assert_max_num_queries(7):
            month_costs(first, first.replace(day=30))


def test_a_finished_sync_queues_the_sums_for_once_its_rows_have_settled(db):
    from celery.signals import before_task_publish

    from usage.models import SyncRun
    from usage.signals import usage_synced

    sent = []

    def seen(sender=None, headers=None, **kwargs):
        sent.append((sender, headers.get("eta")))

    before_task_publish.connect(seen)
    try:
        usage_synced.send(sender=SyncRun, run_id=1)
    finally:
        before_task_publish.disconnect(seen)

    [eta] = [e for n, e in sent if n == "usage.tasks.usage_sum_month_costs"]
    wait = datetime.fromisoformat(eta) - datetime.now(UTC)
    assert SETTLE < wait <= SETTLE + timedelta(minutes=1)
