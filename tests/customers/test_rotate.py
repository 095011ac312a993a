import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.exceptions import ProvisionFailed
from customers.models import ApiKey, KeyEvent
from customers.services import api_key_revoke, api_key_rotate


def test_it_replaces_the_key_and_revokes_the_old_one(provision, sandbox, customer_a, support_user):
    old = provision(customer_a, tags=["customer:acme"], scopes=["usage:write"])
    old_key = old.api_key

    new, note = api_key_rotate(api_key=old_key, actor=support_user, token=uuid.uuid4())

    old_key.refresh_from_db()
    assert new.secret and new.secret != old.secret
    assert new.api_key.replaces == old_key
    assert (new.api_key.scopes, new.api_key.tags) == (
        ["usage:write"],
        ["customer:acme"],
    )
    assert new.api_key.comment.startswith("Acme Voice Ltd [ref ")
    assert new.api_key.comment.count("[ref ") == 1
    assert old_key.status == ApiKey.Status.REVOKED
    assert old_key.key_id not in sandbox.key_ids()
    assert new.api_key.key_id in sandbox.key_ids()
    assert "was revoked" in note
    assert KeyEvent.objects.filter(action=KeyEvent.Action.ROTATE).count() == 1


def test_it_schedules_the_old_key_for_later(provision, sandbox, customer_a, support_user):
    old_key = provision(customer_a).api_key
    when = timezone.now() + timedelta(days=1)

    _, note = api_key_rotate(
        api_key=old_key, actor=support_user, token=uuid.uuid4(), revoke_at=when
    )

    old_key.refresh_from_db()
    assert (old_key.status, old_key.revoke_at) == (ApiKey.Status.ACTIVE, when)
    assert old_key.key_id in sandbox.key_ids()
    assert "will be revoked" in note


def test_it_keeps_the_new_key_and_schedules_the_old_when_revoking_fails(
    provision, sandbox, customer_a, support_user, settings
):
    settings.DEEPGRAM_MAX_RETRIES = 0
    old_key = provision(customer_a).api_key
    sandbox.queue_fault("server_error", method="DELETE")

    new, note = api_key_rotate(api_key=old_key, actor=support_user, token=uuid.uuid4())

    old_key.refresh_from_db()
    assert new.api_key.status == ApiKey.Status.ACTIVE
    assert old_key.status == ApiKey.Status.ACTIVE and old_key.revoke_at is not None
    assert "retried" in note


def test_it_refuses_to_rotate_a_revoked_key(provision, customer_a, support_user):
    key = api_key_revoke(api_key=provision(customer_a).api_key, actor=support_user)

    with pytest.raises(ProvisionFailed, match="Only an active key"):
        api_key_rotate(api_key=key, actor=support_user, token=uuid.uuid4())
