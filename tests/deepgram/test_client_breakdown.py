"""The usage breakdown: every unit checked, `results` required, each grouped answer checked for
dimensions that came back null, the model dimension however it is spelled, and the probe of
which groupings combine."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_portal.deepgram import (
    BadNumberError,
    BadRequestError,
    BadResponseError,
    GroupingIgnoredError,
    MissingDataError,
)
from billing_portal.deepgram.parsing_usage import parse_usage_breakdown
from billing_portal.deepgram.types import GroupingSupport

START, END = date(2026, 10, 1), date(2026, 10, 7)
DAY = date(2026, 10, 3)
EMPTY_DAY = date(2026, 8, 3)  # before the key was made: it has no usage
COMBINED = ["accessor", "endpoint", "method", "models"]


def row(**changes) -> dict:
    """One breakdown row as Deepgram writes it, grouped by accessor and models."""
    data = {
        "hours": Decimal("1.5"),
        "total_hours": Decimal("3"),
        "agent_hours": Decimal("0.25"),
        "tokens_in": 10,
        "tokens_out": 20,
        "tts_characters": 3000,
        "requests": 7,
        "grouping": {
            "start": "2026-10-03",
            "end": "2026-10-03",
            "accessor": "key-1",
            "endpoint": None,
            "feature_set": None,
            "models": ["nova-3"],
            "method": None,
            "tags": None,
            "deployment": None,
        },
    }
    data.update(changes)
    return data


def answer(*rows) -> dict:
    return {"start": "2026-10-03", "end": "2026-10-03", "resolution": None, "results": list(rows)}


def grouped(**grouping) -> dict:
    return row(grouping={**row()["grouping"], **grouping})


@pytest.fixture
def key_id(sandbox):
    return sandbox.add_key(
        "Acme",
        created=datetime(2026, 9, 1, tzinfo=UTC),
        api_key_id="acacacac-0000-4000-8000-00000000000c",
    )["api_key_id"]


# --- Numbers and missing data ---------------------------------------------------------------


def test_it_reads_every_unit_of_a_row():
    (parsed,) = parse_usage_breakdown(answer(row())).results

    assert (parsed.hours, parsed.total_hours, parsed.agent_hours) == (
        Decimal("1.5"),
        Decimal("3"),
        Decimal("0.25"),
    )
    assert (parsed.tokens_in, parsed.tokens_out, parsed.tts_characters, parsed.requests) == (
        10,
        20,
        3000,
        7,
    )
    assert parsed.grouping.start == parsed.grouping.end == DAY


@pytest.mark.parametrize(
    ("unit", "number"),
    [
        *[(unit, Decimal("-0.5")) for unit in ("hours", "total_hours", "agent_hours")],
        *[(unit, -1) for unit in ("tokens_in", "tokens_out", "tts_characters", "requests")],
        *[(unit, Decimal("2.5")) for unit in ("tokens_in", "tokens_out", "tts_characters")],
        ("requests", Decimal("0.5")),
        ("agent_hours", Decimal("NaN")),
        ("hours", Decimal("Infinity")),
        ("tts_characters", Decimal("-Infinity")),
        ("total_hours", Decimal("10000000000")),
        ("tokens_out", 2**63),
    ],
)
def test_it_refuses_a_unit_no_usage_can_have(unit, number):
    with pytest.raises(BadNumberError, match=unit):
        parse_usage_breakdown(answer(row(**{unit: number})))


def test_it_refuses_a_breakdown_without_results():
    data = answer(row())
    del data["results"]

    with pytest.raises(MissingDataError, match="results"):
        parse_usage_breakdown(data)


def test_it_reads_an_empty_results_list_as_no_usage():
    assert parse_usage_breakdown(answer()).results == ()


@pytest.mark.parametrize("field", ["hours", "requests", "grouping"])
def test_it_refuses_a_row_without_what_every_row_carries(field):
    data = row()
    del data[field]

    with pytest.raises(MissingDataError, match=field):
        parse_usage_breakdown(answer(data))


def test_it_refuses_a_breakdown_without_results_over_http(client, sandbox, project_id, key_id):
    sandbox.queue_fault("no_results", path="/usage/breakdown")

    with pytest.raises(MissingDataError, match="results"):
        client.usage_breakdown(project_id, start=START, end=END, grouping="accessor")

    assert len(sandbox.calls) == 1, "not retried: the same answer again would say the same"


# --- The model dimension, however it is spelled ---------------------------------------------


@pytest.mark.parametrize(
    "spelled",
    [{"models": ["nova-3"]}, {"models": None, "model": "nova-3"}, {"model": ["nova-3"]}],
    ids=["models-list", "model-string", "model-list"],
)
def test_it_reads_the_model_dimension_however_it_is_spelled(spelled):
    group = {**row()["grouping"], **spelled}
    if "models" not in spelled:
        del group["models"]

    (parsed,) = parse_usage_breakdown(answer(row(grouping=group)), ["model"]).results

    assert parsed.grouping.models == ("nova-3",)


def test_it_sends_the_model_grouping_as_the_caller_spells_it(client, sandbox, project_id, key_id):
    sandbox.configure(model_grouping="both")

    client.usage_breakdown(project_id, start=START, end=END, grouping=["accessor", "model"])
    client.usage_breakdown(project_id, start=START, end=END, grouping=["accessor", "models"])

    assert [call.query["grouping"] for call in sandbox.calls] == [
        ["accessor", "model"],
        ["accessor", "models"],
    ]


def test_it_sends_the_endpoint_and_deployment_filters(client, sandbox, project_id, key_id):
    client.usage_breakdown(
        project_id, start=START, end=END, grouping="models", endpoint="listen", deployment="hosted"
    )

    query = sandbox.calls[-1].query
    assert (query["endpoint"], query["deployment"]) == (["listen"], ["hosted"])


# --- Groupings that came back null ----------------------------------------------------------


def test_it_refuses_a_row_null_for_a_dimension_asked():
    rows = [row(), grouped(models=None)]

    with pytest.raises(GroupingIgnoredError) as caught:
        parse_usage_breakdown(answer(*rows), ["accessor", "models"])

    assert caught.value.dimensions == ("models",)
    assert not caught.value.retryable
    assert isinstance(caught.value, BadResponseError)


def test_it_names_the_null_dimension_as_the_call_spelled_it():
    with pytest.raises(GroupingIgnoredError) as caught:
        parse_usage_breakdown(answer(grouped(models=None, accessor=None)), ["model", "accessor"])

    assert caught.value.dimensions == ("model", "accessor")


def test_it_reads_an_empty_list_as_a_value_not_as_null():
    (parsed,) = parse_usage_breakdown(answer(grouped(tags=[])), ["accessor", "tags"]).results

    assert parsed.grouping.tags == ()


def test_it_checks_only_what_was_asked():
    parsed = parse_usage_breakdown(answer(grouped(method=None)), ["accessor", "models"])

    assert parsed.results[0].grouping.method is None


def test_it_checks_every_grouped_answer_over_http(client, sandbox, project_id, key_id):
    breakdown = client.usage_breakdown(project_id, start=START, end=END, grouping=COMBINED)

    assert breakdown.results
    for parsed in breakdown.results:
        group = parsed.grouping
        assert None not in (group.accessor, group.endpoint, group.method, group.models)


def test_it_refuses_groupings_deepgram_would_not_combine(client, sandbox, project_id, key_id):
    sandbox.configure(combine_groupings=False)

    with pytest.raises(GroupingIgnoredError) as caught:
        client.usage_breakdown(project_id, start=START, end=END, grouping=COMBINED)

    assert caught.value.dimensions == tuple(COMBINED)
    assert len(sandbox.calls) == 1, "not retried: the same question gets the same answer"
    alone = client.usage_breakdown(project_id, start=START, end=END, grouping="models")
    assert alone.results and all(r.grouping.models for r in alone.results)


def test_it_reads_models_named_by_display_name(client, sandbox, project_id, key_id):
    sandbox.configure(model_names="display")

    breakdown = client.usage_breakdown(project_id, start=START, end=END, grouping="models")

    models = {model for r in breakdown.results for model in r.grouping.models}
    assert "Nova-3" in models and "nova-3" not in models


# --- The probe ------------------------------------------------------------------------------


def test_the_probe_finds_groupings_that_combine_in_one_call(client, sandbox, project_id, key_id):
    support = client.probe_usage_groupings(project_id, day=DAY)

    assert support == GroupingSupport(combines=True, model_grouping="models", calls=1)
    assert support.known
    assert sandbox.calls[0].query["grouping"] == COMBINED
    assert sandbox.calls[0].query["start"] == sandbox.calls[0].query["end"] == ["2026-10-03"]


def test_the_probe_tries_the_docs_spelling_after_a_400(client, sandbox, project_id, key_id):
    sandbox.configure(model_grouping="model")

    support = client.probe_usage_groupings(project_id, day=DAY)

    assert support == GroupingSupport(combines=True, model_grouping="model", calls=2)
    assert [call.query["grouping"][-1] for call in sandbox.calls] == ["models", "model"]


def test_the_probe_raises_when_both_spellings_are_refused(client, sandbox, project_id, key_id):
    sandbox.queue_fault("error", status=400, path="/usage/breakdown", count=2)

    with pytest.raises(BadRequestError):
        client.probe_usage_groupings(project_id, day=DAY)

    assert len(sandbox.calls) == 2


@pytest.mark.parametrize(
    ("spelling", "calls"), [("models", 1), ("model", 2)], ids=["spec-spelling", "docs-spelling"]
)
def test_the_probe_reports_a_day_without_usage_as_unknown(
    client, sandbox, project_id, key_id, spelling, calls
):
    sandbox.configure(model_grouping=spelling, combine_groupings=False)

    support = client.probe_usage_groupings(project_id, day=EMPTY_DAY, accessor=key_id)

    assert support == GroupingSupport(combines=None, model_grouping=spelling, calls=calls)
    assert not support.known, "nothing was seen: probe again on a day with usage"


def test_the_probe_asks_about_one_key_when_told(client, sandbox, project_id, key_id):
    support = client.probe_usage_groupings(project_id, day=DAY, accessor=key_id)

    assert support.combines is True
    assert sandbox.calls[0].query["accessor"] == [key_id]


@pytest.mark.parametrize(
    ("switches", "expected"),
    [
        ({"model_grouping": "both"}, GroupingSupport(True, "models", 1)),
        ({"combine_groupings": False}, GroupingSupport(False, "models", 2)),
        (
            {"combine_groupings": False, "model_grouping": "model"},
            GroupingSupport(False, "model", 3),
        ),
        (
            {"combine_groupings": False, "model_grouping": "both"},
            GroupingSupport(False, "models", 2),
        ),
    ],
    ids=["combine-both-spellings", "no-combine", "no-combine-model-only", "no-combine-both"],
)
def test_the_probe_reads_every_sandbox_mode(
    client, sandbox, project_id, key_id, switches, expected
):
    sandbox.configure(**switches)

    assert client.probe_usage_groupings(project_id, day=DAY) == expected
    assert client.stats.calls == expected.calls


def test_the_probe_asks_the_model_alone_when_groupings_do_not_combine(
    client, sandbox, project_id, key_id
):
    sandbox.configure(combine_groupings=False)

    client.probe_usage_groupings(project_id, day=DAY)

    assert [call.query["grouping"] for call in sandbox.calls] == [COMBINED, ["models"]]
