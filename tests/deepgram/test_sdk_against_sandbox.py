"""A client nobody here wrote: Deepgram's official Python SDK (`deepgram-sdk` 7) drives the
sandbox through every management call the portal relies on.

The SDK builds its answers without validating them (its models are pydantic models with
`extra="allow"`, filled by `construct_type`), and pydantic's own strict mode cannot run on them
(a model-level before-validator turns the JSON into Python objects, where strict refuses an ISO
string for a datetime). So each answer is checked here as strictly as the models allow:
pydantic validates it, every JSON value has the type its field declares (no string for a
number, no coercion), every required field is there, and no field is unknown to the model but
the few that deepgram-api.md documents as missing from the SDK's schema (EXTRAS). Then the
SDK's typed values are read, and must come back filled.
"""

import datetime as dt
import types
import typing
from datetime import UTC, date, datetime

import httpx
import pydantic
import pytest
from deepgram import DeepgramClient
from deepgram.environment import DeepgramClientEnvironment
from django.conf import settings

from billing_portal.deepgram.sandbox import SandboxServer
from billing_portal.deepgram.sandbox.api import ROUTES

PROJECT = settings.SANDBOX_PROJECT_ID
STAGING = "5a4d0b2e-0000-4000-8000-5a4db0c5e002"
KEY_ID = "acacacac-0000-4000-8000-0000000000d9"
DAY = "2026-03-03"
# Fields the sandbox sends that the SDK's models lack, each documented (deepgram-api.md).
EXTRAS = {
    ("CreateKeyV1Response", "created"),  # 1.1: in Deepgram's examples, not in the schema
    ("ListProjectKeysV1ResponseApiKeysItemMember", "first_name"),  # 1.2: the docs' list
    ("ListProjectKeysV1ResponseApiKeysItemMember", "last_name"),
    ("ListProjectKeysV1ResponseApiKeysItemApiKey", "tags"),  # 1.2: only when set
    ("ProjectRequestResponse", "accessor"),  # 2.4: older SDKs and the docs
    ("UsageFieldsV1Response", "languages"),  # 2.6: older SDKs
    ("UsageV1Response", "results"),  # 2.1 and 7: the spec's YAML bug drops it
}


class Answers:
    """Every HTTP answer the SDK received, body read."""

    def __init__(self):
        self.seen: list[httpx.Response] = []

    def keep(self, response: httpx.Response) -> None:
        response.read()
        self.seen.append(response)

    @property
    def last(self) -> httpx.Response:
        return self.seen[-1]


@pytest.fixture
def server():
    """A sandbox of its own whose today is 2026-03-15, with a tagged key made on 1 March."""
    sandbox = SandboxServer(
        port=0,
        token=settings.SANDBOX_API_KEY,
        project_id=PROJECT,
        today=lambda: date(2026, 3, 15),
    ).start()
    sandbox.add_key("Acme", created="2026-03-01", api_key_id=KEY_ID, tags=["acme"])
    yield sandbox
    sandbox.stop()


@pytest.fixture
def answers():
    return Answers()


@pytest.fixture
def sdk(server, answers):
    """The SDK pointed at the sandbox: v7 takes its base URL from an environment."""
    sockets = server.url.replace("http://", "ws://")
    environment = DeepgramClientEnvironment(
        base=server.url, production=sockets, agent=sockets, agent_rest=server.url
    )
    http = httpx.Client(event_hooks={"response": [answers.keep]}, timeout=10)
    client = DeepgramClient(
        api_key=settings.SANDBOX_API_KEY, environment=environment, httpx_client=http, max_retries=0
    )
    yield client.manage.v1.projects
    http.close()


def assert_strictly(typed, response: httpx.Response) -> None:
    """The SDK's answer `typed` came from a 2xx `response` its model holds strictly."""
    assert 200 <= response.status_code < 300, response.text
    model = type(typed)
    model.model_validate_json(response.text)
    problems = _problems(model, response.json(), model.__name__)
    assert problems == []


def _problems(model, data, path: str) -> list[str]:
    if not isinstance(data, dict):
        return [f"{path}: {type(data).__name__}, not an object"]
    found, known = [], set()
    for name, field in model.model_fields.items():
        key = field.alias or name
        known.add(key)
        if key in data:
            found += _type_problems(field.annotation, data[key], f"{path}.{key}")
        elif field.is_required():
            found.append(f"{path}.{key}: missing")
    found += [
        f"{path}.{key}: unknown to {model.__name__}"
        for key in sorted(data.keys() - known)
        if (model.__name__, key) not in EXTRAS
    ]
    return found


_SCALARS = {
    str: lambda v: isinstance(v, str),
    float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    bool: lambda v: isinstance(v, bool),
    dt.datetime: lambda v: isinstance(v, str) and _is_moment(v),
}


def _type_problems(annotation, value, path: str) -> list[str]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is typing.Any:
        return []
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return []
        tries = [_type_problems(arg, value, path) for arg in args if arg is not type(None)]
        return [] if any(not t for t in tries) else min(tries, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is none of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, not a list"]
        items = enumerate(value)
        return [p for n, item in items for p in _type_problems(args[0], item, f"{path}[{n}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not an object"]
        items = value.items()
        return [p for k, item in items for p in _type_problems(args[1], item, f"{path}.{k}")]
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return _problems(annotation, value, path)
    if annotation in _SCALARS:
        return [] if _SCALARS[annotation](value) else [f"{path}: {value!r} is no {annotation}"]
    return [f"{path}: cannot check {annotation}"]


def _is_moment(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


# --- Projects and members -------------------------------------------------------------------


def test_the_sdk_lists_and_gets_projects(sdk, answers):
    listed = sdk.list()
    assert_strictly(listed, answers.last)
    project = sdk.get(PROJECT)
    assert_strictly(project, answers.last)

    assert [p.project_id for p in listed.projects] == [PROJECT, STAGING]
    assert (project.project_id, project.name, project.mip_opt_out) == (
        PROJECT,
        "Sandbox project",
        False,
    )


def test_the_sdk_lists_members(sdk, answers):
    members = sdk.members.list(PROJECT)
    assert_strictly(members, answers.last)

    (member,) = members.members
    assert member.email == "owner@sandbox.example"
    assert member.member_id and member.scopes == ["owner"]


# --- Keys -----------------------------------------------------------------------------------


def test_the_sdk_creates_gets_lists_and_deletes_a_key(sdk, answers):
    created = sdk.keys.create(
        PROJECT, request={"comment": "Customer B", "scopes": ["member"], "tags": ["b"]}
    )
    assert_strictly(created, answers.last)
    got = sdk.keys.get(PROJECT, created.api_key_id)
    assert_strictly(got, answers.last)
    listed = sdk.keys.list(PROJECT)
    assert_strictly(listed, answers.last)
    deleted = sdk.keys.delete(PROJECT, created.api_key_id)
    assert_strictly(deleted, answers.last)

    assert created.key and created.comment == "Customer B" and created.scopes == ["member"]
    api_key = got.item.member.api_key
    assert (api_key.api_key_id, api_key.comment, api_key.tags) == (
        created.api_key_id,
        "Customer B",
        ["b"],
    )
    assert isinstance(api_key.created, datetime)
    assert got.item.member.email == "owner@sandbox.example"
    ids = [item.api_key.api_key_id for item in listed.api_keys]
    assert created.api_key_id in ids and KEY_ID in ids
    assert all(isinstance(item.api_key.created, datetime) for item in listed.api_keys)
    assert deleted.message == "Successfully deleted the API key!"


def test_the_sdk_gets_no_typed_key_from_the_flat_envelope(server, sdk, answers):
    # Why the sandbox answers in the `item` envelope by default: the SDK reads only that one.
    server.configure(key_envelope="flat")

    got = sdk.keys.get(PROJECT, KEY_ID)

    assert got.item is None


# --- Usage and billing ----------------------------------------------------------------------


def test_the_sdk_reads_the_usage_breakdown(sdk, answers):
    one = sdk.usage.breakdown.get(PROJECT, start=DAY, end=DAY, grouping="accessor")
    assert_strictly(one, answers.last)
    combined = sdk.usage.breakdown.get(
        PROJECT, start=DAY, end=DAY, grouping=["accessor", "endpoint", "method", "models"]
    )
    assert_strictly(combined, answers.last)

    mine = [r for r in one.results if r.grouping.accessor == KEY_ID]
    assert len(mine) == 1 and mine[0].requests > 0 and mine[0].hours > 0
    assert "listen" in {r.grouping.endpoint for r in combined.results}
    assert all(r.grouping.models and r.grouping.method for r in combined.results)
    assert sum(r.requests for r in combined.results) == sum(r.requests for r in one.results)


def test_the_sdk_reads_the_billing_breakdown_and_fields(sdk, answers):
    billed = sdk.billing.breakdown.list(
        PROJECT, start=DAY, end=DAY, grouping=["accessor", "line_item"]
    )
    assert_strictly(billed, answers.last)
    fields = sdk.billing.fields.list(PROJECT, start=DAY, end=DAY)
    assert_strictly(fields, answers.last)

    assert billed.results and all(r.dollars >= 0 for r in billed.results)
    assert {r.grouping.line_item for r in billed.results} == set(fields.line_items)
    assert KEY_ID in {r.grouping.accessor for r in billed.results}
    assert KEY_ID in fields.accessors and fields.deployments == ["hosted"]
    assert all(label for label in fields.line_items.values())


def test_the_sdk_reads_the_usage_summary_and_fields(sdk, answers):
    summary = sdk.usage.get(PROJECT, start="2026-03-02", end="2026-03-08", accessor=KEY_ID)
    assert_strictly(summary, answers.last)
    fields = sdk.usage.fields.list(PROJECT, start="2026-03-02", end="2026-03-08")
    assert_strictly(fields, answers.last)

    assert (summary.start, summary.end) == ("2026-03-02", "2026-03-08")
    assert summary.resolution.units == "day"
    assert summary.model_extra["results"]  # an untyped extra in the SDK (deepgram-api.md 2.1)
    assert fields.models and fields.processing_methods


# --- Requests and balances ------------------------------------------------------------------


def test_the_sdk_lists_requests_and_gets_one(sdk, answers):
    listed = sdk.requests.list(
        PROJECT,
        start=datetime(2026, 3, 3, tzinfo=UTC),
        end=datetime(2026, 3, 3, 23, 59, tzinfo=UTC),
        limit=5,
        accessor=KEY_ID,
    )
    assert_strictly(listed, answers.last)
    got = sdk.requests.get(PROJECT, listed.requests[0].request_id)
    assert_strictly(got, answers.last)

    assert (listed.page, listed.limit, len(listed.requests)) == (0, 5, 5)
    request = got.request
    assert request.request_id == listed.requests[0].request_id
    assert (request.api_key_id, request.path, request.code) == (KEY_ID, "/v1/listen", 200)
    assert isinstance(request.created, datetime) and request.created.date() == date(2026, 3, 3)
    assert request.response["details"]["duration"] > 0


def test_the_sdk_gets_no_typed_request_from_the_flat_envelope(server, sdk, answers):
    listed = sdk.requests.list(PROJECT, start=datetime(2026, 3, 3, tzinfo=UTC), limit=1)
    server.configure(request_envelope="flat")

    got = sdk.requests.get(PROJECT, listed.requests[0].request_id)

    assert got.request is None


def test_the_sdk_lists_and_gets_balances(sdk, answers):
    listed = sdk.billing.balances.list(PROJECT)
    assert_strictly(listed, answers.last)
    (balance,) = listed.balances
    got = sdk.billing.balances.get(PROJECT, balance.balance_id)
    assert_strictly(got, answers.last)

    assert (got.balance_id, got.amount, got.units) == (balance.balance_id, 187.5, "usd")
    assert got.purchase_order_id


def test_every_route_of_the_sandbox_answers_the_sdk(sdk, answers, server):
    # The calls above once more, so that an endpoint added to the sandbox (which serves what
    # the portal relies on) without an SDK check here is noticed.
    test_the_sdk_lists_and_gets_projects(sdk, answers)
    test_the_sdk_lists_members(sdk, answers)
    test_the_sdk_creates_gets_lists_and_deletes_a_key(sdk, answers)
    test_the_sdk_reads_the_usage_breakdown(sdk, answers)
    test_the_sdk_reads_the_billing_breakdown_and_fields(sdk, answers)
    test_the_sdk_reads_the_usage_summary_and_fields(sdk, answers)
    test_the_sdk_lists_requests_and_gets_one(sdk, answers)
    test_the_sdk_lists_and_gets_balances(sdk, answers)

    answered = {_route(call) for call in server.calls if call.status == 200}
    assert answered == {name for _verb, _pattern, name in ROUTES}
    assert len(answers.seen) == len(server.calls)


def _route(call) -> str:
    return next(
        name
        for verb, pattern, name in ROUTES
        if verb == call.method and pattern.fullmatch(call.path)
    )
