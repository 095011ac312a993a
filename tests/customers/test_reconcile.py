import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from billing_portal.deepgram import client_from_settings
from customers.exceptions import ImportFailed
from customers.models import ApiKey, Customer, KeyEvent, ProvisionAttempt
from customers.services import api_key_import, api_keys_mark_expired, api_keys_reconcile


@pytest.fixture
def import_for_a(default_project, customer_a, support_user):
    """Support imports a key made in the Deepgram console for customer A."""

    def run(console_key: dict):
        return api_key_import(
            project=default_project,
            key_id=console_key["api_key_id"],
            customer=customer_a,
            actor=support_user,
        )

    return run


def test_it_marks_keys_deepgram_no_longer_has(provision, customer_a, default_project, support_user):
    kept, gone = provision(customer_a).api_key, provision(customer_a).api_key
    client_from_settings().delete_key(default_project.project_id, gone.key_id)

    report = api_keys_reconcile(project=default_project, actor=support_user)

    gone.refresh_from_db()
    assert gone.status == ApiKey.Status.MISSING_UPSTREAM
    assert report.marked_missing == [gone]
    assert report.matched == [kept]
    assert KeyEvent.objects.get(action=KeyEvent.Action.MARK_MISSING).actor == support_user


def test_it_lists_keys_unknown_to_the_portal(sandbox, default_project, support_user):
    console = sandbox.add_key("Made in the console", created=datetime(2026, 3, 1, tzinfo=UTC))

    report = api_keys_reconcile(project=default_project, actor=support_user)

    assert console["api_key_id"] in {k.api_key.api_key_id for k in report.unknown}


def test_it_imports_an_unknown_key_for_a_customer(
    sandbox, default_project, customer_a, support_user, import_for_a
):
    created = datetime(2026, 3, 1, tzinfo=UTC)
    console = sandbox.add_key(
        "Acme (console)", created=created, tags=("acme",), scopes=("usage:write",)
    )

    key = import_for_a(console)

    assert (key.customer, key.imported, key.created_at, key.tags) == (
        customer_a,
        True,
        created,
        ["acme"],
    )
    report = api_keys_reconcile(project=default_project, actor=support_user)
    assert key in report.matched
    with pytest.raises(ImportFailed, match="already in the portal"):
        import_for_a(console)


def test_it_refuses_to_import_for_an_inactive_customer(sandbox, customer_a, import_for_a):
    customer_a.status = Customer.Status.CLOSED
    customer_a.save()
    console = sandbox.add_key("Acme (console)", scopes=("usage:write",))

    with pytest.raises(ImportFailed, match="not active"):
        import_for_a(console)


def test_it_marks_expired_keys(provision, customer_a):
    expiring = provision(customer_a, ttl_seconds=3600).api_key

    assert api_keys_mark_expired(now=timezone.now() + timedelta(hours=2)) == 1

    expiring.refresh_from_db()
    assert expiring.status == ApiKey.Status.EXPIRED


def test_it_reactivates_a_key_that_reappears(provision, customer_a, default_project):
    key = provision(customer_a).api_key
    key.status = ApiKey.Status.MISSING_UPSTREAM
    key.save()

    report = api_keys_reconcile(project=default_project)

    key.refresh_from_db()
    assert key.status == ApiKey.Status.ACTIVE
    assert report.reactivated == [key]


def test_it_deletes_a_key_left_behind_by_a_failed_attempt(
    provision, sandbox, customer_a, default_project, settings
):
    # Deepgram answered too late: the key appeared after the portal had checked.
    settings.DEEPGRAM_MAX_RETRIES = 0
    sandbox.queue_fault("server_error", method="POST")
    token = uuid.uuid4()
    with pytest.raises(Exception, match="did not create"):
        provision(customer_a, token=token)
    attempt = ProvisionAttempt.objects.get(token=token)
    late = sandbox.add_key(f"Acme Voice Ltd [{attempt.reference}]")

    report = api_keys_reconcile(project=default_project)

    assert report.orphans_deleted == [late["api_key_id"]]
    assert late["api_key_id"] not in sandbox.key_ids()
    assert late["api_key_id"] not in {k.api_key.api_key_id for k in report.unknown}


@pytest.mark.parametrize("scopes", [("member",), ("usage:write", "usage:read"), ("owner",)])
def test_it_refuses_to_import_a_key_that_can_do_more_than_transcribe(sandbox, import_for_a, scopes):
    console = sandbox.add_key("Broad key", scopes=scopes)

    with pytest.raises(ImportFailed, match="only a key limited to usage:write"):
        import_for_a(console)


def test_it_deletes_a_key_left_by_an_attempt_cut_off_mid_way(
    sandbox, customer_a, default_project, support_user
):
    attempt = ProvisionAttempt.objects.create(
        token=uuid.uuid4(),
        customer=customer_a,
        requested_by=support_user,
        requested_at=timezone.now() - timedelta(minutes=30),
    )
    left = sandbox.add_key(f"Acme Voice Ltd [{attempt.reference}]", scopes=("usage:write",))
    fresh = ProvisionAttempt.objects.create(
        token=uuid.uuid4(), customer=customer_a, requested_by=support_user
    )
    in_flight = sandbox.add_key(f"Acme Voice Ltd [{fresh.reference}]", scopes=("usage:write",))

    report = api_keys_reconcile(project=default_project, actor=support_user)

    assert report.orphans_deleted == [left["api_key_id"]]
    assert in_flight["api_key_id"] in sandbox.key_ids()
