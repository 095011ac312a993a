"""Operators are told when a sync goes wrong: a partial or failed run (a held one too) gives
one ERROR line and one ADMINS e-mail, after its closing commit, once; keys stale for 24 h are
reported once a day."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache

from usage import tasks
from usage.models import KeySyncState, SyncRun
from usage.services import (
    RunChunk,
    SyncTotals,
    sync_report_stale_keys,
    sync_run_hold,
    sync_run_record,
    sync_run_start,
)

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def admins(settings):
    settings.ADMINS = [("Ops", "ops@billing.example")]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.BILLING_SITE_URL = "https://billing.example"
    cache.clear()  # the day a stale-keys report went out
    yield
    cache.clear()


@pytest.fixture
def close(django_capture_on_commit_callbacks, celery_eager, caplog):
    """`close(ok, failed)`: a run of two chunks whose chunks record `ok` and `failed` keys,
    its callbacks run as after the commit; returns the run and the ERROR lines logged."""

    def run(ok: int, failed: int, errors=None):
        run = sync_run_start(trigger=SyncRun.Trigger.BEAT, chunks=[[1] * ok, [2] * failed])
        token = str(run.token)
        totals = SyncTotals(keys_ok=0, keys_failed=failed)
        totals.errors_by_kind.update(errors or ({"ServerError": failed} if failed else {}))
        with (
            caplog.at_level(logging.ERROR, logger="usage.services.alerts"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            sync_run_record(run_id=run.pk, totals=SyncTotals(keys_ok=ok), chunk=0, token=token)
            run = sync_run_record(run_id=run.pk, totals=totals, chunk=1, token=token)
        return run, [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]

    return run


def test_a_good_run_tells_nobody(close, db):
    run, errors = close(ok=3, failed=0)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert (errors, mail.outbox) == ([], [])


def test_a_partial_run_is_one_error_line_and_one_mail(close, db):
    run, errors = close(ok=3, failed=2)

    assert run.status == SyncRun.Status.PARTIAL
    assert errors == [
        f"Usage sync run {run.pk} closed partial: 2 of 5 keys failed (ServerError: 2)"
    ]
    [message] = mail.outbox
    assert message.to == ["ops@billing.example"]
    assert message.subject == f"[Billing portal] Usage sync run {run.pk} partial"
    assert "2 of 5 keys failed (ServerError: 2)" in message.body
    assert f"https://billing.example/admin/usage/syncrun/{run.pk}/change/" in message.body


def test_a_failed_run_is_one_error_line_and_one_mail(close, db):
    run, errors = close(ok=0, failed=2, errors={"AuthenticationError": 2})

    assert run.status == SyncRun.Status.FAILED
    assert errors == [
        f"Usage sync run {run.pk} closed failed: 2 of 2 keys failed (AuthenticationError: 2)"
    ]
    assert [m.subject for m in mail.outbox] == [f"[Billing portal] Usage sync run {run.pk} failed"]


def test_a_chunk_delivered_again_after_the_close_tells_nothing_more(
    close, db, django_capture_on_commit_callbacks
):
    run, _ = close(ok=1, failed=1)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        sync_run_record(
            run_id=run.pk, totals=SyncTotals(keys_failed=1), chunk=1, token=str(run.token)
        )

    assert mail.outbox == []


def test_a_held_run_says_why_once(db, caplog, django_capture_on_commit_callbacks, celery_eager):
    run = sync_run_start(trigger=SyncRun.Trigger.BEAT, chunks=[[1, 2, 3], [4]])
    ref = RunChunk(run.pk, 0, str(run.token))

    with (
        caplog.at_level(logging.ERROR),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sync_run_hold(ref, reason="3 of the 3 keys would lose their usage", keys=3)
        sync_run_record(run_id=run.pk, totals=SyncTotals(keys_ok=1), chunk=1, token=ref.token)

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        f"Usage sync run {run.pk} closed failed: stopped before it wrote: "
        "3 of the 3 keys would lose their usage"
    ]
    [message] = mail.outbox
    assert "stopped before it wrote: 3 of the 3 keys would lose their usage" in message.body


def test_without_admins_it_only_logs(close, db, settings):
    settings.ADMINS = []

    _, errors = close(ok=1, failed=1)

    assert len(errors) == 1 and mail.outbox == []


def test_a_mail_that_cannot_be_sent_is_logged_and_the_run_still_closes(close, db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2

    run, errors = close(ok=1, failed=1)

    assert SyncRun.objects.get(pk=run.pk).status == SyncRun.Status.PARTIAL
    assert errors[0].startswith(f"Usage sync run {run.pk} closed partial")
    assert errors[1] == f"Could not e-mail the admins: Usage sync run {run.pk} partial"


# --- Stale keys, once a day ------------------------------------------------------------------


@pytest.fixture
def stale_key(customer_a, key_of):
    key = key_of(customer_a, "acme-stale-key")
    KeySyncState.objects.filter(api_key=key).update(
        last_success_at=NOW - timedelta(hours=30), consecutive_failures=4
    )
    return key


def test_no_stale_key_is_no_report(db, customer_a, key_of):
    KeySyncState.objects.filter(api_key=key_of(customer_a)).update(last_success_at=NOW)

    with time_machine.travel(NOW, tick=False):
        assert sync_report_stale_keys() == 0

    assert mail.outbox == []


def test_stale_keys_are_one_warning_and_one_mail(stale_key, caplog):
    with time_machine.travel(NOW, tick=False), caplog.at_level(logging.WARNING):
        assert sync_report_stale_keys() == 1

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "1 Deepgram keys have not synced for 24 h: acme-stale-key"
    ]
    [message] = mail.outbox
    assert message.subject == "[Billing portal] 1 Deepgram keys have not synced for 24 h"
    assert (
        "- acme-stale-key (Acme Voice Ltd): last success 2026-03-09 01:00 UTC, 4 failures since"
        in message.body
    )
    assert "/admin/usage/keysyncstate/?freshness=stale" in message.body


def test_stale_keys_are_reported_once_a_day(stale_key):
    with time_machine.travel(NOW, tick=False) as clock:
        assert tasks.sync_report_stale_keys() == {"reported": 1}
        clock.shift(timedelta(hours=1))
        assert tasks.sync_report_stale_keys() == {"reported": 0}
        clock.shift(timedelta(days=1))
        assert tasks.sync_report_stale_keys() == {"reported": 1}

    assert len(mail.outbox) == 2
