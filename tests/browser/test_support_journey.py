"""A support agent onboards a customer: creates it, provisions its key, rotates and revokes."""

import uuid
from datetime import UTC, datetime, timedelta

from customers.models import ApiKey
from customers.services import api_key_provision


def _secret_and_key_id(page) -> tuple[str, str]:
    secret = page.locator("#key-secret").input_value()
    key_id = page.locator("tr", has=page.locator("th", has_text="Key id")).locator("code")
    return secret, key_id.inner_text()


def _create_customer(page) -> None:
    page.goto("/admin/customers/customer/add/")
    page.get_by_label("Name:", exact=True).fill("Initech Speech")
    page.get_by_label("Billing email:").fill("accounts@initech.example")
    page.get_by_label("Currency:").fill("EUR")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()


def _provision_key(page) -> tuple[str, str]:
    page.locator("#result_list").get_by_role("link", name="Initech Speech").click()
    page.get_by_role("link", name="Provision Deepgram key").click()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Create key").click()
    assert "no-store" in posted.value.headers["cache-control"]
    return _secret_and_key_id(page)


def _rotate_later(page) -> tuple[str, str]:
    page.get_by_role("link", name="Rotate key").click()
    page.get_by_label("At a chosen time (UTC)").check()
    later = datetime.now(UTC) + timedelta(days=2)
    page.get_by_label("Revoke at (UTC):").fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Create replacement").click()
    page.locator("#key-secret").wait_for()
    return _secret_and_key_id(page)


def _revoke_from_the_list(page, key_id: str) -> None:
    page.goto("/admin/customers/apikey/")
    row = page.locator("#result_list tbody tr", has=page.get_by_role("link", name=key_id))
    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option(label="Revoke selected keys")
    page.get_by_role("button", name="Go").click()
    page.get_by_text(key_id).wait_for()
    page.get_by_role("button", name="Yes, revoke 1 key").click()
    page.get_by_text("Revoked 1 key.").wait_for()


def _status_in_list(page, key_id: str) -> str:
    row = page.locator("#result_list tbody tr", has=page.get_by_role("link", name=key_id))
    return row.locator("td.field-status_note").inner_text()


def test_it_takes_a_customer_from_creation_to_a_rotated_key(
    log_in, page, sandbox, support_user, default_project
):
    log_in(support_user)
    _create_customer(page)

    first_secret, first_key = _provision_key(page)
    assert first_secret
    assert first_key in sandbox.key_ids()

    page.reload()
    page.get_by_text("This form was already submitted").wait_for()
    assert first_secret not in page.content()
    assert page.locator("#key-secret").count() == 0

    page.get_by_role("link", name=first_key).click()
    second_secret, second_key = _rotate_later(page)
    assert second_secret and second_secret != first_secret
    assert second_key != first_key
    assert page.get_by_text(f"The old key {first_key} will be revoked at").is_visible()
    assert {first_key, second_key} <= set(sandbox.key_ids())

    _revoke_from_the_list(page, first_key)
    assert _status_in_list(page, first_key) == "Revoked"
    assert _status_in_list(page, second_key) == "Active"
    assert first_key not in sandbox.key_ids()
    assert second_key in sandbox.key_ids()
    assert ApiKey.objects.get(key_id=second_key).replaces.key_id == first_key


def test_it_rotates_a_key_and_revokes_the_old_one_at_once(
    log_in, page, sandbox, support_user, default_project, customer_a
):
    old = api_key_provision(
        customer=customer_a,
        project=default_project,
        comment=customer_a.name,
        scopes=["usage:write"],
        actor=support_user,
        token=uuid.uuid4(),
    ).api_key
    log_in(support_user)

    page.goto(f"/admin/customers/apikey/{old.pk}/change/")
    page.get_by_role("link", name="Rotate key").click()
    page.get_by_role("button", name="Create replacement").click()
    page.locator("#key-secret").wait_for()

    secret, new_key = _secret_and_key_id(page)
    assert secret
    assert page.get_by_text(f"The old key {old.key_id} was revoked.").is_visible()
    assert new_key in sandbox.key_ids()
    assert old.key_id not in sandbox.key_ids()
    old.refresh_from_db()
    assert old.status == ApiKey.Status.REVOKED
