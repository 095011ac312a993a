import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.subprocess_django import PRODUCTION, run_django
from usage.models import KeySyncState, SyncRun

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

HEALTHZ = """
from django.test import Client
response = Client().get("/healthz")
print(response.status_code, response.content.decode())
"""


def healthz_with(**env: str) -> tuple[int, dict]:
    result = run_django(HEALTHZ, DJANGO_SECURE_SSL_REDIRECT="0", **PRODUCTION, **env)
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(status), json.loads(body)


@pytest.mark.django_db
def test_it_reports_both_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["database"] == response.json()["broker"] == "ok"
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_naming_a_broker_that_is_down():
    # The in-memory database has no tables: the sync report cannot be read, and says so.
    assert healthz_with(
        DATABASE_URL="sqlite://:memory:", CELERY_BROKER_URL="redis://127.0.0.1:1/0"
    ) == (503, {"database": "ok", "broker": "down", "sync": {"status": "unknown"}})


def test_it_answers_503_naming_a_database_that_is_down():
    assert healthz_with(DATABASE_URL="postgres://postgres@127.0.0.1:1/billing") == (
        503,
        {"database": "down", "broker": "ok", "sync": {"status": "unknown"}},
    )


@pytest.mark.redis
@pytest.mark.django_db
def test_it_checks_the_real_redis_broker(client, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")

    assert client.get("/healthz").json()["broker"] == "ok"


# --- The usage sync: reported, never a reason for a 503 ---------------------------------------


def closed_run(status: str, *, hours_ago: float) -> SyncRun:
    finished = NOW - timedelta(hours=hours_ago)
    return SyncRun.objects.create(
        trigger=SyncRun.Trigger.BEAT,
        status=status,
        started_at=finished - timedelta(minutes=5),
        finished_at=finished,
    )


def sync_of(client) -> tuple[int, dict]:
    with time_machine.travel(NOW, tick=False):
        response = client.get("/healthz")
    return response.status_code, response.json()["sync"]


@pytest.mark.django_db
def test_it_reports_a_recent_good_sync_as_ok(client):
    closed_run(SyncRun.Status.SUCCEEDED, hours_ago=1)

    assert sync_of(client) == (
        200,
        {
            "last_run_finished_at": "2026-03-10T11:00:00+00:00",
            "age_seconds": 3600,
            "stale_keys": 0,
            "status": "ok",
        },
    )


@pytest.mark.django_db
def test_a_partial_run_is_ok_until_its_keys_go_stale(client, customer_a, key_of):
    closed_run(SyncRun.Status.PARTIAL, hours_ago=1)
    state, _ = KeySyncState.objects.update_or_create(
        api_key=key_of(customer_a), defaults={"last_success_at": NOW - timedelta(hours=2)}
    )
    assert sync_of(client)[1]["status"] == "ok"

    state.last_success_at = NOW - timedelta(hours=25)
    state.save()

    status, sync = sync_of(client)

    assert (status, sync["stale_keys"], sync["status"]) == (200, 1, "stale")


@pytest.mark.django_db
def test_no_run_for_a_day_is_stale_and_still_200(client):
    closed_run(SyncRun.Status.SUCCEEDED, hours_ago=25)

    status, sync = sync_of(client)

    assert (status, sync["status"], sync["age_seconds"]) == (200, "stale", 25 * 3600)


@pytest.mark.django_db
def test_never_synced_is_stale(client):
    assert sync_of(client) == (
        200,
        {"last_run_finished_at": None, "age_seconds": None, "stale_keys": 0, "status": "stale"},
    )


@pytest.mark.django_db
def test_a_failed_last_run_is_failed_and_still_200(client):
    closed_run(SyncRun.Status.SUCCEEDED, hours_ago=2)
    closed_run(SyncRun.Status.FAILED, hours_ago=1)

    assert sync_of(client)[0] == 200
    assert sync_of(client)[1]["status"] == "failed"


@pytest.mark.django_db
def test_a_running_or_abandoned_run_is_not_the_last_one(client):
    closed_run(SyncRun.Status.SUCCEEDED, hours_ago=3)
    closed_run(SyncRun.Status.ABANDONED, hours_ago=1)
    SyncRun.objects.create(trigger=SyncRun.Trigger.BEAT, started_at=NOW)

    assert sync_of(client)[1]["age_seconds"] == 3 * 3600
