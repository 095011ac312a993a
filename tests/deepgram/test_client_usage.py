from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_portal.deepgram import BadRequestError

START, END = date(2026, 10, 1), date(2026, 10, 14)


def test_it_returns_daily_usage_as_decimals(client, project_id, key_id):
    summary = client.usage_summary(project_id, start=START, end=END, accessor=key_id)

    assert (summary.start, summary.end) == (START, END)
    assert summary.resolution.units == "day"
    assert summary.results, "the sandbox reports usage on most days"
    for day in summary.results:
        assert START <= day.start <= END
        assert isinstance(day.hours, Decimal) and isinstance(day.total_hours, Decimal)
        assert day.total_hours >= day.hours > 0
        assert day.requests > 0


def test_it_gets_the_same_answer_twice(client, project_id, key_id):
    first = client.usage_summary(project_id, start=START, end=END, accessor=key_id)

    assert client.usage_summary(project_id, start=START, end=END, accessor=key_id) == first


def test_it_splits_usage_by_method_exactly(client, project_id, key_id):
    whole = client.usage_summary(project_id, start=START, end=END, accessor=key_id)
    by_method = [
        client.usage_summary(project_id, start=START, end=END, accessor=key_id, method=method)
        for method in ("sync", "async", "streaming")
    ]

    for day in whole.results:
        parts = [row for summary in by_method for row in summary.results if row.start == day.start]
        assert sum(row.hours for row in parts) == day.hours
        assert sum(row.requests for row in parts) == day.requests


def test_it_reads_a_summary_with_and_without_tokens_and_tts(client, sandbox, project_id, key_id):
    with_extras = client.usage_summary(project_id, start=START, end=END, accessor=key_id)
    sandbox.configure(summary_extras=False)
    without = client.usage_summary(project_id, start=START, end=END, accessor=key_id)

    assert [(d.start, d.hours, d.requests) for d in without.results] == [
        (d.start, d.hours, d.requests) for d in with_extras.results
    ]
    assert any(d.tokens_in or d.tts_characters for d in with_extras.results)
    assert all(d.tokens_in == d.tts_characters == 0 for d in without.results)


def test_it_sends_feature_filters_as_lowercase_booleans(client, sandbox, project_id, key_id):
    client.usage_summary(
        project_id,
        start=START,
        end=END,
        accessor=key_id,
        features={"diarize": True, "punctuate": False},
    )

    assert sandbox.calls[-1].query["diarize"] == ["true"]
    assert sandbox.calls[-1].query["punctuate"] == ["false"]


def test_it_refuses_a_non_boolean_feature_filter(client, project_id):
    with pytest.raises(TypeError):
        client.usage_summary(project_id, start=START, end=END, features={"diarize": "yes"})


def test_it_filters_by_tag(client, sandbox, project_id, key_id):
    sandbox.add_key("Other", created=datetime(2026, 9, 1, tzinfo=UTC), tags=("other",))

    tagged = client.usage_summary(project_id, start=START, end=END, tag="acme")
    by_key = client.usage_summary(project_id, start=START, end=END, accessor=key_id)

    assert tagged.results == by_key.results


def test_it_reports_a_bad_date_range(client, project_id):
    with pytest.raises(BadRequestError):
        client.usage_summary(project_id, start=END, end=START)


def test_it_reads_the_breakdown_grouped_by_accessor(client, sandbox, project_id, key_id):
    breakdown = client.usage_breakdown(project_id, start=START, end=END, grouping="accessor")
    summary = client.usage_summary(project_id, start=START, end=END, accessor=key_id)

    mine = [row for row in breakdown.results if row.grouping.accessor == key_id]
    assert sum(row.hours for row in mine) == sum(day.hours for day in summary.results)
    assert all(row.grouping.method is None for row in breakdown.results)
    assert sandbox.calls[0].query["grouping"] == ["accessor"]


def test_it_reads_usage_fields(client, project_id):
    fields = client.usage_fields(project_id, start=START, end=END)

    assert fields.models and fields.models[0].name
    assert "streaming" in fields.processing_methods or fields.processing_methods


def test_it_reads_balances(client, project_id):
    balances = client.list_balances(project_id)

    assert balances and isinstance(balances[0].amount, Decimal)
    assert client.get_balance(project_id, balances[0].balance_id) == balances[0]
