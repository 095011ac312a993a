"""Answers the client must not read as usage: a summary without `results`, and numbers no
usage can have. Each fails the call with its own kind and is not retried."""

from datetime import UTC, date, datetime

import pytest

from billing_portal.deepgram import BadNumberError, MissingDataError

START, END = date(2026, 10, 1), date(2026, 10, 7)

BAD_NUMBERS = [
    pytest.param("hours", "-1.5", id="negative-hours"),
    pytest.param("total_hours", "-0.000001", id="negative-total-hours"),
    pytest.param("requests", "-3", id="negative-requests"),
    pytest.param("hours", "NaN", id="nan"),
    pytest.param("hours", "Infinity", id="infinity"),
    pytest.param("requests", "-Infinity", id="minus-infinity"),
    pytest.param("hours", "1e30", id="hours-1e30"),
    pytest.param("hours", "10000000000", id="hours-beyond-the-column"),
    pytest.param("requests", "1e30", id="requests-1e30"),
    pytest.param("requests", "9223372036854775808", id="requests-beyond-the-column"),
    pytest.param("requests", "2.5", id="fractional-requests"),
]


@pytest.fixture
def key_id(sandbox):
    return sandbox.add_key(
        "Acme",
        created=datetime(2026, 9, 1, tzinfo=UTC),
        api_key_id="acacacac-0000-4000-8000-00000000000b",
    )["api_key_id"]


def summary(client, project_id, key_id):
    return client.usage_summary(project_id, start=START, end=END, accessor=key_id)


def test_it_refuses_a_summary_without_results(client, sandbox, project_id, key_id):
    sandbox.queue_fault("no_results", path="/usage")

    with pytest.raises(MissingDataError, match="results"):
        summary(client, project_id, key_id)

    assert len(sandbox.calls) == 1, "the same answer again would say the same"


def test_it_reads_an_empty_results_list_as_no_usage(client, project_id, key_id):
    empty = client.usage_summary(project_id, start="2026-08-01", end="2026-08-05", accessor=key_id)

    assert empty.results == ()


@pytest.mark.parametrize(("field", "number"), BAD_NUMBERS)
def test_it_refuses_a_number_no_usage_can_have(client, sandbox, project_id, key_id, field, number):
    sandbox.queue_fault("bad_number", path="/usage", field=field, number=number)

    with pytest.raises(BadNumberError):
        summary(client, project_id, key_id)

    assert len(sandbox.calls) == 1


def test_it_reads_the_largest_numbers_the_columns_hold(client, sandbox, project_id, key_id):
    sandbox.queue_fault("bad_number", path="/usage", field="hours", number="9999999999.999999")
    sandbox.queue_fault("bad_number", path="/usage", field="requests", number="9223372036854775807")

    hours = summary(client, project_id, key_id).results[0].hours
    requests = summary(client, project_id, key_id).results[0].requests

    assert str(hours) == "9999999999.999999"
    assert requests == 2**63 - 1


def test_it_keeps_the_management_key_out_of_a_bad_answer_error(
    client, sandbox, project_id, key_id, settings
):
    sandbox.queue_fault("bad_number", path="/usage", field="hours", number="NaN")

    with pytest.raises(BadNumberError) as caught:
        summary(client, project_id, key_id)

    assert settings.SANDBOX_API_KEY not in str(caught.value) + repr(caught.value)
