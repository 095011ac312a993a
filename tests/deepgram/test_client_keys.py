from datetime import UTC, datetime, timedelta

import pytest

from billing_portal.deepgram import BadRequestError, NotFoundError


def test_it_lists_and_gets_projects(client, project_id):
    projects = client.list_projects()

    assert project_id in {project.project_id for project in projects}
    assert client.get_project(project_id).project_id == project_id


def test_it_creates_lists_gets_and_deletes_a_key(client, project_id):
    created = client.create_key(
        project_id, comment="Acme Voice Ltd", scopes=["usage:write"], tags=["customer:acme"]
    )

    assert created.secret and created.api_key_id
    assert created.comment == "Acme Voice Ltd"
    assert created.scopes == ("usage:write",)
    assert created.tags == ("customer:acme",)
    listed = {key.api_key.api_key_id: key for key in client.list_keys(project_id)}
    assert listed[created.api_key_id].api_key.comment == "Acme Voice Ltd"
    assert client.get_key(project_id, created.api_key_id).api_key.scopes == ("usage:write",)

    client.delete_key(project_id, created.api_key_id)

    with pytest.raises(NotFoundError):
        client.get_key(project_id, created.api_key_id)
    assert created.api_key_id not in {k.api_key.api_key_id for k in client.list_keys(project_id)}


def test_it_keeps_the_secret_out_of_repr(client, project_id):
    created = client.create_key(project_id, comment="repr check", scopes=["member"])

    assert created.secret not in repr(created)
    assert "sandbox-management-key" not in repr(client)


@pytest.mark.parametrize("envelope", ["flat", "item"])
def test_it_reads_both_get_key_envelopes(client, sandbox, project_id, envelope):
    created = client.create_key(project_id, comment="envelope", scopes=["member"], tags=["a"])
    sandbox.configure(key_envelope=envelope)

    key = client.get_key(project_id, created.api_key_id)

    assert key.api_key.api_key_id == created.api_key_id
    assert key.api_key.comment == "envelope"
    assert key.api_key.tags == ("a",)
    assert key.member is not None and key.member.email


def test_it_sends_an_expiration_date_in_utc(client, project_id):
    expiry = datetime(2031, 5, 1, 12, 30, tzinfo=UTC)

    created = client.create_key(
        project_id, comment="expiring", scopes=["member"], expiration_date=expiry
    )

    assert created.expiration_date == expiry


def test_it_sends_a_time_to_live(client, project_id):
    created = client.create_key(
        project_id, comment="ttl", scopes=["member"], time_to_live_in_seconds=3600
    )

    assert created.expiration_date is not None
    assert created.expiration_date - datetime.now(UTC) < timedelta(hours=1, minutes=1)


def test_it_refuses_both_expiry_kinds_without_calling(client, sandbox, project_id):
    with pytest.raises(ValueError, match="not both"):
        client.create_key(
            project_id,
            comment="x",
            scopes=["member"],
            expiration_date=datetime(2031, 1, 1, tzinfo=UTC),
            time_to_live_in_seconds=60,
        )

    assert sandbox.calls == []


def test_it_reports_deepgrams_message_for_a_bad_request(client, sandbox, project_id):
    with pytest.raises(BadRequestError) as caught:
        client.create_key(project_id, comment="", scopes=["member"])

    assert caught.value.status == 400
    assert caught.value.message
    assert caught.value.request_id
    assert len(sandbox.calls) == 1


def test_it_raises_not_found_for_an_unknown_project(client):
    with pytest.raises(NotFoundError) as caught:
        client.list_keys("00000000-0000-4000-8000-000000000000")

    assert "Project not found." in str(caught.value)
    assert caught.value.err_code == "PROJECT_NOT_FOUND"


def test_it_reads_the_plain_text_error_of_a_malformed_project_id(client):
    with pytest.raises(NotFoundError, match="UUID parsing failed"):
        client.list_keys("not-a-uuid")


def test_it_deletes_an_unknown_key_as_not_found(client, project_id):
    with pytest.raises(NotFoundError):
        client.delete_key(project_id, "11111111-1111-4111-8111-111111111111")
