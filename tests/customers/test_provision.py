import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from customers.exceptions import CustomerNotActive, DuplicateSubmission, ProvisionFailed
from customers.models import ApiKey, Customer, KeyEvent, ProvisionAttempt


def test_it_creates_the_key_on_deepgram_and_records_it(
    provision, sandbox, customer_a, support_user
):
    result = provision(customer_a, tags=["customer:acme"])

    key = result.api_key
    assert result.secret
    assert key.key_id in sandbox.key_ids()
    assert (key.customer, key.status, key.scopes, key.tags) == (
        customer_a,
        ApiKey.Status.ACTIVE,
        ["usage:write"],
        ["customer:acme"],
    )
    assert key.created_by == support_user
    assert key.comment.startswith("Acme Voice Ltd [ref ")
    event = KeyEvent.objects.get()
    assert (event.action, event.outcome, event.actor, event.key_id) == (
        KeyEvent.Action.PROVISION,
        KeyEvent.Outcome.OK,
        support_user,
        key.key_id,
    )


def test_it_sends_the_expiry(provision, customer_a):
    expiry = datetime(2031, 1, 1, tzinfo=UTC)

    assert provision(customer_a, expires_at=expiry).api_key.expires_at == expiry


def test_it_refuses_a_second_submit_of_the_same_form(provision, sandbox, customer_a):
    token = uuid.uuid4()
    first = provision(customer_a, token=token)
    keys_before = sandbox.key_ids()

    with pytest.raises(DuplicateSubmission) as caught:
        provision(customer_a, token=token)

    assert caught.value.attempt.api_key == first.api_key
    assert sandbox.key_ids() == keys_before
    assert ApiKey.objects.count() == 1


def test_it_refuses_a_customer_that_is_not_active(provision, sandbox, customer_a):
    customer_a.status = Customer.Status.SUSPENDED
    customer_a.save()
    keys_before = sandbox.key_ids()

    with pytest.raises(CustomerNotActive):
        provision(customer_a)

    assert sandbox.key_ids() == keys_before
    assert not ApiKey.objects.exists()


def test_it_shows_deepgrams_refusal_and_saves_nothing(provision, sandbox, customer_a):
    sandbox.queue_fault("error", status=403, method="POST", message="Scope not allowed")

    with pytest.raises(ProvisionFailed, match="Scope not allowed"):
        provision(customer_a)

    assert not ApiKey.objects.exists()
    assert KeyEvent.objects.get().outcome == KeyEvent.Outcome.FAILED


def test_it_blames_the_project_that_deepgram_does_not_know(provision, customer_a, default_project):
    default_project.project_id = "00000000-0000-4000-8000-00000000dead"
    default_project.save()

    with pytest.raises(ProvisionFailed) as caught:
        provision(customer_a)

    assert caught.value.field == "project"
    assert "Project not found." in str(caught.value)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"kind": "server_error", "status": 502}, id="502"),
        pytest.param({"kind": "timeout", "delay": 0.2}, id="timeout"),
    ],
)
def test_it_deletes_a_key_whose_create_answer_was_lost(
    provision, sandbox, customer_a, settings, fault
):
    settings.DEEPGRAM_READ_TIMEOUT = 0.1
    keys_before = set(sandbox.key_ids())
    sandbox.queue_fault(method="POST", committed=True, **fault)

    with pytest.raises(ProvisionFailed, match="secret was lost, so the key was deleted"):
        provision(customer_a)

    assert set(sandbox.key_ids()) == keys_before
    assert [call.method for call in sandbox.calls] == ["POST", "GET", "DELETE"]
    assert not ApiKey.objects.exists()
    assert ProvisionAttempt.objects.get().status == ProvisionAttempt.Status.FAILED


def test_it_reports_a_lost_create_that_did_not_happen(provision, sandbox, customer_a):
    keys_before = set(sandbox.key_ids())
    sandbox.queue_fault("server_error", method="POST")

    with pytest.raises(ProvisionFailed, match="it did not create the key"):
        provision(customer_a)

    assert set(sandbox.key_ids()) == keys_before
    assert [call.method for call in sandbox.calls] == ["POST", "GET"]


def test_it_leaves_an_unresolved_attempt_when_checking_fails_too(
    provision, sandbox, customer_a, settings
):
    settings.DEEPGRAM_MAX_RETRIES = 0
    sandbox.queue_fault("server_error", method="POST", committed=True)
    sandbox.queue_fault("server_error", method="GET")

    with pytest.raises(ProvisionFailed, match="checking failed"):
        provision(customer_a)

    assert ProvisionAttempt.objects.get().status == ProvisionAttempt.Status.UNRESOLVED


def _break_key_inserts():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_key() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_key BEFORE INSERT ON customers_apikey "
                "FOR EACH ROW EXECUTE FUNCTION refuse_key()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_key BEFORE INSERT ON customers_apikey "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )


def test_it_deletes_the_key_on_deepgram_when_saving_it_fails(provision, sandbox, customer_a):
    keys_before = set(sandbox.key_ids())
    _break_key_inserts()

    with pytest.raises(ProvisionFailed, match="deleted on Deepgram again"):
        provision(customer_a)

    assert set(sandbox.key_ids()) == keys_before
    assert [call.method for call in sandbox.calls] == ["POST", "DELETE"]
    event = KeyEvent.objects.get()
    assert event.outcome == KeyEvent.Outcome.ROLLED_BACK
    assert event.key_id


def test_it_says_so_when_the_rollback_fails_too(provision, sandbox, customer_a, settings):
    settings.DEEPGRAM_MAX_RETRIES = 0
    _break_key_inserts()
    sandbox.queue_fault("server_error", method="DELETE")

    with pytest.raises(ProvisionFailed, match=r"Revoke key .* under Reconcile"):
        provision(customer_a)

    assert ProvisionAttempt.objects.get().status == ProvisionAttempt.Status.UNRESOLVED


def test_it_refuses_scopes_beyond_usage_write(provision, sandbox, customer_a):
    with pytest.raises(ProvisionFailed, match="only have the scopes usage:write") as caught:
        provision(customer_a, scopes=["usage:write", "keys:read"])

    assert caught.value.field == "scopes"
    assert sandbox.calls == []
