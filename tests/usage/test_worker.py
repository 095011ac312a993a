"""The beat's task through a real Celery worker over the real Redis broker (not eager)."""

import time
from datetime import UTC, datetime

import pytest
from celery.contrib.testing.worker import start_worker
from django.db.models import Sum

from billing_portal.celery import app
from billing_portal.deepgram import client_from_settings
from usage.models import DailyUsage, SyncRun
from usage.tasks import sync_run_start

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def wait_for_finished_run(timeout: float = 60) -> SyncRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = SyncRun.objects.filter(finished_at__isnull=False).first()
        if run:
            return run
        time.sleep(0.2)
    raise AssertionError(
        f"no sync run finished within {timeout} s: {list(SyncRun.objects.values())}"
    )


def test_it_syncs_every_key_through_a_worker(make_key, customer_a, customer_b, settings):
    settings.DEEPGRAM_MAX_CONCURRENCY, settings.USAGE_SYNC_CHUNK_SIZE = 2, 2
    created = datetime(2026, 10, 1, tzinfo=UTC)
    keys = [
        make_key(c, created=created)
        for c in (customer_a, customer_b, customer_a, customer_b, customer_a)
    ]
    app.control.purge()

    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30
    ):
        sync_run_start.delay()
        run = wait_for_finished_run()

    assert (run.status, run.keys_total, run.keys_ok, run.trigger) == (
        SyncRun.Status.SUCCEEDED,
        5,
        5,
        SyncRun.Trigger.BEAT,
    )
    client = client_from_settings()
    for key in keys:
        stored = dict(
            DailyUsage.objects.filter(api_key=key, endpoint="listen")
            .values("day")
            .annotate(total=Sum("total_hours"))
            .values_list("day", "total")
            .order_by()
        )
        summary = client.usage_summary(
            key.project.project_id, start=created.date(), end=max(stored), accessor=key.key_id
        )
        assert stored == {day.start: day.total_hours for day in summary.results}
    assert run.rows_created == DailyUsage.objects.count()
    # Three chunks (two keys each, at most), each asking about the project: four calls each;
    # the billing fields while a chunk's cost names line items not seeded yet (the lanes run
    # side by side: one to three times).
    calls = run.calls_by_endpoint
    assert (calls["usage/breakdown"], calls["billing/breakdown"]) == (6, 6)
    assert 1 <= calls["billing/fields"] <= 3
