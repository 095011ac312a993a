"""The sandbox's /requests: pagination newest first, consistency with the usage summary."""

import json
import time
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests
from django.conf import settings

from billing_portal.deepgram.sandbox import SandboxServer

TOKEN = settings.SANDBOX_API_KEY
PROJECT = settings.SANDBOX_PROJECT_ID
REQUESTS = f"/v1/projects/{PROJECT}/requests"
DAYS = {"start": "2026-03-02", "end": "2026-03-04"}


@pytest.fixture
def dated():
    """A sandbox of its own whose today is 2026-03-15, with a second, tagged key."""
    server = SandboxServer(
        port=0, token=TOKEN, project_id=PROJECT, today=lambda: date(2026, 3, 15)
    ).start()
    server.add_key("Second", tags=["gold"], created="2026-02-01T00:00:00Z")
    yield server
    server.stop()


def get(server, path, params=None):
    headers = {"Authorization": f"Token {TOKEN}"}
    return requests.get(server.url + path, params=params, headers=headers, timeout=10)


def page(server, **params):
    response = get(server, REQUESTS, params)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def every_request(server, **params):
    found, number = [], 0
    while True:
        batch = page(server, limit=1000, page=number, **params)["requests"]
        found.extend(batch)
        if len(batch) < 1000:
            return found
        number += 1


def test_it_answers_a_page_in_the_documented_shape(dated):
    body = page(dated, **DAYS)

    assert (body["page"], body["limit"], len(body["requests"])) == (0, 10, 10)
    request = body["requests"][0]
    assert uuid.UUID(request["request_id"]).version == 4
    assert request["project_uuid"] == PROJECT
    assert request["path"] == "/v1/listen"
    assert request["api_key_id"] == request["accessor"]
    assert request["deployment"] == "hosted"
    assert request["created"].endswith("Z")
    assert request.get("callback") is None
    response = request["response"]
    assert response["code"] == 200
    assert response["completed"] > request["created"]
    assert set(response["details"]) == {
        "usd", "duration", "total_audio", "channels", "streams", "models", "method", "tier",
        "tags", "features", "config",
    }  # fmt: skip
    assert response["details"]["method"] in ("sync", "async", "streaming")


def test_it_pages_newest_first_without_overlap(dated):
    first = page(dated, limit=25, page=0, **DAYS)["requests"]
    second = page(dated, limit=25, page=1, **DAYS)["requests"]
    both = page(dated, limit=50, page=0, **DAYS)["requests"]

    created = [r["created"] for r in first + second]
    assert created == sorted(created, reverse=True)
    assert first + second == both
    assert not {r["request_id"] for r in first} & {r["request_id"] for r in second}


def test_it_answers_an_empty_page_past_the_end(dated):
    total = len(every_request(dated, **DAYS))

    assert page(dated, limit=1000, page=total // 1000 + 1, **DAYS)["requests"] == []


def test_it_lists_exactly_what_the_summary_counts(dated):
    listed = every_request(dated, **DAYS)
    requests_by = Counter()
    seconds_by = defaultdict(Decimal)
    for request in listed:
        where = (request["created"][:10], request["response"]["details"]["method"])
        requests_by[where] += 1
        seconds_by[where] += request["response"]["details"]["duration"]

    for method in ("sync", "async", "streaming"):
        params = {"method": method, **DAYS}
        summary = get(dated, f"/v1/projects/{PROJECT}/usage", params)
        for row in json.loads(summary.text, parse_float=Decimal)["results"]:
            assert requests_by.pop((row["start"], method)) == row["requests"]
            assert seconds_by[row["start"], method] / 3600 == row["hours"]
    assert not requests_by  # nothing listed that the summary does not count


def test_it_lists_each_model_s_requests_as_the_breakdown_counts_them(dated):
    listed = every_request(dated, **DAYS)
    models = {
        m["model_id"]: m["name"]
        for m in json.loads(get(dated, f"/v1/projects/{PROJECT}/usage/fields", DAYS).text)["models"]
    }
    requests_by = Counter(
        (r["created"][:10], r["accessor"], r["response"]["details"]["method"], models[model])
        for r in listed
        for model in r["response"]["details"]["models"]
    )

    params = {"grouping": ["accessor", "method", "models"], "endpoint": "listen", **DAYS}
    rows = json.loads(get(dated, f"/v1/projects/{PROJECT}/usage/breakdown", params).text)
    counted = {
        (g["start"], g["accessor"], g["method"], g["models"][0]): row["requests"]
        for row in rows["results"]
        for g in [row["grouping"]]
    }
    assert dict(requests_by) == counted


def test_it_keeps_a_key_s_requests_inside_its_life(dated):
    late = dated.add_key("Late", created="2026-03-03T18:30:00Z")["api_key_id"]

    listed = every_request(dated, accessor=late, **DAYS)

    assert listed
    assert min(r["created"] for r in listed) >= "2026-03-03T18:30:00Z"


def test_it_filters_requests_by_accessor_and_method(dated):
    second = dated.key_ids()[-1]

    listed = every_request(dated, accessor=second, method="streaming", **DAYS)

    assert listed
    assert {r["accessor"] for r in listed} == {second}
    assert {r["response"]["details"]["method"] for r in listed} == {"streaming"}
    assert {tuple(r["response"]["details"]["tags"]) for r in listed} == {("gold",)}


def test_it_lists_no_failed_requests(dated):
    assert page(dated, status="failed", **DAYS)["requests"] == []
    assert page(dated, status="succeeded", **DAYS)["requests"]


def test_it_narrows_to_date_times(dated):
    listed = every_request(dated, start="2026-03-03T06:00:00Z", end="2026-03-03T12:00:00")

    assert listed
    assert all("2026-03-03T06:00:00" <= r["created"] <= "2026-03-03T12:00:00.000Z" for r in listed)


def test_it_finds_one_request_by_id_in_the_list(dated):
    wanted = page(dated, **DAYS)["requests"][3]

    found = page(dated, request_id=wanted["request_id"], **DAYS)["requests"]

    assert found == [wanted]
    assert page(dated, request_id=str(uuid.uuid4()), **DAYS)["requests"] == []


def test_it_gets_a_listed_request_wrapped_by_default_and_flat_when_configured(dated):
    listed = page(dated, **DAYS)["requests"][0]
    path = f"{REQUESTS}/{listed['request_id']}"

    wrapped = json.loads(get(dated, path).text, parse_float=Decimal)
    dated.configure(request_envelope="flat")
    flat = json.loads(get(dated, path).text, parse_float=Decimal)

    assert flat == listed
    assert wrapped == {"request": listed}


@pytest.mark.parametrize("request_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_it_answers_404_for_a_request_it_never_listed(dated, request_id):
    response = get(dated, f"{REQUESTS}/{request_id}")

    assert response.status_code == 404
    assert set(response.json()) == {"err_code", "err_msg", "request_id"}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"page": "-1"},
        {"status": "pending"},
        {"start": "03/02/2026"},
        {"start": "2026-03-04", "end": "2026-03-02"},
        {"method": "fax"},
        {"diarize": "True"},
    ],
)
def test_it_refuses_bad_request_parameters(dated, params):
    response = get(dated, REQUESTS, params)

    assert response.status_code == 400
    assert response.json()["category"] == "INVALID_QUERY_PARAMETER"


def test_it_pages_two_months_of_several_keys_quickly(sandbox):
    for number in range(5):
        sandbox.add_key(f"Customer {number}", created="2026-01-01")
    end = date.today()
    window = {"start": (end - timedelta(days=60)).isoformat(), "end": end.isoformat()}
    began = time.monotonic()

    first = page(sandbox, limit=1000, **window)["requests"]
    deep = page(sandbox, limit=1000, page=20, **window)["requests"]

    assert len(first) == 1000
    assert len(deep) == 1000  # ~6 keys x 3 methods x 60 days x ~57 requests: well past 21k
    assert time.monotonic() - began < 5
