from datetime import timedelta

import pytest
from django.utils import timezone

from billing_portal.deepgram import client_from_settings
from customers.exceptions import RevokeFailed
from customers.models import ApiKey, KeyEvent
from customers.services import api_key_revoke, api_key_schedule_revoke, api_keys_revoke_due


def test_it_deletes_the_key_on_deepgram_then_marks_it_revoked(
    provision, sandbox, customer_a, support_user
):
    key = provision(customer_a).api_key

    revoked = api_key_revoke(api_key=key, actor=support_user)

    assert key.key_id not in sandbox.key_ids()
    assert (revoked.status, revoked.revoked_by) == (ApiKey.Status.REVOKED, support_user)
    assert revoked.revoked_at is not None
    event = KeyEvent.objects.filter(action=KeyEvent.Action.REVOKE).get()
    assert (event.outcome, event.actor) == (KeyEvent.Outcome.OK, support_user)


def test_it_marks_a_key_already_gone_upstream_as_revoked(
    provision, customer_a, support_user, default_project
):
    key = provision(customer_a).api_key
    client_from_settings().delete_key(default_project.project_id, key.key_id)

    revoked = api_key_revoke(api_key=key, actor=support_user)

    assert revoked.status == ApiKey.Status.REVOKED
    assert "already gone" in KeyEvent.objects.get(action=KeyEvent.Action.REVOKE).detail


def test_it_is_idempotent(provision, sandbox, customer_a, support_user):
    key = api_key_revoke(api_key=provision(customer_a).api_key, actor=support_user)
    sandbox.calls.clear()

    assert api_key_revoke(api_key=key, actor=support_user).status == ApiKey.Status.REVOKED
    assert sandbox.calls == []


def test_it_keeps_the_key_active_when_deepgram_fails(
    provision, sandbox, customer_a, support_user, settings
):
    settings.DEEPGRAM_MAX_RETRIES = 1
    key = provision(customer_a).api_key
    sandbox.queue_fault("server_error", method="DELETE", count=2)

    with pytest.raises(RevokeFailed, match="Internal server error"):
        api_key_revoke(api_key=key, actor=support_user)

    key.refresh_from_db()
    assert key.status == ApiKey.Status.ACTIVE
    assert key.key_id in sandbox.key_ids()
    assert KeyEvent.objects.get(action=KeyEvent.Action.REVOKE).outcome == KeyEvent.Outcome.FAILED


def test_it_revokes_scheduled_keys_when_they_are_due(provision, sandbox, customer_a, support_user):
    soon, later = provision(customer_a).api_key, provision(customer_a).api_key
    now = timezone.now()
    api_key_schedule_revoke(api_key=soon, when=now + timedelta(hours=1), actor=support_user)
    api_key_schedule_revoke(api_key=later, when=now + timedelta(days=2), actor=support_user)

    assert api_keys_revoke_due(now=now + timedelta(hours=2)) == (1, 0)

    soon.refresh_from_db()
    later.refresh_from_db()
    assert (soon.status, soon.revoked_by, soon.revoke_at) == (ApiKey.Status.REVOKED, None, None)
    assert later.status == ApiKey.Status.ACTIVE
    assert later.key_id in sandbox.key_ids()
