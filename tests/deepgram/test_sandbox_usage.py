"""Synthetic usage: summary, breakdown and fields, on sandboxes with a fixed (or movable) today."""

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests
from django.conf import settings

from billing_portal.deepgram.sandbox import SandboxServer

TOKEN = settings.SANDBOX_API_KEY
PROJECT = settings.SANDBOX_PROJECT_ID
USAGE = f"/v1/projects/{PROJECT}/usage"
BREAKDOWN = f"/v1/projects/{PROJECT}/usage/breakdown"
MARCH = {"start": "2026-03-01", "end": "2026-03-14"}


class Today:
    """A `today` for SandboxServer that a test can move."""

    def __init__(self, day: date):
        self.day = day

    def __call__(self) -> date:
        return self.day


@pytest.fixture
def today():
    return Today(date(2026, 3, 15))


@pytest.fixture
def dated(today):
    """A sandbox of its own whose today is 2026-03-15 (tests may move it)."""
    server = SandboxServer(port=0, token=TOKEN, project_id=PROJECT, today=today).start()
    yield server
    server.stop()


def get(server, path, params=None):
    headers = {"Authorization": f"Token {TOKEN}"}
    return requests.get(server.url + path, params=params, headers=headers, timeout=10)


def delete(server, key_id):
    url = f"{server.url}/v1/projects/{PROJECT}/keys/{key_id}"
    response = requests.delete(url, headers={"Authorization": f"Token {TOKEN}"}, timeout=10)
    assert response.status_code == 200


def usage(server, path=USAGE, **params):
    response = get(server, path, params)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def by_day(body):
    return {row["start"]: row for row in body["results"]}


def totals(rows):
    return (
        sum((row["hours"] for row in rows), Decimal(0)),
        sum((row["total_hours"] for row in rows), Decimal(0)),
        sum(row["requests"] for row in rows),
    )


def test_it_answers_the_same_usage_every_time(dated, today):
    first = get(dated, USAGE, MARCH).text
    second = get(dated, USAGE, MARCH).text
    other = SandboxServer(port=0, token=TOKEN, project_id=PROJECT, today=today).start()
    try:
        third = get(other, USAGE, MARCH).text
    finally:
        other.stop()

    assert first == second == third
    assert json.loads(first)["results"]


def test_it_answers_in_the_summary_shape(dated):
    body = usage(dated, **MARCH)

    assert body["start"] == "2026-03-01"
    assert body["end"] == "2026-03-14"
    assert body["resolution"] == {"units": "day", "amount": 1}
    row = body["results"][0]
    assert set(row) == {"start", "end", "hours", "total_hours", "requests", "tokens", "tts"}
    assert row["start"] == row["end"]
    assert set(row["tokens"]) == {"in", "out"}
    assert set(row["tts"]) == {"characters", "requests"}
    days = [r["start"] for r in body["results"]]
    assert days == sorted(days)
    assert all(r["requests"] > 0 for r in body["results"])
    assert all(
        r["hours"] <= r["total_hours"] <= r["hours"] * Decimal("1.1") for r in body["results"]
    )


def test_it_leaves_out_tokens_and_tts_when_configured(dated):
    dated.configure(summary_extras=False)

    row = usage(dated, **MARCH)["results"][0]

    assert set(row) == {"start", "end", "hours", "total_hours", "requests"}


def test_it_writes_hours_with_at_most_four_decimals(dated):
    text = get(dated, USAGE, {"start": "2026-01-01", "end": "2026-03-15"}).text

    hours = re.findall(r'"(?:total_)?hours":([0-9.eE+-]+)', text)
    assert len(hours) > 100
    assert all(re.fullmatch(r"\d+(\.\d{1,4})?", value) for value in hours)


def test_it_leaves_about_a_quarter_of_a_methods_days_idle(dated):
    for method in ("sync", "async", "streaming"):
        days = by_day(usage(dated, method=method, start="2026-01-01", end="2026-03-15"))

        assert 40 < len(days) < 70  # of 74 days the key lived


def test_it_sums_the_method_rows_to_the_all_method_row_exactly(dated):
    dated.add_key("Second", created="2026-01-15T00:00:00Z")
    everything = by_day(usage(dated, **MARCH))
    per_method = [by_day(usage(dated, method=m, **MARCH)) for m in ("sync", "async", "streaming")]

    for day, row in everything.items():
        parts = [rows[day] for rows in per_method if day in rows]
        assert totals(parts) == totals([row])
        assert all(set(part) == set(row) for part in parts)


def test_it_counts_nothing_for_methods_endpoints_and_deployments_it_does_not_serve(dated):
    for params in ({"method": "speak"}, {"endpoint": "agent"}, {"deployment": "self-hosted"}):
        assert usage(dated, **MARCH, **params)["results"] == []
    assert usage(dated, **MARCH, endpoint="listen", deployment="hosted")["results"]


def test_it_has_no_usage_before_a_key_was_created(dated):
    key_id = dated.add_key("Late", created="2026-03-10T15:00:00Z")["api_key_id"]

    days = list(by_day(usage(dated, accessor=key_id, **MARCH)))

    assert days
    assert min(days) >= "2026-03-10"


def test_it_has_no_usage_after_the_day_a_key_was_deleted(dated, today):
    key_id = dated.add_key("Leaver", created="2026-01-01T00:00:00Z")["api_key_id"]
    dated.set_usage(key_id, "2026-03-15", hours="1", requests=3, method="sync")
    before = by_day(usage(dated, accessor=key_id, start="2026-03-01", end="2026-03-15"))
    delete(dated, key_id)
    today.day = date(2026, 3, 25)

    after = by_day(usage(dated, accessor=key_id, start="2026-03-01", end="2026-03-25"))

    assert after == before
    assert max(after) == "2026-03-15"


def test_it_counts_deleted_keys_in_the_project_total_for_the_days_they_lived(dated):
    key_id = dated.add_key("Leaver", created="2026-03-01T00:00:00Z")["api_key_id"]
    with_key = usage(dated, **MARCH)
    delete(dated, key_id)

    assert usage(dated, **MARCH) == with_key
    assert usage(dated, accessor=key_id, **MARCH)["results"]


def test_it_has_no_usage_after_today(dated):
    days = by_day(usage(dated, start="2026-03-10", end="2026-03-31"))

    assert max(days) <= "2026-03-15"


def test_it_filters_by_accessor(dated):
    first_key = dated.key_ids()[0]
    second_key = dated.add_key("Second", created="2026-01-01T00:00:00Z")["api_key_id"]
    everything = by_day(usage(dated, **MARCH))
    first = by_day(usage(dated, accessor=first_key, **MARCH))
    second = by_day(usage(dated, accessor=second_key, **MARCH))

    for day, row in everything.items():
        parts = [rows[day] for rows in (first, second) if day in rows]
        assert totals(parts) == totals([row])
    assert first != second


def test_it_filters_by_tag(dated):
    gold = dated.add_key("Gold", tags=["gold", "eu"], created="2026-01-01")["api_key_id"]
    dated.add_key("Plain", created="2026-01-01")

    assert usage(dated, tag="gold", **MARCH) == usage(dated, accessor=gold, **MARCH)
    assert usage(dated, tag="silver", **MARCH)["results"] == []


def test_it_filters_by_model_uuid(dated):
    models = usage(dated, f"/v1/projects/{PROJECT}/usage/fields", **MARCH)["models"]
    counts = [totals(usage(dated, model=m["model_id"], **MARCH)["results"])[2] for m in models]

    assert sum(counts) == totals(usage(dated, **MARCH)["results"])[2]
    assert usage(dated, model="no-such-model", **MARCH)["results"] == []


def test_it_accepts_lowercase_feature_booleans_and_ignores_them(dated):
    plain = usage(dated, **MARCH)

    assert usage(dated, punctuate="true", diarize="false", smart_format="true", **MARCH) == plain


@pytest.mark.parametrize("value", ["True", "False", "1", "yes", ""])
def test_it_refuses_feature_booleans_that_are_not_lowercase_true_or_false(dated, value):
    response = get(dated, USAGE, {"punctuate": value, **MARCH})

    assert response.status_code == 400
    assert response.json()["category"] == "INVALID_QUERY_PARAMETER"
    assert "punctuate" in response.json()["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026/03/01"},
        {"start": "20260301"},
        {"end": "2026-02-30"},
        {"start": "2026-03-10", "end": "2026-03-01"},
        {"method": "batch"},
        {"endpoint": "transcribe"},
        {"deployment": "moon"},
    ],
)
def test_it_refuses_bad_usage_parameters(dated, params):
    for path in (USAGE, BREAKDOWN):
        response = get(dated, path, params)

        assert response.status_code == 400
        assert set(response.json()) == {"category", "message", "details", "request_id"}


def test_it_defaults_to_the_week_before_today(dated):
    body = usage(dated)

    assert (body["start"], body["end"]) == ("2026-03-08", "2026-03-15")


def test_it_shows_a_late_correction(dated):
    key_id = dated.key_ids()[0]
    before = by_day(usage(dated, **MARCH))["2026-03-04"]
    other_methods = [
        by_day(usage(dated, method=m, **MARCH)).get("2026-03-04") for m in ("sync", "streaming")
    ]

    dated.set_usage(key_id, date(2026, 3, 4), hours=Decimal("12.5"), requests=40, method="async")

    row = by_day(usage(dated, method="async", **MARCH))["2026-03-04"]
    assert (row["hours"], row["total_hours"], row["requests"]) == (Decimal("12.5"), 12.5, 40)
    expected = totals([r for r in other_methods if r] + [row])
    assert totals([by_day(usage(dated, **MARCH))["2026-03-04"]]) == expected
    assert expected != totals([before])


def test_it_takes_total_hours_of_a_correction_separately(dated):
    key_id = dated.key_ids()[0]
    dated.set_usage(key_id, "2026-03-04", hours="2", total_hours="3.25", requests=5, method="sync")

    row = by_day(usage(dated, method="sync", **MARCH))["2026-03-04"]

    assert (row["hours"], row["total_hours"], row["requests"]) == (2, Decimal("3.25"), 5)


def test_it_removes_a_day_corrected_to_zero(dated):
    key_id = dated.key_ids()[0]
    for method in ("sync", "async", "streaming"):
        dated.set_usage(key_id, "2026-03-04", hours=0, requests=0, method=method)

    assert "2026-03-04" not in by_day(usage(dated, **MARCH))


def test_it_refuses_a_correction_it_cannot_apply(dated):
    key_id = dated.key_ids()[0]
    with pytest.raises(ValueError, match="unknown key"):
        dated.set_usage("nope", "2026-03-04", hours=1, requests=1)
    with pytest.raises(ValueError, match="method"):
        dated.set_usage(key_id, "2026-03-04", hours=1, requests=1, method="speak")
    with pytest.raises(ValueError, match="requests"):
        dated.set_usage(key_id, "2026-03-04", hours=1, requests=-1)


def test_it_breaks_usage_down_by_day_without_grouping(dated):
    summary = usage(dated, **MARCH)
    breakdown = usage(dated, BREAKDOWN, **MARCH)
    speech_to_text = usage(dated, BREAKDOWN, endpoint="listen", **MARCH)["results"]

    assert breakdown["resolution"] == {"units": "day", "amount": 1}
    rows = breakdown["results"]
    assert [r["grouping"]["start"] for r in rows] == [r["start"] for r in summary["results"]]
    assert [totals([r]) for r in speech_to_text] == [totals([r]) for r in summary["results"]]
    assert set(rows[0]) == {
        "hours", "total_hours", "agent_hours", "tokens_in", "tokens_out", "tts_characters",
        "requests", "grouping",
    }  # fmt: skip
    assert [r["tokens_in"] for r in rows] == [r["tokens"]["in"] for r in summary["results"]]
    assert [r["tts_characters"] for r in rows] == [
        r["tts"]["characters"] for r in summary["results"]
    ]
    assert set(rows[0]["grouping"]) == {
        "start", "end", "accessor", "endpoint", "feature_set", "models", "method", "tags",
        "deployment",
    }  # fmt: skip
    assert all(
        value is None for name, value in rows[0]["grouping"].items() if name not in ("start", "end")
    )


def test_it_breaks_usage_down_by_accessor(dated):
    console = dated.key_ids()[0]
    second = dated.add_key("Second", created="2026-01-01")["api_key_id"]

    rows = usage(dated, BREAKDOWN, grouping="accessor", endpoint="listen", **MARCH)["results"]

    accessors = {row["grouping"]["accessor"] for row in rows}
    assert accessors == {console, second}
    assert all(row["grouping"]["method"] is None for row in rows)
    own = usage(dated, accessor=second, **MARCH)["results"]
    assert totals([r for r in rows if r["grouping"]["accessor"] == second]) == totals(own)


def test_it_breaks_usage_down_by_method(dated):
    rows = usage(dated, BREAKDOWN, grouping="method", endpoint="listen", **MARCH)["results"]

    for method in ("sync", "async", "streaming"):
        own = [r for r in rows if r["grouping"]["method"] == method]
        assert totals(own) == totals(usage(dated, method=method, **MARCH)["results"])


def test_it_combines_groupings_and_reads_model_and_tag_as_aliases(dated):
    dated.add_key("Tagged", tags=["gold"], created="2026-01-01")
    dated.configure(model_grouping="both")

    params = {"grouping": ["model", "tag", "method"], "endpoint": "listen", **MARCH}
    rows = usage(dated, BREAKDOWN, **params)["results"]

    assert all(isinstance(r["grouping"]["models"], list) for r in rows)
    assert {tuple(r["grouping"]["tags"]) for r in rows} == {(), ("gold",)}
    assert all(r["grouping"]["method"] for r in rows)
    assert totals(rows) == totals(usage(dated, **MARCH)["results"])


def test_it_refuses_an_unknown_grouping(dated):
    response = get(dated, BREAKDOWN, {"grouping": "colour", **MARCH})

    assert response.status_code == 400
    assert response.json()["category"] == "INVALID_QUERY_PARAMETER"


def test_it_lists_usage_fields(dated):
    dated.add_key("Tagged", tags=["gold"], created="2026-01-01")

    fields = usage(dated, f"/v1/projects/{PROJECT}/usage/fields", **MARCH)

    assert set(fields) == {"tags", "models", "processing_methods", "features", "languages"}
    assert fields["tags"] == ["gold"]
    assert fields["models"]
    assert all(set(m) == {"name", "language", "version", "model_id"} for m in fields["models"])
    assert set(fields["processing_methods"]) <= {"sync", "async", "streaming"}
    assert "punctuate" in fields["features"]
    assert fields["languages"]


def test_it_answers_usage_quickly_for_two_months_and_several_keys(sandbox):
    for number in range(5):
        sandbox.add_key(f"Customer {number}", created="2026-01-01")
    end = date.today()
    start = (end - timedelta(days=60)).isoformat()

    rows = usage(sandbox, start=start, end=end.isoformat())["results"]

    assert len(rows) > 40
