"""Key work in the admin against the Deepgram sandbox: rotate, the revoke action, reconcile and
import. Every operation is audited with its actor.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing_portal.deepgram import client_from_settings
from customers.exceptions import ProvisionFailed
from customers.models import ApiKey, KeyEvent, ProvisionAttempt
from customers.services import api_keys_revoke_due

KEYS = "admin:customers_apikey_changelist"


@pytest.fixture
def acme_key(provision, customer_a):
    return provision(customer_a, tags=["customer:acme"], scopes=["usage:write"]).api_key


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def events(action) -> list[tuple]:
    return list(
        KeyEvent.objects.filter(action=action)
        .order_by("id")
        .values_list("key_id", "outcome", "actor__username")
    )


def delete_upstream(api_key) -> None:
    """Delete the key behind the portal's back, as someone in the Deepgram console would."""
    client_from_settings().delete_key(api_key.project.project_id, api_key.key_id)


# --- Rotate ---------------------------------------------------------------------------------


def rotate_url(api_key) -> str:
    return reverse("admin:customers_apikey_rotate", args=[api_key.pk])


def rotate_form(client, api_key, **changes) -> dict:
    form = client.get(rotate_url(api_key)).context["form"]
    return {"token": str(form["token"].value()), "when": "now", "revoke_at": "", **changes}


def test_it_rotates_a_key_and_revokes_the_old_one_at_once(support, sandbox, acme_key, support_user):
    response = support.post(rotate_url(acme_key), rotate_form(support, acme_key))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = ApiKey.objects.get(replaces=acme_key)
    assert response.text.count(response.context["secret"]) == 1
    assert new.key_id in response.text
    assert f"The old key {acme_key.key_id} was revoked." in response.text
    acme_key.refresh_from_db()
    assert (acme_key.status, acme_key.revoked_by) == (ApiKey.Status.REVOKED, support_user)
    assert acme_key.key_id not in sandbox.key_ids()
    assert new.key_id in sandbox.key_ids()
    assert (new.customer, new.project, new.scopes, new.tags, new.status) == (
        acme_key.customer,
        acme_key.project,
        ["usage:write"],
        ["customer:acme"],
        ApiKey.Status.ACTIVE,
    )
    assert new.comment.startswith("Acme Voice Ltd [ref ")
    assert new.comment.count("[ref ") == 1
    assert events(KeyEvent.Action.ROTATE) == [(new.key_id, "ok", "support")]
    assert events(KeyEvent.Action.REVOKE) == [(acme_key.key_id, "ok", "support")]


def test_it_rotates_a_key_and_revokes_the_old_one_later(support, sandbox, acme_key):
    when = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    data = rotate_form(support, acme_key, when="later", revoke_at=when.strftime("%Y-%m-%dT%H:%M"))

    response = support.post(rotate_url(acme_key), data)

    assert response.context["secret"]
    assert f"will be revoked at {when:%Y-%m-%d %H:%M} UTC" in response.text
    acme_key.refresh_from_db()
    assert (acme_key.status, acme_key.revoke_at) == (ApiKey.Status.ACTIVE, when)
    assert acme_key.key_id in sandbox.key_ids()
    assert events(KeyEvent.Action.SCHEDULE_REVOKE) == [(acme_key.key_id, "ok", "support")]

    assert api_keys_revoke_due(now=when - timedelta(minutes=1)) == (0, 0)
    assert api_keys_revoke_due(now=when + timedelta(minutes=1)) == (1, 0)

    acme_key.refresh_from_db()
    assert (acme_key.status, acme_key.revoke_at) == (ApiKey.Status.REVOKED, None)
    assert acme_key.key_id not in sandbox.key_ids()
    assert events(KeyEvent.Action.REVOKE) == [(acme_key.key_id, "ok", None)]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        pytest.param({"when": "later"}, "Choose when to revoke the old key.", id="no time"),
        pytest.param(
            {"when": "later", "revoke_at": "2020-01-01T10:00"},
            "The time must be in the future.",
            id="time in the past",
        ),
    ],
)
def test_it_wants_a_future_time_for_a_later_revocation(support, sandbox, acme_key, changes, error):
    sandbox.calls.clear()

    response = support.post(rotate_url(acme_key), rotate_form(support, acme_key, **changes))

    assert response.context["form"].errors == {"revoke_at": [error]}
    assert sandbox.calls == []
    assert ApiKey.objects.count() == 1


def test_it_creates_no_second_key_for_the_same_rotate_form(support, sandbox, acme_key):
    data = rotate_form(support, acme_key)
    first = support.post(rotate_url(acme_key), data)

    second = support.post(rotate_url(acme_key), data)

    assert "already submitted" in second.text, second.context["form"].non_field_errors()
    assert ApiKey.objects.get(replaces=acme_key).key_id in second.text
    assert first.context["secret"] not in second.text
    assert ApiKey.objects.count() == 2
    assert [call.method for call in sandbox.calls].count("POST") == 2  # acme_key, its successor


def test_it_creates_no_second_key_for_the_same_rotate_later_form(support, sandbox, acme_key):
    data = rotate_form(support, acme_key, when="later", revoke_at="2099-01-01T00:00")
    support.post(rotate_url(acme_key), data)

    second = support.post(rotate_url(acme_key), data)

    assert "already submitted" in second.text
    assert ApiKey.objects.count() == 2


def test_it_refuses_to_rotate_the_key_of_a_suspended_customer(
    support, sandbox, acme_key, customer_a
):
    customer_a.status = customer_a.Status.SUSPENDED
    customer_a.save()
    sandbox.calls.clear()

    response = support.post(rotate_url(acme_key), rotate_form(support, acme_key))

    assert response.context["form"].non_field_errors() == ["Acme Voice Ltd is suspended."]
    assert sandbox.calls == []
    acme_key.refresh_from_db()
    assert acme_key.status == ApiKey.Status.ACTIVE


def test_it_refuses_to_rotate_a_revoked_key(support, sandbox, acme_key):
    acme_key.status = ApiKey.Status.REVOKED
    acme_key.save()
    sandbox.calls.clear()

    response = support.post(rotate_url(acme_key), rotate_form(support, acme_key))

    assert response.context["form"].non_field_errors() == ["Only an active key can be rotated."]
    assert sandbox.calls == []


def test_it_keeps_the_new_key_when_revoking_the_old_one_fails(support, sandbox, acme_key, settings):
    settings.DEEPGRAM_MAX_RETRIES = 1
    sandbox.queue_fault("server_error", method="DELETE", count=2)

    response = support.post(rotate_url(acme_key), rotate_form(support, acme_key))

    assert response.context["secret"]
    assert "retried by the next scheduled run" in response.text
    acme_key.refresh_from_db()
    assert acme_key.status == ApiKey.Status.ACTIVE
    assert acme_key.revoke_at is not None
    assert api_keys_revoke_due() == (1, 0)
    assert acme_key.key_id not in sandbox.key_ids()


# --- The revoke action ----------------------------------------------------------------------


def revoke(client, *keys, confirmed=False, follow=False):
    data = {"action": "revoke_selected", "_selected_action": [key.pk for key in keys]}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(reverse(KEYS), data, follow=follow)


def test_it_asks_before_revoking(support, sandbox, provision, customer_a, customer_b):
    first = provision(customer_a).api_key
    second = provision(customer_b).api_key
    sandbox.calls.clear()

    response = revoke(support, first, second)

    assert response.status_code == 200
    assert {key.key_id for key in response.context["keys"]} == {first.key_id, second.key_id}
    assert first.key_id in response.text
    assert second.key_id in response.text
    assert "Yes, revoke 2 keys" in response.text
    assert sandbox.calls == []
    assert set(ApiKey.objects.values_list("status", flat=True)) == {ApiKey.Status.ACTIVE}


def test_it_revokes_once_confirmed(
    support, sandbox, provision, customer_a, customer_b, support_user
):
    first = provision(customer_a).api_key
    second = provision(customer_b).api_key

    response = revoke(support, first, second, confirmed=True, follow=True)

    assert response.redirect_chain == [(reverse(KEYS), 302)]
    assert messages_of(response) == ["Revoked 2 keys."]
    for key in (first, second):
        key.refresh_from_db()
        assert (key.status, key.revoked_by) == (ApiKey.Status.REVOKED, support_user)
        assert key.revoked_at is not None
        assert key.key_id not in sandbox.key_ids()
    assert [call.method for call in sandbox.calls].count("DELETE") == 2
    assert set(events(KeyEvent.Action.REVOKE)) == {
        (first.key_id, "ok", "support"),
        (second.key_id, "ok", "support"),
    }


def test_it_skips_keys_that_are_revoked_already(support, sandbox, acme_key):
    acme_key.status = ApiKey.Status.REVOKED
    acme_key.save()

    response = revoke(support, acme_key)

    assert response.context["keys"] == []
    assert "revoked already" in response.text


def test_it_marks_a_key_gone_upstream_as_revoked(support, sandbox, acme_key):
    delete_upstream(acme_key)

    response = revoke(support, acme_key, confirmed=True, follow=True)

    assert messages_of(response) == ["Revoked 1 key."]
    acme_key.refresh_from_db()
    assert acme_key.status == ApiKey.Status.REVOKED
    event = KeyEvent.objects.get(action=KeyEvent.Action.REVOKE)
    assert (event.outcome, event.actor.username) == (KeyEvent.Outcome.OK, "support")
    assert event.detail == "It was already gone on Deepgram."


def test_it_leaves_the_key_active_when_deepgram_fails(support, sandbox, acme_key, settings):
    settings.DEEPGRAM_MAX_RETRIES = 1
    sandbox.queue_fault("server_error", method="DELETE", count=2)

    response = revoke(support, acme_key, confirmed=True, follow=True)

    assert f"Deepgram did not revoke {acme_key.key_id}: Internal server error." in (
        messages_of(response)
    )
    error = next(m for m in response.context["messages"] if m.level_tag == "error")
    assert acme_key.key_id in str(error)
    acme_key.refresh_from_db()
    assert acme_key.status == ApiKey.Status.ACTIVE
    assert acme_key.key_id in sandbox.key_ids()
    assert events(KeyEvent.Action.REVOKE) == [(acme_key.key_id, "failed", "support")]


# --- Reconcile and import -------------------------------------------------------------------


def reconcile(client, project, **data):
    return client.post(
        reverse("admin:customers_apikey_reconcile"),
        {"project": project.pk, "action": "reconcile", **data},
    )


def test_it_shows_the_reconcile_page_without_calling_deepgram(support, sandbox, default_project):
    response = support.get(reverse("admin:customers_apikey_reconcile"))

    assert response.status_code == 200
    assert response.context["project"] == default_project
    assert response.context["report"] is None
    assert sandbox.calls == []


def test_it_marks_a_key_deleted_upstream_as_missing(support, sandbox, acme_key, default_project):
    delete_upstream(acme_key)

    response = reconcile(support, default_project)

    assert response.context["report"].marked_missing == [acme_key]
    assert acme_key.key_id in response.text
    acme_key.refresh_from_db()
    assert acme_key.status == ApiKey.Status.MISSING_UPSTREAM
    assert events(KeyEvent.Action.MARK_MISSING) == [(acme_key.key_id, "ok", "support")]


def test_it_matches_the_keys_deepgram_has(support, sandbox, acme_key, default_project):
    response = reconcile(support, default_project)

    report = response.context["report"]
    assert report.matched == [acme_key]
    assert report.marked_missing == []
    acme_key.refresh_from_db()
    assert acme_key.status == ApiKey.Status.ACTIVE


def test_it_marks_an_expired_key_expired(support, sandbox, acme_key, default_project):
    acme_key.expires_at = timezone.now() - timedelta(hours=1)
    acme_key.save()

    response = reconcile(support, default_project)

    assert response.context["report"].marked_expired == 1
    acme_key.refresh_from_db()
    assert acme_key.status == ApiKey.Status.EXPIRED
    assert events(KeyEvent.Action.MARK_EXPIRED) == [(acme_key.key_id, "ok", "support")]


def test_it_lists_a_key_the_portal_does_not_know(support, sandbox, acme_key, default_project):
    made = sandbox.add_key("Made in the console", scopes=["usage:write"])

    response = reconcile(support, default_project)

    unknown = [key.api_key.api_key_id for key in response.context["report"].unknown]
    assert made["api_key_id"] in unknown
    assert acme_key.key_id not in unknown
    assert "Made in the console" in response.text
    assert made["key"] not in response.text


def test_it_imports_a_key_for_a_customer(support, sandbox, customer_a, default_project):
    made = sandbox.add_key("Made in the console", scopes=["usage:write"], tags=["env:prod"])

    response = reconcile(
        support, default_project, action="import", key_id=made["api_key_id"], customer=customer_a.pk
    )

    assert f"Imported {made['api_key_id']} for Acme Voice Ltd." in messages_of(response)
    key = ApiKey.objects.get(key_id=made["api_key_id"])
    assert (key.customer, key.project, key.imported, key.status) == (
        customer_a,
        default_project,
        True,
        ApiKey.Status.ACTIVE,
    )
    assert (key.comment, key.scopes, key.tags) == (
        "Made in the console",
        ["usage:write"],
        ["env:prod"],
    )
    unknown = [k.api_key.api_key_id for k in response.context["report"].unknown]
    assert made["api_key_id"] not in unknown
    assert events(KeyEvent.Action.IMPORT) == [(made["api_key_id"], "ok", "support")]


def test_it_imports_a_key_only_once(support, sandbox, customer_a, customer_b, default_project):
    made = sandbox.add_key("Made in the console", scopes=["usage:write"])
    reconcile(
        support, default_project, action="import", key_id=made["api_key_id"], customer=customer_a.pk
    )

    response = reconcile(
        support, default_project, action="import", key_id=made["api_key_id"], customer=customer_b.pk
    )

    assert f"Key {made['api_key_id']} is already in the portal." in messages_of(response)
    assert ApiKey.objects.get(key_id=made["api_key_id"]).customer == customer_a


def test_it_imports_only_for_an_active_customer(support, sandbox, customer_a, default_project):
    made = sandbox.add_key("Made in the console")
    customer_a.status = customer_a.Status.SUSPENDED
    customer_a.save()

    response = reconcile(
        support, default_project, action="import", key_id=made["api_key_id"], customer=customer_a.pk
    )

    assert "Choose an active customer to import the key for." in messages_of(response)
    assert not ApiKey.objects.exists()


def test_it_deletes_a_key_left_by_an_unresolved_attempt(
    support, sandbox, provision, customer_a, default_project, settings
):
    settings.DEEPGRAM_MAX_RETRIES = 0
    sandbox.queue_fault("server_error", method="POST", committed=True)
    sandbox.queue_fault("server_error", method="GET")
    with pytest.raises(ProvisionFailed, match="checking failed"):
        provision(customer_a)
    [orphan] = [key for key in sandbox.key_ids() if key != console_key_id(sandbox)]

    response = reconcile(support, default_project)

    report = response.context["report"]
    assert report.orphans_deleted == [orphan]
    assert orphan not in [key.api_key.api_key_id for key in report.unknown]
    assert orphan not in sandbox.key_ids()
    assert ProvisionAttempt.objects.get().status == ProvisionAttempt.Status.FAILED
    event = KeyEvent.objects.get(outcome=KeyEvent.Outcome.ROLLED_BACK)
    assert (event.key_id, event.actor.username) == (orphan, "support")


def console_key_id(sandbox) -> str:
    [key] = [
        k
        for k in sandbox.describe_keys()
        if "owner" in k["scopes"] and k["project_id"] == sandbox.project_id
    ]
    return key["api_key_id"]


def test_it_reports_that_deepgram_could_not_list_the_keys(
    support, sandbox, default_project, settings
):
    settings.DEEPGRAM_MAX_RETRIES = 0
    sandbox.queue_fault("server_error", method="GET")

    response = reconcile(support, default_project)

    assert response.status_code == 200
    assert response.context["error"] == ("Deepgram could not list the keys: Internal server error.")
    assert response.context["report"] is None


# --- The key's own page -------------------------------------------------------------------


def key_page(client, api_key) -> str:
    return client.get(reverse("admin:customers_apikey_change", args=[api_key.pk])).text


def test_a_key_s_page_revokes_it_through_the_confirmed_action(support, sandbox, acme_key):
    page = key_page(support, acme_key)
    assert 'class="revoke-key"' in page and f'value="{acme_key.pk}"' in page

    # The page's button posts the list's action: a confirmation first, nothing revoked yet.
    asked = support.post(
        reverse("admin:customers_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [acme_key.pk]},
    )
    assert asked.status_code == 200 and acme_key.key_id in asked.text
    assert ApiKey.objects.get(pk=acme_key.pk).status == ApiKey.Status.ACTIVE

    revoke(support, acme_key, confirmed=True)

    acme_key.refresh_from_db()
    assert acme_key.status == ApiKey.Status.REVOKED and acme_key.key_id not in sandbox.key_ids()
    assert 'class="revoke-key"' not in key_page(support, acme_key)


def test_a_rotated_key_links_to_its_replacement_and_offers_no_rotate(support, sandbox, acme_key):
    when = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    support.post(
        rotate_url(acme_key),
        rotate_form(support, acme_key, when="later", revoke_at=when.strftime("%Y-%m-%dT%H:%M")),
    )
    new = ApiKey.objects.get(replaces=acme_key)

    page = key_page(support, acme_key)

    assert (
        f'href="{reverse("admin:customers_apikey_change", args=[new.pk])}">{new.key_id}</a>' in page
    )
    assert "Rotate key" not in page
    assert (
        f"Active until {when:%Y-%m-%d %H:%M} UTC (then revoked)"
        in support.get(reverse("admin:customers_apikey_changelist")).text
    )
    assert "Rotate key" in key_page(support, new)
