"""The sandbox's projects, keys, balances and routing, spoken to over HTTP with `requests`."""

import json
import uuid

import pytest
import requests
from django.conf import settings

TOKEN = settings.SANDBOX_API_KEY
PROJECT = settings.SANDBOX_PROJECT_ID
STAGING = "5a4d0b2e-0000-4000-8000-5a4db0c5e002"
KEYS = f"/v1/projects/{PROJECT}/keys"


def call(server, method, path, *, headers=None, **kwargs):
    headers = {"Authorization": f"Token {TOKEN}", **(headers or {})}
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kwargs)


def create_key(server, **fields):
    body = {"comment": "Customer A", "scopes": ["member"], **fields}
    response = call(server, "POST", KEYS, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def assert_legacy_error(response, status, code):
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"err_code", "err_msg", "request_id"}
    assert body["err_code"] == code
    assert body["request_id"] == response.headers["dg-request-id"]


def assert_modern_error(response, category):
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"category", "message", "details", "request_id"}
    assert body["category"] == category
    uuid.UUID(body["request_id"])


@pytest.mark.parametrize(
    "auth", ["", "Token wrong-key", f"Bearer {TOKEN}", TOKEN, f"token {TOKEN}"]
)
def test_it_refuses_anything_but_the_management_token(sandbox, auth):
    response = requests.get(
        sandbox.url + "/v1/projects", headers={"Authorization": auth} if auth else {}, timeout=10
    )
    assert_legacy_error(response, 401, "INVALID_AUTH")
    assert response.json()["err_msg"] == "Invalid credentials."


def test_it_puts_a_request_id_on_every_answer(sandbox):
    for response in (call(sandbox, "GET", "/v1/projects"), call(sandbox, "GET", "/v1/nope")):
        uuid.UUID(response.headers["dg-request-id"])


def test_it_lists_both_projects(sandbox):
    projects = call(sandbox, "GET", "/v1/projects").json()["projects"]

    assert projects == [
        {"project_id": PROJECT, "name": "Sandbox project"},
        {"project_id": STAGING, "name": "Sandbox staging"},
    ]


def test_it_gets_a_project(sandbox):
    body = call(sandbox, "GET", f"/v1/projects/{PROJECT}").json()

    assert body == {"project_id": PROJECT, "name": "Sandbox project", "mip_opt_out": False}


def test_it_answers_plain_text_404_for_a_project_id_that_is_no_uuid(sandbox):
    response = call(sandbox, "GET", "/v1/projects/not-a-uuid/keys")

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.startswith("UUID parsing failed")


def test_it_answers_project_not_found_for_an_unknown_project(sandbox):
    response = call(sandbox, "GET", f"/v1/projects/{uuid.uuid4()}/usage")

    assert_legacy_error(response, 404, "PROJECT_NOT_FOUND")
    assert response.json()["err_msg"] == "Project not found."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing"),
        ("GET", f"/v1/projects/{PROJECT}/purchases"),
        ("PUT", f"/v1/projects/{PROJECT}/keys"),
        ("GET", f"/v2/projects/{PROJECT}"),
    ],
)
def test_it_answers_404_to_anything_else(sandbox, method, path):
    assert call(sandbox, method, path).status_code == 404


def test_it_seeds_each_project_with_a_console_key(sandbox):
    for project in (PROJECT, STAGING):
        listed = call(sandbox, "GET", f"/v1/projects/{project}/keys").json()["api_keys"]

        assert [item["api_key"]["comment"] for item in listed] == ["Management key (console)"]
        assert listed[0]["api_key"]["scopes"] == ["owner"]
        assert listed[0]["api_key"]["created"] == "2026-01-01T00:00:00Z"
        assert listed[0]["api_key"]["api_key_id"] == sandbox.key_ids(project)[0]
    assert sandbox.key_ids(PROJECT) != sandbox.key_ids(STAGING)


def test_it_creates_a_key_and_shows_its_secret_once(sandbox):
    created = create_key(sandbox, tags=["customer-a"], scopes=["usage:write"])

    assert uuid.UUID(created["api_key_id"]).version == 4
    assert len(created["key"]) == 40
    assert created["comment"] == "Customer A"
    assert created["scopes"] == ["usage:write"]
    assert created["tags"] == ["customer-a"]
    assert created["created"].endswith("Z")
    assert "expiration_date" not in created
    listing = call(sandbox, "GET", KEYS).text + call(sandbox, "GET", "/__sandbox__/keys").text
    assert created["key"] not in listing


def test_it_lists_created_keys_with_their_member(sandbox):
    created = create_key(sandbox, tags=["gold"])

    listed = call(sandbox, "GET", KEYS).json()["api_keys"]

    assert [item["api_key"]["api_key_id"] for item in listed] == sandbox.key_ids()
    mine = listed[-1]
    assert set(mine["member"]) == {"member_id", "email", "first_name", "last_name"}
    assert mine["api_key"] == {
        "api_key_id": created["api_key_id"],
        "comment": "Customer A",
        "scopes": ["member"],
        "tags": ["gold"],
        "created": created["created"],
    }


def test_it_gets_a_key_in_the_item_envelope_by_default(sandbox):
    created = create_key(sandbox)

    body = call(sandbox, "GET", f"{KEYS}/{created['api_key_id']}").json()

    assert list(body) == ["item"]
    member = body["item"]["member"]
    assert {"member_id", "email", "first_name", "last_name"} <= set(member)
    assert member["api_key"]["api_key_id"] == created["api_key_id"]


def test_it_gets_a_key_flat_when_configured(sandbox):
    created = create_key(sandbox)
    sandbox.configure(key_envelope="flat")

    body = call(sandbox, "GET", f"{KEYS}/{created['api_key_id']}").json()

    assert set(body) == {"member", "api_key"}
    assert body["api_key"]["api_key_id"] == created["api_key_id"]


def test_it_deletes_a_key_and_then_no_longer_knows_it(sandbox):
    key_id = create_key(sandbox)["api_key_id"]

    deleted = call(sandbox, "DELETE", f"{KEYS}/{key_id}")

    assert deleted.json() == {"message": "Successfully deleted the API key!"}
    assert_legacy_error(call(sandbox, "GET", f"{KEYS}/{key_id}"), 404, "NOT_FOUND")
    assert_legacy_error(call(sandbox, "DELETE", f"{KEYS}/{key_id}"), 404, "NOT_FOUND")
    assert key_id not in call(sandbox, "GET", KEYS).text
    assert key_id in sandbox.key_ids(include_deleted=True)


def test_it_answers_404_for_a_key_of_another_project(sandbox):
    staging_key = sandbox.key_ids(STAGING)[0]

    assert call(sandbox, "GET", f"{KEYS}/{staging_key}").status_code == 404
    assert call(sandbox, "DELETE", f"{KEYS}/{staging_key}").status_code == 404
    assert call(sandbox, "GET", f"{KEYS}/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b'["a list"]',
        b'{"scopes": ["member"]}',
        b'{"comment": "  ", "scopes": ["member"]}',
        b'{"comment": "A"}',
        b'{"comment": "A", "scopes": []}',
        b'{"comment": "A", "scopes": ["superuser"]}',
        b'{"comment": "A", "scopes": "member"}',
        b'{"comment": "A", "scopes": ["member"], "tags": "gold"}',
        b'{"comment": "A", "scopes": ["member"], "expiration_date": "2030-01-01T00:00:00Z",'
        b' "time_to_live_in_seconds": 60}',
        b'{"comment": "A", "scopes": ["member"], "expiration_date": "next week"}',
        b'{"comment": "A", "scopes": ["member"], "time_to_live_in_seconds": -5}',
        b'{"comment": "A", "scopes": ["member"], "time_to_live_in_seconds": "60"}',
    ],
)
def test_it_refuses_a_bad_create_body_with_a_modern_400(sandbox, body):
    response = call(sandbox, "POST", KEYS, data=body, headers={"Content-Type": "application/json"})

    assert_modern_error(response, "INVALID_JSON")
    assert sandbox.key_ids() == sandbox.key_ids(include_deleted=True)[:1]


def test_it_keeps_an_expiration_date_and_derives_one_from_a_ttl(sandbox):
    dated = create_key(sandbox, expiration_date="2030-01-01T00:00:00Z")
    ttl = create_key(sandbox, time_to_live_in_seconds=3600)

    assert dated["expiration_date"] == "2030-01-01T00:00:00Z"
    assert ttl["expiration_date"] > ttl["created"]


def test_it_filters_keys_by_status(sandbox):
    expired = create_key(sandbox, comment="old", expiration_date="2020-01-01T00:00:00Z")
    active = create_key(sandbox, comment="new", time_to_live_in_seconds=3600)

    def ids(status):
        listed = call(sandbox, "GET", KEYS, params={"status": status}).json()["api_keys"]
        return {item["api_key"]["api_key_id"] for item in listed}

    assert ids("expired") == {expired["api_key_id"]}
    assert active["api_key_id"] in ids("active")
    assert expired["api_key_id"] not in ids("active")
    assert_modern_error(
        call(sandbox, "GET", KEYS, params={"status": "gone"}), "INVALID_QUERY_PARAMETER"
    )


def test_it_adds_a_console_key_without_an_api_call(sandbox):
    added = sandbox.add_key("Made by hand", scopes=["admin"], tags=["ops"], created="2026-02-01")

    listed = call(sandbox, "GET", KEYS).json()["api_keys"]

    assert added["api_key_id"] in sandbox.key_ids()
    assert listed[-1]["api_key"]["created"] == "2026-02-01T00:00:00Z"
    assert listed[-1]["api_key"]["tags"] == ["ops"]
    assert sandbox.calls[-1].path == KEYS  # the add itself made no call


def test_it_adds_a_console_key_to_another_project(sandbox):
    added = sandbox.add_key("Staging ops", project_id=STAGING)

    assert added["api_key_id"] in sandbox.key_ids(STAGING)
    assert added["api_key_id"] not in sandbox.key_ids()


def test_it_lists_and_gets_the_balance(sandbox):
    balances = json.loads(call(sandbox, "GET", f"/v1/projects/{PROJECT}/balances").text)["balances"]

    assert len(balances) == 1
    balance = balances[0]
    assert set(balance) == {"balance_id", "amount", "units", "purchase_order_id"}
    assert isinstance(balance["amount"], float | int)
    assert balance["units"] == "usd"
    one = call(sandbox, "GET", f"/v1/projects/{PROJECT}/balances/{balance['balance_id']}")
    assert one.json() == balance


def test_it_answers_404_for_an_unknown_balance(sandbox):
    response = call(sandbox, "GET", f"/v1/projects/{PROJECT}/balances/{uuid.uuid4()}")

    assert_legacy_error(response, 404, "NOT_FOUND")


def test_it_resets_to_the_seeded_keys_and_defaults(sandbox):
    create_key(sandbox)
    sandbox.configure(key_envelope="flat", summary_extras=False)
    sandbox.queue_fault("rate_limit")
    sandbox.set_latency(5)

    sandbox.reset()

    assert len(sandbox.key_ids(include_deleted=True)) == 1
    assert sandbox.calls == []
    assert sandbox.latency_ms == 0
    key_id = sandbox.key_ids()[0]
    assert list(call(sandbox, "GET", f"{KEYS}/{key_id}").json()) == ["item"]


def test_it_refuses_unknown_config(sandbox):
    with pytest.raises(ValueError, match="key_envelope"):
        sandbox.configure(key_envelope="nested")
    with pytest.raises(ValueError, match="colour"):
        sandbox.configure(colour="blue")
