import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.concurrency import at_once
from usage.models import DailyCost, DailyUsage, SyncRun
from usage.services import (
    RunChunk,
    SyncTotals,
    stale_after,
    sync_chunk_claim,
    sync_run_beat,
    sync_run_pending,
    sync_run_record,
    sync_run_start,
    sync_run_take_over,
    usage_sync_run,
)


def start(chunks=([1, 2], [3]), trigger=SyncRun.Trigger.BEAT):
    return sync_run_start(trigger=trigger, chunks=[list(chunk) for chunk in chunks])


def age(run, seconds):
    """Make the run's heartbeat `seconds` older than the staleness bound."""
    SyncRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - stale_after() - timedelta(seconds=seconds)
    )
    run.refresh_from_db()
    return run


def test_it_runs_one_sync_at_a_time(db):
    first = start()

    assert start(trigger=SyncRun.Trigger.COMMAND) is None
    assert SyncRun.objects.get() == first
    assert (first.keys_total, first.chunks, first.resumed) == (3, [[1, 2], [3]], False)


def test_it_derives_the_staleness_bound_from_the_clients_timeouts_and_retries(settings):
    settings.SYNC_RUN_STALE_SECONDS = 0
    settings.DEEPGRAM_MAX_RETRIES, settings.SYNC_HEARTBEAT_SECONDS = 4, 15
    settings.DEEPGRAM_CONNECT_TIMEOUT, settings.DEEPGRAM_READ_TIMEOUT = 5, 30
    settings.DEEPGRAM_CALL_DEADLINE = 20

    # 5 tries of at most 20 s each, 4 waits of at most 120 s (Retry-After's cap), a heartbeat.
    assert stale_after() == timedelta(seconds=5 * 20 + 4 * 120 + 15)

    settings.DEEPGRAM_CALL_DEADLINE = 0  # no deadline: a try is bounded by its timeouts
    assert stale_after() == timedelta(seconds=5 * (5 + 30) + 4 * 120 + 15)

    settings.SYNC_RUN_STALE_SECONDS = 90
    assert stale_after() == timedelta(seconds=90)


def test_it_leaves_a_run_that_beats_alone(db):
    run = start()
    age(run, -30)  # 30 s short of stale

    assert start() is None
    assert SyncRun.objects.get().token == run.token


def test_it_takes_over_a_stale_run_keeping_its_done_chunks(db):
    stale = start(chunks=([1, 2], [3], [4]))
    sync_run_record(run_id=stale.pk, totals=SyncTotals(keys_ok=2), chunk=0, token=str(stale.token))
    age(stale, 1)

    taken = start(chunks=([9],), trigger=SyncRun.Trigger.COMMAND)

    assert (taken.pk, taken.resumed, taken.takeovers) == (stale.pk, True, 1)
    assert taken.token != stale.token
    assert taken.heartbeat_at > stale.heartbeat_at
    assert sync_run_pending(taken) == [(1, [3]), (2, [4])]
    assert (taken.keys_ok, taken.trigger, SyncRun.objects.count()) == (2, "beat", 1)


def test_of_two_takers_of_the_same_stale_run_exactly_one_wins(db):
    stale = age(start(), 1)
    seen_by_both = SyncRun.objects.get(pk=stale.pk)

    first = sync_run_take_over(seen_by_both)
    second = sync_run_take_over(seen_by_both)

    assert first is not None and second is None
    assert SyncRun.objects.get().token == first.token != stale.token


def test_a_taker_loses_when_the_run_beats_again_in_between(db):
    stale = age(start(), 1)
    assert sync_run_beat(RunChunk(stale.pk, None, str(stale.token)))

    assert sync_run_take_over(stale) is None


def test_it_abandons_a_stale_run_of_an_older_release_without_a_plan(db):
    legacy = SyncRun.objects.create(
        trigger="beat", started_at=timezone.now(), keys_total=5, heartbeat_at=timezone.now()
    )
    age(legacy, 1)

    fresh = start()

    legacy.refresh_from_db()
    assert legacy.status == SyncRun.Status.ABANDONED
    assert fresh.pk != legacy.pk and not fresh.resumed


def test_a_former_owner_can_neither_beat_nor_record(db, caplog):
    run = start(chunks=([1],))
    old = RunChunk(run.pk, 0, str(run.token))
    taken = sync_run_take_over(age(run, 1))

    with caplog.at_level(logging.WARNING, logger="usage.services.runs"):
        assert not sync_run_beat(old)
        assert not sync_chunk_claim(old)
        late = sync_run_record(
            run_id=run.pk, totals=SyncTotals(keys_ok=1), chunk=0, token=old.token
        )

    assert (late.keys_ok, late.done_chunks, late.status) == (0, [], SyncRun.Status.RUNNING)
    assert "the run was taken over" in caplog.text
    assert sync_chunk_claim(RunChunk(run.pk, 0, str(taken.token)))


@pytest.mark.parametrize(
    ("ok", "failed", "status"),
    [
        (3, 0, SyncRun.Status.SUCCEEDED),
        (2, 1, SyncRun.Status.PARTIAL),
        (0, 3, SyncRun.Status.FAILED),
    ],
)
def test_it_closes_a_run_when_every_key_is_counted(db, ok, failed, status):
    run = start()
    half = SyncTotals(keys_ok=min(ok, 1), keys_failed=0, api_calls=1)
    rest = SyncTotals(keys_ok=ok - half.keys_ok, keys_failed=failed, api_calls=2)
    rest.errors_by_kind["ServerError"] = failed

    assert sync_run_record(run_id=run.pk, totals=half).status == (
        SyncRun.Status.RUNNING if half.keys_ok < 3 else status
    )
    closed = sync_run_record(run_id=run.pk, totals=rest)

    assert closed.status == status
    assert closed.finished_at is not None
    assert closed.api_calls == 3
    assert closed.errors_by_kind == ({"ServerError": failed} if failed else {})


def test_it_counts_a_redelivered_chunk_once(db):
    run = start(chunks=([1, 2], [3, 4]))
    chunk = SyncTotals(keys_ok=2, api_calls=2)

    sync_run_record(run_id=run.pk, totals=chunk, chunk=0)
    again = sync_run_record(run_id=run.pk, totals=chunk, chunk=0)

    assert (again.keys_ok, again.api_calls, again.status) == (2, 2, SyncRun.Status.RUNNING)
    assert sync_run_record(run_id=run.pk, totals=chunk, chunk=1).status == (
        SyncRun.Status.SUCCEEDED
    )


def test_the_keys_a_chunk_left_become_a_chunk_the_run_waits_for(db):
    run = start(chunks=([1, 2, 3],))
    token = str(run.token)

    ended = sync_run_record(
        run_id=run.pk, totals=SyncTotals(keys_ok=1), chunk=0, token=token, leftover=[2, 3]
    )

    assert (ended.leftover_chunk, ended.status) == (1, SyncRun.Status.RUNNING)
    assert sync_run_pending(ended) == [(1, [2, 3])]
    done = sync_run_record(run_id=run.pk, totals=SyncTotals(keys_ok=2), chunk=1, token=token)
    assert (done.status, done.keys_ok, done.done_chunks) == (SyncRun.Status.SUCCEEDED, 3, [0, 1])


def test_it_records_a_whole_run_chunk_by_chunk(make_key, customer_a, customer_b, settings):
    settings.USAGE_SYNC_CHUNK_SIZE = 1
    created = datetime(2026, 10, 1, tzinfo=UTC)
    keys = [make_key(customer_a, created=created), make_key(customer_b, created=created)]

    run = usage_sync_run(trigger=SyncRun.Trigger.COMMAND, key_ids=[k.pk for k in keys])

    # Each chunk asks about the project as a whole: four calls a range, twice; the first one
    # also the billing fields (its line items were new), the second knows them.
    assert (run.status, run.keys_total, run.keys_ok, run.api_calls) == (
        SyncRun.Status.SUCCEEDED,
        2,
        2,
        9,
    )
    assert run.calls_by_endpoint == {
        "usage/breakdown": 4,
        "billing/breakdown": 4,
        "billing/fields": 1,
    }
    assert (run.chunks, sorted(run.done_chunks)) == ([[keys[0].pk], [keys[1].pk]], [0, 1])
    assert run.rows_created == DailyUsage.objects.count() > 0
    assert DailyCost.objects.count() > 0


def test_a_run_asks_about_each_project_once_whatever_its_keys(make_key, customer_a, customer_b):
    created = datetime(2026, 10, 1, tzinfo=UTC)
    keys = [make_key(c, created=created) for c in (customer_a, customer_b, customer_a)]

    run = usage_sync_run(trigger=SyncRun.Trigger.COMMAND, key_ids=[k.pk for k in keys])

    assert (run.status, run.keys_ok, run.api_calls, len(run.chunks)) == (
        SyncRun.Status.SUCCEEDED,
        3,
        5,
        1,
    )
    assert run.differences == [] and run.cost_unread == {}


def test_a_resumed_run_fetches_only_its_chunks_not_done(
    make_key, customer_a, customer_b, settings, sandbox
):
    settings.USAGE_SYNC_CHUNK_SIZE = 1
    created = datetime(2026, 10, 1, tzinfo=UTC)
    keys = [make_key(c, created=created) for c in (customer_a, customer_b, customer_a)]
    stale = start(chunks=[[key.pk] for key in keys])
    sync_run_record(run_id=stale.pk, totals=SyncTotals(keys_ok=1), chunk=0, token=str(stale.token))
    age(stale, 1)
    sandbox.calls.clear()

    run = usage_sync_run(trigger=SyncRun.Trigger.COMMAND, key_ids=[keys[0].pk])

    # Chunk 0 is not read again: the two chunks not done ask four calls each (and the first
    # of them the billing fields, for its new line items).
    assert len(sandbox.calls) == 9
    assert (run.pk, run.resumed, run.status, run.keys_ok, sorted(run.done_chunks)) == (
        stale.pk,
        True,
        SyncRun.Status.SUCCEEDED,
        3,
        [0, 1, 2],
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_does_one_runs_work_when_two_start_at_once(make_key, customer_a, customer_b):
    created = datetime(2026, 10, 1, tzinfo=UTC)
    key_ids = [make_key(c, created=created).pk for c in (customer_a, customer_b, customer_a)]
    outcomes, errors = at_once(
        lambda: usage_sync_run(trigger=SyncRun.Trigger.BEAT, key_ids=key_ids, concurrency=2), 2
    )
    assert errors == []

    runs = [run for run in outcomes if run is not None]
    assert len(runs) == 1 and outcomes.count(None) == 1
    assert SyncRun.objects.count() == 1
    assert runs[0].status == SyncRun.Status.SUCCEEDED
    assert runs[0].rows_created == DailyUsage.objects.count()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_runs_get_a_token_each_and_a_heartbeat_when_migrated():
    executor = MigrationExecutor(connection)
    executor.migrate([("usage", "0005_method_label_not_split")])
    old = executor.loader.project_state([("usage", "0005_method_label_not_split")]).apps
    started = datetime(2026, 11, 1, tzinfo=UTC)
    OldRun = old.get_model("usage", "SyncRun")
    OldRun.objects.create(trigger="beat", status="running", started_at=started, keys_total=2)
    OldRun.objects.create(
        trigger="beat", status="succeeded", started_at=started, finished_at=started + timedelta(1)
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    running, done = SyncRun.objects.order_by("pk")
    assert running.token != done.token
    assert (running.heartbeat_at, done.heartbeat_at) == (started, started + timedelta(1))
    assert (running.chunks, running.takeovers) == ([], 0)
