"""The reliability matrix, row "sync runs": a sync killed part-way, two takers of its run at
once, a late chunk of a run taken over, and a chunk past its soft time limit under a real
worker. Each compares every table before and after (`stored_state`)."""

import io
import logging
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection

from tests.concurrency import at_once, soon
from tests.subprocess_django import ROOT, clean_environment, database_url_of
from usage.models import DailyUsage, KeySyncState, SyncRun, UsageCorrection
from usage.services import (
    RunChunk,
    sync_run_record,
    sync_run_start,
    sync_run_take_over,
    usage_sync_keys,
    utc_today,
)
from usage.services.chunk_sync import fetch_range
from usage.services.key_sync import LOST, ChunkWork, chunk_keys
from usage.services.sync_window import windows_of
from usage.tasks import usage_sync_keys as usage_sync_keys_task

from .conftest import changed_tables

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CREATED = datetime(2026, 11, 20, tzinfo=UTC)
# What a sync writes: usage and cost (of the keys, and of the project's console key, which is
# no customer's), the keys' states, its run, and what it learned of the project.
SYNC_TABLES = {
    "usage.DailyUsage",
    "usage.DailyCost",
    "usage.MonthlyChange",  # when each key's month last changed: kept by triggers
    "usage.UnassignedAccessor",
    "usage.UnassignedUsage",
    "usage.UnassignedCost",
    "usage.KeySyncState",
    "usage.SyncRun",
    "customers.DeepgramProject",
    "usage.LineItem",  # seeded from the billing fields the first time they are billed
    "usage.LineItemRule",
}


@pytest.fixture
def keys(imported_keys):
    """Eight keys on the sandbox since CREATED, imported for two customers."""
    return imported_keys(8, created=CREATED, id_prefix="7a7a7a7a")


def api_calls(sandbox) -> int:
    """The breakdown calls made (the billing fields are asked only for new line items)."""
    return sum(1 for call in sandbox.calls if call.path.endswith("/breakdown"))


def sync_process(sandbox) -> subprocess.Popen:
    """`manage.py sync_usage` in its own process, on this test's database and sandbox."""
    env = clean_environment(
        DJANGO_DEBUG="1",
        DATABASE_URL=database_url_of(connection),
        DEEPGRAM_API_URL=sandbox.url,
        USAGE_SYNC_CHUNK_SIZE="1",
        SYNC_HEARTBEAT_SECONDS="0.05",
    )
    command = [sys.executable, "manage.py", "sync_usage", "--concurrency", "1"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_for(condition, timeout: float = 20):
    value = soon(condition, timeout=timeout)
    assert value, f"not within {timeout} s"
    return value


def test_a_sync_killed_part_way_is_taken_over_and_finished(keys, sandbox, settings, stored_state):
    before = stored_state()
    sandbox.set_latency(150)
    process = sync_process(sandbox)
    try:
        wait_for(lambda: _run_with_done(3))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    dead = SyncRun.objects.get()
    done_before = set(dead.done_chunks)
    assert dead.status == SyncRun.Status.RUNNING and 3 <= len(done_before) < 8
    calls_before = api_calls(sandbox)
    sandbox.set_latency(0)
    settings.SYNC_RUN_STALE_SECONDS, settings.SYNC_HEARTBEAT_SECONDS = 0.3, 0.05
    time.sleep(0.4)

    out = io.StringIO()
    call_command("sync_usage", stdout=out, stderr=io.StringIO())

    run = SyncRun.objects.get()
    assert f"Took over sync run {run.pk}" in out.getvalue()
    assert (run.pk, run.status, run.takeovers) == (dead.pk, SyncRun.Status.SUCCEEDED, 1)
    assert (run.keys_total, run.keys_ok, sorted(run.done_chunks)) == (8, 8, list(range(8)))
    # Done chunks are not fetched again: each chunk left asks its four calls once.
    assert api_calls(sandbox) - calls_before == 4 * (8 - len(done_before))
    # Nothing doubled: each row counted once by the run, no correction; nothing lost: every
    # key has rows and is synced through today.
    assert run.rows_created == DailyUsage.objects.count()
    assert DailyUsage.objects.values("api_key").distinct().count() == 8
    assert not UsageCorrection.objects.exists()
    assert KeySyncState.objects.filter(synced_through=utc_today()).count() == 8
    assert changed_tables(before, stored_state()) == SYNC_TABLES


def _run_with_done(count: int):
    for run in SyncRun.objects.all():
        if len(run.done_chunks) >= count:
            return run
    return None


def test_of_two_takers_at_once_exactly_one_wins(keys, settings, stored_state):
    settings.SYNC_RUN_STALE_SECONDS = 0.1
    stale = sync_run_start(trigger=SyncRun.Trigger.BEAT, chunks=[[key.pk] for key in keys])
    time.sleep(0.2)
    before = stored_state()
    outcomes, errors = at_once(
        lambda: sync_run_start(trigger=SyncRun.Trigger.COMMAND, chunks=[[1]]), 2
    )
    assert errors == []

    winners = [run for run in outcomes if run is not None]
    assert len(winners) == 1 and outcomes.count(None) == 1
    run = SyncRun.objects.get()
    assert (run.pk, run.takeovers, run.token) == (stale.pk, 1, winners[0].token)
    assert run.token != stale.token
    after = stored_state()
    assert changed_tables(before, after) == {"usage.SyncRun"}


def test_a_late_chunk_of_a_run_taken_over_writes_nothing(keys, settings, stored_state, caplog):
    settings.SYNC_RUN_STALE_SECONDS = 0.1
    run = sync_run_start(trigger=SyncRun.Trigger.BEAT, chunks=[[key.pk] for key in keys])
    old = RunChunk(run.pk, None, str(run.token))
    # The dead owner had fetched chunk 0 before the run was taken over...
    key_windows, skipped = windows_of(
        chunk_keys([keys[0].pk]), today=utc_today(), start=None, end=None
    )
    work = ChunkWork(key_windows, skipped)
    fetched = [fetch_range(part) for part in work.ranges]
    time.sleep(0.2)
    taken = sync_run_take_over(SyncRun.objects.get())
    assert taken is not None
    before = stored_state()

    with caplog.at_level(logging.WARNING, logger="usage.services.runs"):
        # ...and writes it late; its next chunks arrive late too, as tasks and in-process.
        assert [work.store(fetch, old.of(0)) for fetch in fetched] == [LOST] * len(fetched)
        assert usage_sync_keys_task.apply(args=(run.pk, [keys[1].pk], 1, old.token)).get() == {
            "run": run.pk,
            "chunk": 1,
            "skipped": True,
        }
        totals = usage_sync_keys(chunks=[(2, [keys[2].pk])], run=old)
        sync_run_record(run_id=run.pk, totals=totals, chunk=3, token=old.token)

    assert stored_state() == before
    assert caplog.text.count("writes nothing: the run was taken over") >= 3


@pytest.mark.redis
def test_a_chunk_past_its_soft_time_limit_ends_cleanly_and_its_lane_goes_on(
    keys, sandbox, settings, stored_state
):
    from celery.contrib.testing.worker import start_worker

    from billing_portal.celery import app
    from usage.tasks import sync_run_start as sync_run_start_task

    keys = keys[:6]
    ApiKey = type(keys[0])
    ApiKey.objects.exclude(pk__in=[key.pk for key in keys]).delete()
    settings.DEEPGRAM_MAX_CONCURRENCY, settings.USAGE_SYNC_CHUNK_SIZE = 1, 3
    settings.USAGE_SYNC_CHUNK_SOFT_TIME_LIMIT, settings.USAGE_SYNC_CHUNK_TIME_LIMIT = 1.0, 8
    settings.SYNC_HEARTBEAT_SECONDS = 0.05
    settings.USAGE_SYNC_KEY_DAYS_PER_CALL = 6  # six keys: a range a day, twelve a chunk
    sandbox.set_latency(80)  # a range's four calls take 0.3 s: each chunk passes its soft limit
    before = stored_state()
    app.control.purge()
    connection.close()  # the pool's processes are forked: no connection shared with them

    with start_worker(
        app, pool="prefork", concurrency=1, perform_ping_check=False, shutdown_timeout=30
    ):
        sync_run_start_task.delay()
        run = wait_for(lambda: SyncRun.objects.filter(finished_at__isnull=False).first(), 30)

    assert (run.status, run.keys_total, run.keys_ok) == (SyncRun.Status.SUCCEEDED, 6, 6)
    assert len(run.chunks) > 2  # the keys each chunk left became chunks of their own...
    assert sorted(run.done_chunks) == list(range(len(run.chunks)))  # ...done in the lane
    assert run.resume_from  # ...each going on from the first day it had not written
    assert run.rows_created == DailyUsage.objects.count()
    days = (utc_today() - CREATED.date()).days + 1
    assert DailyUsage.objects.values("api_key", "day").distinct().count() == 6 * days
    assert not UsageCorrection.objects.exists()
    assert changed_tables(before, stored_state()) == SYNC_TABLES
