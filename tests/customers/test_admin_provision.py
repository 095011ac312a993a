"""Provisioning a key from the customer's admin page, against the Deepgram sandbox."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import ApiKey, Customer, KeyEvent, ProvisionAttempt

UNKNOWN_PROJECT = "00000000-0000-4000-8000-00000000dead"


def provision_url(customer) -> str:
    return reverse("admin:customers_customer_provision_key", args=[customer.pk])


def filled_form(client, customer, **changes) -> dict:
    """The form as the page offers it (with its one-time token), filled in, with `changes`."""
    form = client.get(provision_url(customer)).context["form"]
    data = {
        "token": str(form["token"].value()),
        "project": form["project"].value(),
        "comment": "Acme production",
        "scopes": ["usage:write"],
        "tags": "customer:acme, env:prod",
        "expires_on": "",
        "ttl_hours": "",
    }
    data.update(changes)
    return data


def upstream_keys(sandbox) -> dict[str, dict]:
    """The sandbox project's live keys other than its seeded management key."""
    live = set(sandbox.key_ids())
    return {
        key["api_key_id"]: key
        for key in sandbox.describe_keys()
        if key["api_key_id"] in live and "owner" not in key["scopes"]
    }


# --- Success --------------------------------------------------------------------------------


def test_it_shows_the_new_secret(support, sandbox, customer_a, default_project):
    response = support.post(provision_url(customer_a), filled_form(support, customer_a))

    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret
    assert response.text.count(secret) == 1
    key = ApiKey.objects.get()
    assert key.key_id in response.text
    assert list(upstream_keys(sandbox)) == [key.key_id]


def test_it_forbids_caching_the_secret_page(support, sandbox, customer_a, default_project):
    response = support.post(provision_url(customer_a), filled_form(support, customer_a))

    assert "no-store" in response["Cache-Control"]


def test_it_records_what_was_asked_for(support, sandbox, customer_a, default_project, support_user):
    data = filled_form(support, customer_a, scopes=["usage:write"], ttl_hours="48")

    support.post(provision_url(customer_a), data)

    key = ApiKey.objects.get()
    upstream = upstream_keys(sandbox)[key.key_id]
    assert (key.customer, key.project, key.created_by) == (
        customer_a,
        default_project,
        support_user,
    )
    assert key.scopes == upstream["scopes"] == ["usage:write"]
    assert key.tags == upstream["tags"] == ["customer:acme", "env:prod"]
    assert key.comment == upstream["comment"]
    assert key.comment.startswith("Acme production [ref ")
    assert timedelta(hours=47) < key.expires_at - timezone.now() <= timedelta(hours=48)
    event = KeyEvent.objects.get()
    assert (event.action, event.outcome, event.actor) == (
        KeyEvent.Action.PROVISION,
        KeyEvent.Outcome.OK,
        support_user,
    )


def test_it_sends_an_expiry_date_as_midnight_utc(support, sandbox, customer_a, default_project):
    day = timezone.now().date() + timedelta(days=30)

    support.post(provision_url(customer_a), filled_form(support, customer_a, expires_on=day))

    key = ApiKey.objects.get()
    assert key.expires_at.isoformat() == f"{day.isoformat()}T00:00:00+00:00"
    assert upstream_keys(sandbox)[key.key_id]["expiration_date"].startswith(
        f"{day.isoformat()}T00:00:00"
    )


def test_it_skips_empty_tags(support, sandbox, customer_a, default_project):
    response = support.post(
        provision_url(customer_a), filled_form(support, customer_a, tags="a,,b, ")
    )

    assert response.status_code == 200
    assert ApiKey.objects.get().tags == ["a", "b"]


def test_it_offers_the_default_project_and_the_customers_name(support, customer_a, default_project):
    form = support.get(provision_url(customer_a)).context["form"]

    assert form["project"].value() == default_project.pk
    assert form["comment"].value() == "Acme Voice Ltd"
    assert form["scopes"].value() == ["usage:write"]


def test_it_gives_404_for_an_unknown_customer(support, default_project):
    response = support.get(reverse("admin:customers_customer_provision_key", args=[999999]))

    assert response.status_code == 404


# --- A second submit ------------------------------------------------------------------------


def test_it_creates_no_second_key_for_the_same_form(support, sandbox, customer_a, default_project):
    data = filled_form(support, customer_a)
    first = support.post(provision_url(customer_a), data)
    posts_before = [call for call in sandbox.calls if call.method == "POST"]

    second = support.post(provision_url(customer_a), data)

    assert second.status_code == 200
    assert "already submitted" in second.text
    assert first.context["secret"] not in second.text
    assert "secret" not in second.context
    assert [call for call in sandbox.calls if call.method == "POST"] == posts_before
    assert len(upstream_keys(sandbox)) == 1
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().key_id in second.text


# --- Input the form refuses -----------------------------------------------------------------


def too_many_tags() -> str:
    return ", ".join(f"tag{n}" for n in range(21))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"comment": ""}, "comment", id="empty comment"),
        pytest.param({"comment": "x" * 101}, "comment", id="comment too long"),
        pytest.param({"scopes": ["admin"]}, "scopes", id="unknown scope"),
        pytest.param({"scopes": []}, "scopes", id="no scope"),
        pytest.param({"expires_on": "2020-01-01"}, "expires_on", id="expiry in the past"),
        pytest.param({"ttl_hours": "0"}, "ttl_hours", id="no time to live"),
        pytest.param({"tags": "bad tag!"}, "tags", id="malformed tag"),
        pytest.param({"tags": "-leading-dash"}, "tags", id="tag starting with a dash"),
        pytest.param({"tags": too_many_tags()}, "tags", id="21 tags"),
        pytest.param({"project": "999999"}, "project", id="unknown project"),
    ],
)
def test_it_shows_a_field_error_and_calls_nobody(
    support, sandbox, customer_a, default_project, changes, field
):
    response = support.post(provision_url(customer_a), filled_form(support, customer_a, **changes))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert "secret" not in response.context
    assert sandbox.calls == []
    assert not ApiKey.objects.exists()
    assert not ProvisionAttempt.objects.exists()


def test_it_refuses_an_expiry_of_today(support, sandbox, customer_a, default_project):
    today = timezone.now().date()

    response = support.post(
        provision_url(customer_a), filled_form(support, customer_a, expires_on=today)
    )

    assert response.context["form"].errors["expires_on"] == [
        "The expiry date must be in the future."
    ]
    assert sandbox.calls == []


def test_it_refuses_an_expiry_date_and_a_time_to_live(
    support, sandbox, customer_a, default_project
):
    day = timezone.now().date() + timedelta(days=30)
    data = filled_form(support, customer_a, expires_on=day, ttl_hours="24")

    response = support.post(provision_url(customer_a), data)

    assert response.context["form"].non_field_errors() == [
        "Give an expiry date or a time to live, not both."
    ]
    assert sandbox.calls == []
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("status", [Customer.Status.SUSPENDED, Customer.Status.CLOSED])
def test_it_refuses_a_customer_that_is_not_active(
    support, sandbox, customer_a, default_project, status
):
    data = filled_form(support, customer_a)
    customer_a.status = status
    customer_a.save()

    response = support.post(provision_url(customer_a), data)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"Acme Voice Ltd is {status.label.lower()}: only active customers get keys."
    ]
    assert sandbox.calls == []
    assert not ApiKey.objects.exists()


def test_it_accepts_the_corrected_form(support, sandbox, customer_a, default_project):
    data = filled_form(support, customer_a, tags="bad tag!")
    support.post(provision_url(customer_a), data)

    response = support.post(provision_url(customer_a), {**data, "tags": "env:prod"})

    assert response.context["secret"]
    assert ApiKey.objects.get().tags == ["env:prod"]


# --- Deepgram's errors ----------------------------------------------------------------------


def resubmit_works(client, customer, response, data) -> bool:
    """The form came back with a fresh token, and sending it again creates the key."""
    token = str(response.context["form"]["token"].value())
    assert token != data["token"]
    again = client.post(provision_url(customer), {**data, "token": token})
    return bool(again.context.get("secret")) and ApiKey.objects.count() == 1


def test_it_blames_the_project_deepgram_does_not_know(
    support, sandbox, customer_a, default_project
):
    data = filled_form(support, customer_a)
    real_project_id = default_project.project_id
    default_project.project_id = UNKNOWN_PROJECT
    default_project.save()

    response = support.post(provision_url(customer_a), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["project"]
    assert "Project not found." in errors["project"][0]
    assert UNKNOWN_PROJECT in errors["project"][0]
    assert not ApiKey.objects.exists()
    default_project.project_id = real_project_id
    default_project.save()
    assert resubmit_works(support, customer_a, response, data)


def test_it_shows_deepgrams_refusal(support, sandbox, customer_a, default_project, support_user):
    sandbox.queue_fault(
        "error", status=403, method="POST", message="Scope usage:read is not allowed."
    )
    data = filled_form(support, customer_a)

    response = support.post(provision_url(customer_a), data)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Deepgram refused to create the key: Scope usage:read is not allowed."
    ]
    assert "Scope usage:read is not allowed." in response.text
    assert upstream_keys(sandbox) == {}
    assert not ApiKey.objects.exists()
    event = KeyEvent.objects.get()
    assert (event.outcome, event.actor) == (KeyEvent.Outcome.FAILED, support_user)
    assert resubmit_works(support, customer_a, response, data)


def test_it_deletes_a_key_whose_create_answer_was_lost(
    support, sandbox, customer_a, default_project
):
    sandbox.queue_fault("server_error", method="POST", committed=True)
    data = filled_form(support, customer_a)

    response = support.post(provision_url(customer_a), data)

    assert response.status_code == 200
    [error] = response.context["form"].non_field_errors()
    assert "secret was lost, so the key was deleted again" in error
    assert "secret" not in response.context
    assert upstream_keys(sandbox) == {}
    assert [call.method for call in sandbox.calls] == ["POST", "GET", "DELETE"]
    assert not ApiKey.objects.exists()
    assert resubmit_works(support, customer_a, response, data)


def test_it_says_already_submitted_for_the_failed_token(
    support, sandbox, customer_a, default_project
):
    sandbox.queue_fault("error", status=403, method="POST")
    data = filled_form(support, customer_a)
    support.post(provision_url(customer_a), data)

    response = support.post(provision_url(customer_a), data)

    assert "already submitted" in response.text
    assert "did not create a key" in response.text
    assert [call.method for call in sandbox.calls] == ["POST"]
    assert not ApiKey.objects.exists()
