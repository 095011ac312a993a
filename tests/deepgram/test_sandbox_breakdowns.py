"""The sandbox's line items: usage breakdown by every grouping, billing breakdown and fields,
the price list, the switches and modes, and corrections of one line."""

import itertools
import json
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests
from django.conf import settings

from billing_portal.deepgram.sandbox import SandboxServer
from billing_portal.deepgram.sandbox.catalog import LINE_ITEMS, PRICES

TOKEN = settings.SANDBOX_API_KEY
PROJECT = settings.SANDBOX_PROJECT_ID
STAGING = "5a4d0b2e-0000-4000-8000-5a4db0c5e002"
USAGE = f"/v1/projects/{PROJECT}/usage"
BREAKDOWN = f"/v1/projects/{PROJECT}/usage/breakdown"
BILLING = f"/v1/projects/{PROJECT}/billing/breakdown"
FIELDS = f"/v1/projects/{PROJECT}/billing/fields"
WEEK = {"start": "2026-03-02", "end": "2026-03-08"}
UNITS = (
    "hours", "total_hours", "agent_hours", "tokens_in", "tokens_out", "tts_characters", "requests",
)  # fmt: skip
GROUPINGS = ("accessor", "endpoint", "feature_set", "models", "method", "tags", "deployment")
BILLING_GROUPINGS = ("accessor", "deployment", "line_item", "tags")
ATOMIC = ["accessor", "endpoint", "method", "models"]
KEYS = [f"acacacac-0000-4000-8000-00000000000{n}" for n in range(1, 9)]
SIX = Decimal("0.000001")
DISPLAY = {
    "nova-3": "Nova-3",
    "nova-3-multilingual": "Nova-3 Multilingual",
    "nova-2": "Nova-2",
    "whisper-large": "Whisper Large",
    "aura-2": "Aura-2",
    "aura-1": "Aura-1",
    "voice-agent": "Voice Agent",
    "text-intelligence": "Text Intelligence",
}


@pytest.fixture
def dated():
    """A sandbox of its own whose today is 2026-03-15, with eight keys made on 1 January (the
    second tagged gold and eu, the third gold): between them they use every line item."""
    server = SandboxServer(
        port=0, token=TOKEN, project_id=PROJECT, today=lambda: date(2026, 3, 15)
    ).start()
    tags = {1: ["gold", "eu"], 2: ["gold"]}
    for number, key_id in enumerate(KEYS):
        server.add_key(
            f"Key {number}", created="2026-01-01", api_key_id=key_id, tags=tags.get(number, ())
        )
    yield server
    server.stop()


def get(server, path, params=None):
    headers = {"Authorization": f"Token {TOKEN}"}
    return requests.get(server.url + path, params=params, headers=headers, timeout=20)


def answer(server, path, **params):
    response = get(server, path, params)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def rows(server, path=BREAKDOWN, **params):
    return answer(server, path, **{**WEEK, **params})["results"]


def dollars(server, **params):
    return rows(server, BILLING, **params)


def per_day(results, fields=UNITS) -> dict:
    sums = defaultdict(lambda: dict.fromkeys(fields, 0))
    for row in results:
        for name in fields:
            sums[row["grouping"]["start"]][name] += row[name]
    return dict(sums)


def line_item(labels) -> str:
    endpoint, method, (model,) = labels["endpoint"], labels["method"], labels["models"]
    return f"{method}::{model}" if endpoint in ("listen", "speak") else f"{endpoint}::{model}"


def atomic(server, **params) -> dict:
    """The usage of each (key, day, line item), from the usage breakdown."""
    found = {}
    for row in rows(server, grouping=ATOMIC, **params):
        labels = row["grouping"]
        found[labels["accessor"], labels["start"], line_item(labels)] = row
    return found


def cost(item: str, row) -> Decimal:
    dollars = sum(price * row[unit] for unit, price in PRICES[item].items())
    return Decimal(dollars).quantize(SIX, ROUND_HALF_UP)


def one_day(day: str) -> dict:
    return {"start": day, "end": day}


# --- Usage breakdown ------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, len(GROUPINGS) + 1))
def test_every_grouping_combination_sums_to_the_ungrouped_answer(dated, size):
    ungrouped = per_day(rows(dated))

    for grouping in itertools.combinations(GROUPINGS, size):
        found = rows(dated, grouping=list(grouping))

        assert per_day(found) == ungrouped, grouping
        for row in found:
            nulls = {name for name in GROUPINGS if row["grouping"][name] is None}
            assert nulls == set(GROUPINGS) - set(grouping), (grouping, row["grouping"])
        groups = {str([r["grouping"][name] for name in ("start", *grouping)]) for r in found}
        assert len(groups) == len(found), grouping


def test_the_ungrouped_answer_has_every_unit_of_every_product(dated):
    (day,) = rows(dated, **one_day("2026-03-03"))

    assert all(day[unit] > 0 for unit in UNITS)
    labels = {
        name: value for name, value in day["grouping"].items() if name not in ("start", "end")
    }
    assert set(labels.values()) == {None}


def test_each_product_reports_its_own_units_and_models(dated):
    own_units = {
        "listen": {"hours", "total_hours", "requests"},
        "speak": {"tts_characters", "requests"},
        "agent": {"agent_hours", "requests"},
        "read": {"tokens_in", "tokens_out", "requests"},
    }
    seen = defaultdict(set)
    for row in rows(dated, grouping=["endpoint", "method", "models"]):
        labels = row["grouping"]
        seen[labels["endpoint"], labels["method"]].add(labels["models"][0])
        assert {unit for unit in UNITS if row[unit]} <= own_units[labels["endpoint"]]

    every_listen_model = {"nova-3", "nova-3-multilingual", "nova-2", "whisper-large"}
    assert seen == {
        ("listen", "sync"): every_listen_model,
        ("listen", "async"): every_listen_model,
        ("listen", "streaming"): every_listen_model - {"whisper-large"},
        ("speak", "sync"): {"aura-2", "aura-1"},
        ("speak", "streaming"): {"aura-2", "aura-1"},
        ("agent", "streaming"): {"voice-agent"},
        ("read", "sync"): {"text-intelligence"},
    }


def test_each_key_s_model_rows_add_up_exactly_to_its_summary_unit(dated):
    units = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    models = defaultdict(set)
    for row in rows(dated, grouping=["accessor", "method", "models"], endpoint="listen"):
        labels = row["grouping"]
        where = (labels["accessor"], labels["start"], labels["method"])
        units[where][0] += row["hours"]
        units[where][1] += row["total_hours"]
        units[where][2] += row["requests"]
        models[where].add(labels["models"][0])
        assert row["hours"] == row["hours"].quantize(SIX)
        assert isinstance(row["requests"], int) and row["requests"] > 0

    summary = {}
    for key_id, method in itertools.product(dated.key_ids(), ("sync", "async", "streaming")):
        for row in answer(dated, USAGE, accessor=key_id, method=method, **WEEK)["results"]:
            summary[key_id, row["start"], method] = [
                row["hours"],
                row["total_hours"],
                row["requests"],
            ]
    assert dict(units) == summary
    assert sum(len(used) > 1 for used in models.values()) > 10  # units really are split


def test_the_mix_of_models_and_products_varies_per_key(dated):
    mix = defaultdict(set)
    for row in rows(dated, grouping=["accessor", "models"], start="2026-02-01"):
        mix[row["grouping"]["accessor"]].add(row["grouping"]["models"][0])

    assert len(mix) == 9  # eight keys and the console key
    assert len({frozenset(used) for used in mix.values()}) == 9


def test_the_summary_counts_speech_to_text_and_its_extras_the_other_lines(dated):
    listen = per_day(rows(dated, endpoint="listen"))
    speak = per_day(rows(dated, endpoint="speak"))
    read = per_day(rows(dated, endpoint="read"))

    summary = answer(dated, USAGE, **WEEK)["results"]

    assert [r["start"] for r in summary] == sorted(listen)
    for row in summary:
        day = listen[row["start"]]
        assert (row["hours"], row["total_hours"], row["requests"]) == (
            day["hours"],
            day["total_hours"],
            day["requests"],
        )
        spoken = speak[row["start"]]
        assert row["tts"] == {
            "characters": spoken["tts_characters"],
            "requests": spoken["requests"],
        }
        tokens = read[row["start"]]
        assert row["tokens"] == {"in": tokens["tokens_in"], "out": tokens["tokens_out"]}


@pytest.mark.parametrize(
    ("params", "kept"),
    [
        ({"endpoint": "speak"}, lambda labels: labels["endpoint"] == "speak"),
        ({"endpoint": "agent"}, lambda labels: labels["endpoint"] == "agent"),
        ({"method": "streaming"}, lambda labels: labels["method"] == "streaming"),
        (
            {"endpoint": "listen", "method": "sync"},
            lambda labels: (labels["endpoint"], labels["method"]) == ("listen", "sync"),
        ),
        ({"tag": "gold"}, lambda labels: "gold" in labels["tags"]),
        ({"accessor": KEYS[0]}, lambda labels: labels["accessor"] == KEYS[0]),
        ({"model": "nova-2"}, lambda labels: labels["models"] == ["nova-2"]),
        ({"model": "Aura-2"}, lambda labels: labels["models"] == ["aura-2"]),
    ],
)
def test_a_filter_keeps_exactly_the_rows_it_names(dated, params, kept):
    grouping = ["accessor", "endpoint", "method", "models", "tags"]
    everything = rows(dated, grouping=grouping)

    found = rows(dated, grouping=grouping, **params)

    assert found
    assert found == [r for r in everything if kept(r["grouping"])]


def test_a_model_filter_takes_the_model_uuid(dated):
    models = answer(dated, f"/v1/projects/{PROJECT}/usage/fields", **WEEK)["models"]
    model_id = {m["name"]: m["model_id"] for m in models}["whisper-large"]

    assert rows(dated, model=model_id) == rows(dated, model="whisper-large")
    assert rows(dated, model="no-such-model") == []


# --- Billing --------------------------------------------------------------------------------


def test_billing_dollars_are_the_price_list_times_each_line_s_quantities(dated):
    usage = atomic(dated)

    found = dollars(dated, grouping=["accessor", "line_item"])

    billed = {}
    for row in found:
        labels = row["grouping"]
        billed[labels["accessor"], labels["start"], labels["line_item"]] = row["dollars"]
    assert billed == {where: cost(where[2], row) for where, row in usage.items()}
    assert {where[2] for where in billed} == set(LINE_ITEMS) == set(PRICES)


@pytest.mark.parametrize("size", range(len(BILLING_GROUPINGS) + 1))
def test_every_billing_grouping_sums_to_the_ungrouped_answer(dated, size):
    ungrouped = per_day(dollars(dated), ("dollars",))

    for grouping in itertools.combinations(BILLING_GROUPINGS, size):
        found = dollars(dated, grouping=list(grouping))

        assert per_day(found, ("dollars",)) == ungrouped, grouping
        for row in found:
            assert set(row["grouping"]) == {"start", "end", *BILLING_GROUPINGS}
            nulls = {name for name in BILLING_GROUPINGS if row["grouping"][name] is None}
            assert nulls == set(BILLING_GROUPINGS) - set(grouping)


def test_billing_writes_each_cost_exactly_at_six_decimals(dated):
    found = dollars(dated, grouping=["accessor", "line_item"])

    assert len(found) > 100
    assert all(r["dollars"] == r["dollars"].quantize(SIX) and r["dollars"] >= 0 for r in found)


@pytest.mark.parametrize(
    ("params", "kept"),
    [
        ({"accessor": KEYS[0]}, lambda labels: labels["accessor"] == KEYS[0]),
        ({"line_item": "sync::aura-1"}, lambda labels: labels["line_item"] == "sync::aura-1"),
        ({"tag": "eu"}, lambda labels: labels["accessor"] == KEYS[1]),
        ({"deployment": "hosted"}, lambda labels: True),
        ({"deployment": "dedicated"}, lambda labels: False),
    ],
)
def test_billing_filters(dated, params, kept):
    everything = dollars(dated, grouping=["accessor", "line_item"])

    found = dollars(dated, grouping=["accessor", "line_item"], **params)

    assert found == [r for r in everything if kept(r["grouping"])]


@pytest.mark.parametrize(
    "params",
    [{"grouping": "models"}, {"grouping": "line_items"}, {"deployment": "moon"}, {"end": "3/8"}],
)
def test_billing_refuses_what_deepgram_refuses(dated, params):
    response = get(dated, BILLING, {**WEEK, **params})

    assert response.status_code == 400
    assert response.json()["category"] == "INVALID_QUERY_PARAMETER"


def test_billing_fields_list_the_line_items_in_use_with_their_labels(dated):
    fields = answer(dated, FIELDS, **WEEK)

    assert set(fields) == {"accessors", "deployments", "tags", "line_items"}
    assert fields["accessors"] == sorted(dated.key_ids())
    assert fields["deployments"] == ["hosted"]
    assert fields["tags"] == ["eu", "gold"]
    assert fields["line_items"] == LINE_ITEMS
    assert fields["line_items"]["streaming::nova-3"] == "Nova - 3 (Stream)"
    assert fields["line_items"]["sync::aura-2"] == "Aura - 2 (Text to speech)"


def test_billing_fields_list_only_what_the_range_used(dated):
    key_id = dated.add_key("Late", created="2026-03-20")["api_key_id"]
    dated.set_usage(key_id, "2026-03-20", hours=0, requests=2, endpoint="agent", agent_hours=1)

    fields = answer(dated, FIELDS, **one_day("2026-03-20"))

    assert fields == {
        "accessors": [key_id],
        "deployments": ["hosted"],
        "tags": [],
        "line_items": {"agent::voice-agent": "Voice Agent"},
    }
    assert answer(dated, FIELDS, start="2027-01-01", end="2027-01-02")["line_items"] == {}


# --- Switches and modes ---------------------------------------------------------------------


def test_it_answers_several_groupings_with_null_fields_when_it_does_not_combine(dated):
    ungrouped = rows(dated)
    dated.configure(combine_groupings=False)

    assert rows(dated, grouping=["accessor", "models"]) == ungrouped
    single = rows(dated, grouping="accessor")
    assert all(r["grouping"]["accessor"] for r in single)
    assert per_day(single) == per_day(ungrouped)


@pytest.mark.parametrize(
    ("spelling", "accepted", "refused"),
    [
        ("models", ["models"], ["model"]),
        ("model", ["model"], ["models"]),
        ("both", ["models", "model"], []),
    ],
)
def test_it_spells_the_model_grouping_as_configured(dated, spelling, accepted, refused):
    if spelling != "models":
        dated.configure(model_grouping=spelling)

    answers = [rows(dated, grouping=["accessor", name]) for name in accepted]

    assert all(found == answers[0] and found[0]["grouping"]["models"] for found in answers)
    for name in refused:
        response = get(dated, BREAKDOWN, {"grouping": ["accessor", name], **WEEK})
        assert response.status_code == 400
        assert response.json()["category"] == "INVALID_QUERY_PARAMETER"


def test_it_names_models_by_display_name_when_configured(dated):
    by_id = rows(dated, grouping=["accessor", "models"])
    dated.configure(model_names="display")

    by_display = rows(dated, grouping=["accessor", "models"])

    def renamed(row):
        models = [DISPLAY[row["grouping"]["models"][0]]]
        return {**row, "grouping": {**row["grouping"], "models": models}}

    def order(row):
        return row["grouping"]["start"], row["grouping"]["accessor"], row["grouping"]["models"]

    in_order = sorted(map(renamed, by_id), key=order)
    assert by_display == in_order
    assert {r["grouping"]["models"][0] for r in by_display} == set(DISPLAY.values())


def test_it_silently_leaves_out_every_nth_grouped_row_when_configured(dated):
    whole = rows(dated, grouping=["accessor", "method"])
    ungrouped = rows(dated)
    dated.configure(drop_grouped_rows=3)

    assert rows(dated, grouping=["accessor", "method"]) == [
        row for number, row in enumerate(whole, 1) if number % 3
    ]
    assert rows(dated) == ungrouped


def test_it_writes_dollars_with_float_noise_when_configured(dated):
    exact = dollars(dated, grouping=["accessor", "line_item"])
    dated.configure(float_noise=True)

    noisy = dollars(dated, grouping=["accessor", "line_item"])

    assert [r["dollars"].quantize(SIX, ROUND_HALF_UP) for r in noisy] == [
        r["dollars"] for r in exact
    ]
    assert all(r["dollars"] != e["dollars"] for r, e in zip(noisy, exact, strict=True))
    assert all(r["dollars"] >= 0 for r in noisy)
    assert any(r["dollars"] < e["dollars"] for r, e in zip(noisy, exact, strict=True))


@pytest.mark.parametrize("path", [BILLING, FIELDS])
def test_billing_answers_403_without_billing_read(dated, path):
    dated.configure(billing_read=False)

    response = get(dated, path, WEEK)

    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"category", "message", "details", "request_id"}
    assert body["category"] == "INSUFFICIENT_PERMISSIONS"
    assert body["message"] == "User does not have sufficient permissions."
    assert get(dated, BREAKDOWN, WEEK).status_code == 200
    assert get(dated, f"/v1/projects/{PROJECT}/balances").status_code == 200


def test_billing_read_can_be_missing_for_some_projects_only(dated):
    dated.configure(billing_read=[STAGING])

    assert get(dated, BILLING, WEEK).status_code == 200
    assert get(dated, f"/v1/projects/{STAGING}/billing/breakdown", WEEK).status_code == 403
    assert get(dated, f"/v1/projects/{STAGING}/billing/fields", WEEK).status_code == 403


def test_the_switches_go_through_the_control_interface_and_reset(dated):
    switches = {
        "combine_groupings": False,
        "model_grouping": "model",
        "model_names": "display",
        "drop_grouped_rows": 2,
        "float_noise": True,
        "billing_read": [PROJECT],
    }

    response = requests.post(f"{dated.url}/__sandbox__/config", json=switches, timeout=10)

    assert response.json() == {"ok": True}
    assert get(dated, BILLING, WEEK).status_code == 403
    assert get(dated, BREAKDOWN, {"grouping": "models", **WEEK}).status_code == 400
    dated.reset()
    assert get(dated, BILLING, WEEK).status_code == 200
    assert get(dated, BREAKDOWN, {"grouping": "models", **WEEK}).status_code == 200
    assert (dated.config.drop_grouped_rows, dated.config.model_names) == (0, "id")


@pytest.mark.parametrize(
    "switch",
    [
        {"combine_groupings": "no"},
        {"model_grouping": "modelz"},
        {"model_names": "label"},
        {"drop_grouped_rows": -1},
        {"drop_grouped_rows": True},
        {"float_noise": 1},
        {"billing_read": "yes"},
        {"billing_read": [1]},
    ],
)
def test_it_refuses_a_bad_switch_and_changes_nothing(dated, switch):
    good = {"float_noise": True} if "float_noise" not in switch else {"model_names": "display"}

    with pytest.raises(ValueError, match=next(iter(switch))):
        dated.configure(**good, **switch)

    assert (dated.config.float_noise, dated.config.model_names) == (False, "id")
    response = requests.post(f"{dated.url}/__sandbox__/config", json=switch, timeout=10)
    assert response.status_code == 400


# --- Corrections of one line ----------------------------------------------------------------


def test_it_pins_a_text_to_speech_line_and_bills_it_at_the_list_price(dated):
    dated.set_usage(
        KEYS[0], "2026-03-04", hours=0, requests=3, endpoint="speak", method="streaming",
        model="aura-2", tts_characters=12345,
    )  # fmt: skip

    line = atomic(dated, accessor=KEYS[0])[KEYS[0], "2026-03-04", "streaming::aura-2"]
    assert (line["tts_characters"], line["requests"], line["hours"]) == (12345, 3, 0)
    billed = dollars(
        dated, accessor=KEYS[0], line_item="streaming::aura-2", **one_day("2026-03-04")
    )
    assert billed[0]["dollars"] == Decimal("0.37035")  # 12,345 x $0.00003


def test_it_pins_one_model_of_a_method_and_the_summary_follows(dated):
    others = [
        row
        for (_key, day, item), row in atomic(dated, accessor=KEYS[3]).items()
        if day == "2026-03-04" and item.startswith("sync::") and item != "sync::whisper-large"
    ]

    dated.set_usage(
        KEYS[3], "2026-03-04", hours="1.234567", total_hours="2", requests=9, method="sync",
        model="whisper-large",
    )  # fmt: skip

    day = one_day("2026-03-04")
    (summary,) = answer(dated, USAGE, accessor=KEYS[3], method="sync", **day)["results"]
    assert summary["requests"] == 9 + sum(r["requests"] for r in others)
    assert summary["hours"] == Decimal("1.234567") + sum(r["hours"] for r in others)
    line = atomic(dated, accessor=KEYS[3])[KEYS[3], "2026-03-04", "sync::whisper-large"]
    assert (line["hours"], line["total_hours"], line["requests"]) == (Decimal("1.234567"), 2, 9)


def test_a_line_corrected_to_zero_is_gone(dated):
    found = atomic(dated)
    key_id, day, item = next(where for where in found if where[2] == "read::text-intelligence")

    dated.set_usage(key_id, day, hours=0, requests=0, endpoint="read")

    after = atomic(dated)
    assert (key_id, day, item) not in after
    assert len(after) == len(found) - 1


def test_a_speech_to_text_line_without_requests_is_no_usage(dated):
    found = atomic(dated, accessor=KEYS[3], method="sync")
    key_id, day, item = next(iter(found))
    method, model = item.split("::")

    dated.set_usage(key_id, day, hours="2", requests=0, method=method, model=model)

    assert (key_id, day, item) not in atomic(dated, accessor=KEYS[3], method="sync")
    requests_page = answer(dated, f"/v1/projects/{PROJECT}/requests", **one_day(day), limit=1000)
    assert requests_page["requests"]


def test_it_pins_agent_and_intelligence_lines_over_the_control_interface(dated):
    bodies = [
        {"endpoint": "agent", "requests": 4, "agent_hours": "1.25"},
        {"endpoint": "read", "requests": 2, "tokens_in": 1000, "tokens_out": 250},
    ]
    for body in bodies:
        body.update(key_id=KEYS[0], day="2026-03-05", hours=0)
        response = requests.post(f"{dated.url}/__sandbox__/usage", json=body, timeout=10)
        assert response.json() == {"ok": True}

    lines = atomic(dated, accessor=KEYS[0], **one_day("2026-03-05"))
    agent = lines[KEYS[0], "2026-03-05", "agent::voice-agent"]
    read = lines[KEYS[0], "2026-03-05", "read::text-intelligence"]
    assert (agent["agent_hours"], agent["requests"]) == (Decimal("1.25"), 4)
    assert (read["tokens_in"], read["tokens_out"], read["requests"]) == (1000, 250, 2)
    found = dollars(dated, grouping="line_item", accessor=KEYS[0], **one_day("2026-03-05"))
    billed = {r["grouping"]["line_item"]: r["dollars"] for r in found}
    assert billed["agent::voice-agent"] == Decimal("5.625")  # 1.25 h x $4.50
    assert billed["read::text-intelligence"] == Decimal("0.002")  # 1,000 x $1e-6 + 250 x $4e-6


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"endpoint": "speak", "hours": 1, "tts_characters": 5}, "speak usage has no hours"),
        ({"endpoint": "speak", "method": "async"}, "method of speak"),
        ({"method": "streaming", "model": "whisper-large"}, "model of streaming listen"),
        ({"model": "aura-2"}, "model of async listen"),
        ({"tts_characters": 10}, "listen usage has no tts_characters"),
        ({"endpoint": "read", "tokens_in": -1}, "tokens_in"),
        ({"endpoint": "agent", "agent_hours": "NaN"}, "agent_hours"),
        ({"endpoint": "transcribe"}, "endpoint"),
    ],
)
def test_it_refuses_a_line_it_cannot_hold(dated, changes, message):
    with pytest.raises(ValueError, match=message):
        dated.set_usage(KEYS[0], "2026-03-04", **{"hours": 0, "requests": 1, **changes})


def test_it_keeps_line_corrections_across_restarts(tmp_path):
    state = tmp_path / "sandbox.json"
    first = SandboxServer(port=0, token=TOKEN, project_id=PROJECT, state_file=state)
    key_id = first.add_key("Kept", created="2026-01-01")["api_key_id"]
    first.set_usage(key_id, "2026-03-04", hours=0, requests=3, endpoint="speak", tts_characters=7)
    first.set_usage(key_id, "2026-03-04", hours="0.5", requests=2, method="sync", model="nova-2")
    first.stop()

    second = SandboxServer(port=0, token=TOKEN, project_id=PROJECT, state_file=state).start()
    try:
        lines = atomic(second, accessor=key_id, **one_day("2026-03-04"))
    finally:
        second.stop()

    assert lines[key_id, "2026-03-04", "sync::aura-2"]["tts_characters"] == 7
    assert lines[key_id, "2026-03-04", "sync::nova-2"]["hours"] == Decimal("0.5")
