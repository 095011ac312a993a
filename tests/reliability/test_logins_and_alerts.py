"""Reliability matrix, logins and alerts: thirty wrong passwords and then the right one are
refused on both login pages, for that account and address only; a forwarded address is
believed only from a trusted proxy; staff may unlock. A failed run, a partial run and stale
keys each reach the operators as one log line and one ADMINS e-mail, and /healthz reports the
sync while it stays 200."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from usage import tasks
from usage.models import KeySyncState, SyncRun
from usage.services import usage_sync_run

LOGINS = ["admin:login", "portal:login"]


@pytest.fixture
def people(finance_user, customer_a_user, support_user):
    """Who logs in where: on the admin Finance (locked) and Support (another account), on the
    portal the customer user and Support (staff may open the portal login too)."""
    return {
        "admin:login": (finance_user.username, support_user.username),
        "portal:login": (customer_a_user.username, support_user.username),
    }


def log_in(client, url_name, username, password=PASSWORD, **extra):
    client.logout()
    return client.post(reverse(url_name), {"username": username, "password": password}, **extra)


def hammer(client, url_name, username, **extra):
    return {log_in(client, url_name, username, "wrong", **extra).status_code for _ in range(30)}


@pytest.mark.parametrize("url_name", LOGINS)
def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_the_message(
    client, people, url_name
):
    locked, _ = people[url_name]

    assert hammer(client, url_name, locked) == {200, 429}
    response = log_in(client, url_name, locked)

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url_name", LOGINS)
def test_the_lock_holds_that_account_from_that_address_only(client, people, url_name):
    locked, other = people[url_name]
    hammer(client, url_name, locked, REMOTE_ADDR="198.51.100.7")

    assert log_in(client, url_name, locked, REMOTE_ADDR="198.51.100.7").status_code == 429
    assert log_in(client, url_name, locked, REMOTE_ADDR="198.51.100.8").status_code == 302
    assert log_in(client, url_name, other, REMOTE_ADDR="198.51.100.7").status_code == 302


@pytest.mark.parametrize("url_name", LOGINS)
def test_a_forwarded_address_from_an_untrusted_client_is_ignored(client, people, url_name):
    locked, _ = people[url_name]
    for n in range(30):  # a new forwarded address each try: all are the one peer's
        log_in(client, url_name, locked, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    response = log_in(client, url_name, locked, HTTP_X_FORWARDED_FOR="192.0.2.200")

    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_client_is_its_forwarded_address(client, people, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    locked, _ = people["admin:login"]
    via_proxy = {"REMOTE_ADDR": "10.0.0.1"}
    hammer(client, "admin:login", locked, HTTP_X_FORWARDED_FOR="203.0.113.9", **via_proxy)

    def status(forwarded: str) -> int:
        return log_in(
            client, "admin:login", locked, HTTP_X_FORWARDED_FOR=forwarded, **via_proxy
        ).status_code

    # The attacker cannot step out of its lock by writing another address before its own.
    assert status("192.0.2.1, 203.0.113.9") == 429
    # The real user, behind the same proxy at another address, logs in.
    assert status("198.51.100.4") == 302


def test_a_superuser_unlocks_in_the_admin_and_support_may_not(client, people):
    locked, _ = people["admin:login"]
    hammer(client, "admin:login", locked)
    changelist = reverse("admin:axes_accessattempt_changelist")
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))

    client.force_login(get_user_model().objects.get(username="support"))
    assert client.get(changelist).status_code == 403

    admin = get_user_model().objects.create_superuser("root", "root@staff.example", PASSWORD)
    client.force_login(admin)
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert log_in(client, "admin:login", locked).status_code == 302


# --- Sync alerts ---------------------------------------------------------------------------


@pytest.fixture
def operators(settings, caplog, django_capture_on_commit_callbacks, celery_eager):
    """Real syncs through the sandbox, their after-commit work run; `told()` is what reached
    the operators since the last call: the log lines at WARNING and up of the alerts, and the
    subjects of the mails."""
    settings.ADMINS = [("Ops", "ops@billing.example")]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEEPGRAM_BACKOFF_BASE = 0.01
    cache.clear()
    caplog.set_level(logging.WARNING, logger="usage.services.alerts")

    def told():
        lines = [r.getMessage() for r in caplog.records if r.name == "usage.services.alerts"]
        subjects = [message.subject for message in mail.outbox]
        caplog.clear()
        mail.outbox.clear()
        return lines, subjects

    def sync(keys):
        with django_capture_on_commit_callbacks(execute=True):
            return usage_sync_run(trigger=SyncRun.Trigger.BEAT, key_ids=[k.pk for k in keys])

    yield sync, told
    cache.clear()


@pytest.fixture
def keys(imported_keys):
    return imported_keys(3, created=datetime(2026, 11, 24, tzinfo=UTC), id_prefix="a1e7a1e7")


def sync_report(client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200
    return response.json()["sync"]


def closed_with_faults(operators, keys, sandbox, *, faults: int):
    """A sync of `keys` whose first `faults` usage calls answer 404."""
    sync, _ = operators
    sandbox.queue_fault("error", status=404, path="/usage", count=faults)
    return sync(keys)


def assert_told_once(operators, run, status: str, detail: str) -> None:
    """The run closed `status`, and operators were told once: a log line and a mail."""
    _, told = operators
    assert run.status == status
    lines, subjects = told()
    assert lines == [f"Usage sync run {run.pk} closed {status}: {detail}"]
    assert subjects == [f"[Billing portal] Usage sync run {run.pk} {status}"]


def test_a_partial_run_is_one_line_and_one_mail_and_healthz_stays_200(
    operators, keys, sandbox, client, settings
):
    # A chunk a key: the fault fails the first chunk's answer, the others are whole.
    settings.USAGE_SYNC_CHUNK_SIZE = 1
    run = closed_with_faults(operators, keys, sandbox, faults=1)

    assert_told_once(operators, run, "partial", "1 of 3 keys failed (NotFoundError: 1)")
    # The key that failed never synced: stale at once.
    assert sync_report(client) | {"age_seconds": 0} == {
        "last_run_finished_at": run.finished_at.isoformat(),
        "age_seconds": 0,
        "stale_keys": 1,
        "status": "stale",
    }


def test_a_failed_run_is_one_line_and_one_mail_and_healthz_stays_200(
    operators, keys, sandbox, client
):
    run = closed_with_faults(operators, keys, sandbox, faults=10)

    assert_told_once(operators, run, "failed", "3 of 3 keys failed (NotFoundError: 3)")
    assert sync_report(client)["status"] == "failed"
    assert client.get("/healthz").json()["database"] == "ok"


def test_stale_keys_are_one_line_and_one_mail_a_day_and_healthz_stays_200(operators, keys, client):
    sync, told = operators
    assert sync(keys).status == SyncRun.Status.SUCCEEDED
    assert told() == ([], [])
    assert sync_report(client)["status"] == "ok"
    KeySyncState.objects.filter(api_key=keys[0]).update(
        last_success_at=timezone.now() - timedelta(hours=25)
    )

    tasks.sync_report_stale_keys()
    tasks.sync_report_stale_keys()  # the same day: nothing more

    lines, subjects = told()
    assert lines == [f"1 Deepgram keys have not synced for 24 h: {keys[0].key_id}"]
    assert subjects == ["[Billing portal] 1 Deepgram keys have not synced for 24 h"]
    assert sync_report(client) | {"age_seconds": None} == {
        "last_run_finished_at": SyncRun.objects.get().finished_at.isoformat(),
        "age_seconds": None,
        "stale_keys": 1,
        "status": "stale",
    }
