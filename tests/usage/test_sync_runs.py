import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from usage.models import DailyUsage, SyncRun
from usage.services import SyncTotals, sync_run_record, sync_run_start, usage_sync_run


def test_it_runs_one_sync_at_a_time(db):
    first = sync_run_start(trigger=SyncRun.Trigger.BEAT, keys_total=3)

    assert sync_run_start(trigger=SyncRun.Trigger.COMMAND, keys_total=3) is None
    assert SyncRun.objects.get() == first


def test_it_abandons_a_run_left_running_too_long(db, settings):
    stuck = sync_run_start(trigger=SyncRun.Trigger.BEAT, keys_total=3)
    SyncRun.objects.filter(pk=stuck.pk).update(
        started_at=timezone.now() - timedelta(hours=settings.SYNC_RUN_STALE_HOURS + 1)
    )

    fresh = sync_run_start(trigger=SyncRun.Trigger.BEAT, keys_total=1)

    stuck.refresh_from_db()
    assert fresh is not None
    assert stuck.status == SyncRun.Status.ABANDONED


@pytest.mark.parametrize(
    ("ok", "failed", "status"),
    [
        (3, 0, SyncRun.Status.SUCCEEDED),
        (2, 1, SyncRun.Status.PARTIAL),
        (0, 3, SyncRun.Status.FAILED),
    ],
)
def test_it_closes_a_run_when_every_key_is_counted(db, ok, failed, status):
    run = sync_run_start(trigger=SyncRun.Trigger.BEAT, keys_total=3)
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


def test_it_records_a_whole_run(make_key, customer_a, customer_b):
    created = datetime(2026, 10, 1, tzinfo=UTC)
    keys = [make_key(customer_a, created=created), make_key(customer_b, created=created)]

    run = usage_sync_run(trigger=SyncRun.Trigger.COMMAND, key_ids=[k.pk for k in keys])

    assert (run.status, run.keys_total, run.keys_ok, run.api_calls) == (
        SyncRun.Status.SUCCEEDED,
        2,
        2,
        2,
    )
    assert run.rows_created == DailyUsage.objects.count() > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_does_one_runs_work_when_two_start_at_once(make_key, customer_a, customer_b):
    created = datetime(2026, 10, 1, tzinfo=UTC)
    key_ids = [make_key(c, created=created).pk for c in (customer_a, customer_b, customer_a)]
    barrier, outcomes = threading.Barrier(2), []

    def start():
        barrier.wait()
        try:
            outcomes.append(
                usage_sync_run(trigger=SyncRun.Trigger.BEAT, key_ids=key_ids, concurrency=2)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    runs = [run for run in outcomes if run is not None]
    assert len(runs) == 1 and outcomes.count(None) == 1
    assert SyncRun.objects.count() == 1
    assert runs[0].status == SyncRun.Status.SUCCEEDED
    assert runs[0].rows_created == DailyUsage.objects.count()


def test_it_counts_a_redelivered_chunk_once(db):
    run = sync_run_start(trigger=SyncRun.Trigger.BEAT, keys_total=4)
    chunk = SyncTotals(keys_ok=2, api_calls=2)

    sync_run_record(run_id=run.pk, totals=chunk, chunk=0)
    again = sync_run_record(run_id=run.pk, totals=chunk, chunk=0)

    assert (again.keys_ok, again.api_calls, again.status) == (2, 2, SyncRun.Status.RUNNING)
    assert sync_run_record(run_id=run.pk, totals=chunk, chunk=1).status == (
        SyncRun.Status.SUCCEEDED
    )
