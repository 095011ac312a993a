"""Deepgram's own cost: the billing breakdown's dollars read exactly from the JSON text (6
places, half up), every bad amount refused, `results` required, grouped answers checked, the
billing fields, and a key without `billing:read` told apart from a bad key."""

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from billing_portal.deepgram import (
    AuthenticationError,
    BadNumberError,
    GroupingIgnoredError,
    MissingDataError,
    MissingPermissionError,
)
from billing_portal.deepgram.parsing_usage import (
    billing_dollars,
    parse_billing_breakdown,
    parse_billing_fields,
)
from billing_portal.deepgram.sandbox.catalog import PRICES
from billing_portal.deepgram.transport import decode_json

START, END = date(2026, 10, 1), date(2026, 10, 7)


def billing_row(dollars="1.25", **grouping) -> dict:
    group = {
        "start": "2026-10-03",
        "end": "2026-10-03",
        "accessor": "key-1",
        "deployment": None,
        "line_item": "streaming::nova-3",
        "tags": None,
        **grouping,
    }
    return {"dollars": dollars, "grouping": group}


def billing_answer(*rows) -> dict:
    return {"start": "2026-10-03", "end": "2026-10-03", "results": list(rows)}


def dollars_from_json(text: str) -> Decimal:
    """The dollars of a billing answer whose one row's amount is written as `text`, decoded
    as the transport decodes every answer."""
    body = f'{{"start":"2026-10-03","end":"2026-10-03","results":[{{"dollars":{text},'
    body += '"grouping":{"start":"2026-10-03","end":"2026-10-03"}}]}'
    return parse_billing_breakdown(decode_json(body.encode())).results[0].dollars


@pytest.fixture
def key_id(sandbox):
    return sandbox.add_key(
        "Acme",
        created=datetime(2026, 9, 1, tzinfo=UTC),
        api_key_id="acacacac-0000-4000-8000-00000000000d",
    )["api_key_id"]


# --- Dollars --------------------------------------------------------------------------------


def test_the_transport_decodes_fractions_as_decimals_never_floats():
    decoded = decode_json(b'{"dollars": 0.30000000000000004}')

    assert decoded["dollars"] == Decimal("0.30000000000000004")
    assert isinstance(decoded["dollars"], Decimal)


@pytest.mark.parametrize(
    ("text", "dollars"),
    [
        ("0.30000000000000004", "0.300000"),  # float noise
        ("0.1", "0.100000"),
        ("3", "3.000000"),
        ("0.0000005", "0.000001"),  # half up, not half even
        ("1.0000025", "1.000003"),
        ("0.00000049999", "0.000000"),
        ("-0.0", "0.000000"),
        ("1.5e-3", "0.001500"),
        ("9999999999.999999", "9999999999.999999"),
        ("9999999999.9999994", "9999999999.999999"),
    ],
)
def test_it_reads_dollars_from_the_json_text_to_six_places(text, dollars):
    read = dollars_from_json(text)

    assert str(read) == dollars


@pytest.mark.parametrize(
    "text",
    [
        "-0.01",
        "-0.0000001",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e30",
        "10000000000",
        "9999999999.9999995",  # rounds beyond the column
    ],
)
def test_it_refuses_an_amount_no_cost_can_have(text):
    with pytest.raises(BadNumberError):
        billing_dollars(Decimal(text))


def test_it_refuses_non_finite_dollars_at_decoding():
    with pytest.raises(ValueError, match="NaN"):
        decode_json(b'{"dollars": NaN}')


# --- Shape ----------------------------------------------------------------------------------


def test_it_reads_a_billing_breakdown():
    breakdown = parse_billing_breakdown(
        billing_answer(
            billing_row("0.5"), billing_row("2", tags=["acme"], line_item="sync::aura-2")
        ),
        ["accessor", "line_item"],
    )

    first, second = breakdown.results
    assert (first.grouping.accessor, first.grouping.line_item) == ("key-1", "streaming::nova-3")
    assert first.grouping.start == first.grouping.end == date(2026, 10, 3)
    assert (first.dollars, second.dollars) == (Decimal("0.500000"), Decimal("2.000000"))
    assert second.grouping.tags == ("acme",)
    assert breakdown.resolution.units == "day"


def test_it_refuses_a_billing_answer_without_results():
    data = billing_answer(billing_row())
    del data["results"]

    with pytest.raises(MissingDataError, match="results"):
        parse_billing_breakdown(data)


def test_it_reads_an_empty_results_list_as_no_cost():
    assert parse_billing_breakdown(billing_answer()).results == ()


@pytest.mark.parametrize("field", ["dollars", "grouping"])
def test_it_refuses_a_row_without_what_every_row_carries(field):
    data = billing_row()
    del data[field]

    with pytest.raises(MissingDataError, match=field):
        parse_billing_breakdown(billing_answer(data))


def test_it_refuses_null_dollars_as_missing():
    with pytest.raises(MissingDataError, match="dollars"):
        parse_billing_breakdown(billing_answer(billing_row(None)))


def test_it_refuses_a_row_null_for_a_dimension_asked():
    rows = [billing_row(), billing_row(line_item=None)]

    with pytest.raises(GroupingIgnoredError) as caught:
        parse_billing_breakdown(billing_answer(*rows), ["accessor", "line_item"])

    assert caught.value.dimensions == ("line_item",)
    assert not caught.value.retryable


def test_it_reads_the_billing_fields():
    fields = parse_billing_fields(
        {
            "accessors": ["key-1"],
            "deployments": ["hosted"],
            "tags": ["acme"],
            "line_items": {"streaming::nova-3": "Nova - 3 (Stream)"},
        }
    )

    assert fields.accessors == ("key-1",)
    assert (fields.deployments, fields.tags) == (("hosted",), ("acme",))
    assert fields.line_items == {"streaming::nova-3": "Nova - 3 (Stream)"}


def test_it_reads_billing_fields_without_line_items_as_none():
    assert parse_billing_fields({}).line_items == {}


# --- Permission -----------------------------------------------------------------------------


def test_a_403_on_a_billing_call_names_billing_read(client, sandbox, project_id):
    sandbox.queue_fault("error", status=403, path="/billing/breakdown")

    with pytest.raises(MissingPermissionError, match="billing:read") as caught:
        client.billing_breakdown(project_id, start=START, end=END, grouping="accessor")

    assert caught.value.permission == "billing:read"
    assert caught.value.status == 403
    assert "User does not have sufficient permissions." in str(caught.value)
    assert len(sandbox.calls) == 1, "not retried"


def test_a_403_is_still_an_authentication_error(client, sandbox, project_id):
    sandbox.queue_fault("error", status=403, path="/billing/fields")

    with pytest.raises(AuthenticationError):
        client.billing_fields(project_id)


def test_a_403_elsewhere_names_no_permission(client, sandbox, project_id):
    sandbox.queue_fault("error", status=403, path="/usage")

    with pytest.raises(MissingPermissionError) as caught:
        client.usage_summary(project_id, start=START, end=END)

    assert caught.value.permission is None
    assert caught.value.message == "User does not have sufficient permissions."


def test_a_401_on_a_billing_call_stays_a_bad_key(make_client, project_id):
    client = make_client(api_key="wrong-key-0123456789")

    with pytest.raises(AuthenticationError) as caught:
        client.billing_breakdown(project_id, start=START, end=END)

    assert not isinstance(caught.value, MissingPermissionError)
    assert caught.value.status == 401


def test_it_sends_the_billing_grouping_as_an_array(client, sandbox, project_id):
    sandbox.queue_fault("error", status=403, path="/billing/breakdown")

    with pytest.raises(MissingPermissionError):
        client.billing_breakdown(
            project_id,
            start=START,
            end=END,
            grouping=["accessor", "line_item"],
            line_item="streaming::nova-3",
        )

    query = sandbox.calls[-1].query
    assert query["grouping"] == ["accessor", "line_item"]
    assert (query["start"], query["end"]) == (["2026-10-01"], ["2026-10-07"])
    assert query["line_item"] == ["streaming::nova-3"]


# --- Against the sandbox --------------------------------------------------------------------


def line_item_of(group) -> str:
    """The sandbox's line item of a usage row (the contract's pattern, a test's knowledge)."""
    (model,) = group.models
    if group.endpoint in ("agent", "read"):
        return f"{group.endpoint}::{model}"
    return f"{group.method}::{model}"


def cost_from_usage(client, project_id, key_id) -> dict[tuple, Decimal]:
    """(day, line item) -> the price list times the key's usage, rounded half up once."""
    usage = client.usage_breakdown(
        project_id,
        start=START,
        end=END,
        accessor=key_id,
        grouping=["accessor", "endpoint", "method", "models"],
    )
    cost = defaultdict(Decimal)
    for row in usage.results:
        item = line_item_of(row.grouping)
        dollars = sum(price * getattr(row, unit) for unit, price in PRICES[item].items())
        cost[row.grouping.start, item] += dollars.quantize(Decimal("0.000001"), ROUND_HALF_UP)
    return dict(cost)


def billed(client, project_id, key_id) -> dict[tuple, Decimal]:
    breakdown = client.billing_breakdown(
        project_id, start=START, end=END, accessor=key_id, grouping=["accessor", "line_item"]
    )
    assert {row.grouping.accessor for row in breakdown.results} == {key_id}
    return {(row.grouping.start, row.grouping.line_item): row.dollars for row in breakdown.results}


def test_the_billed_dollars_are_the_price_list_times_the_usage(client, project_id, key_id):
    assert billed(client, project_id, key_id) == cost_from_usage(client, project_id, key_id)


def test_every_grouping_adds_up_to_the_ungrouped_dollars(client, project_id, key_id):
    whole = client.billing_breakdown(project_id, start=START, end=END)
    by_key = client.billing_breakdown(
        project_id, start=START, end=END, grouping=["accessor", "line_item"]
    )

    assert whole.results and all(row.grouping.accessor is None for row in whole.results)
    for day in whole.results:
        parts = [r.dollars for r in by_key.results if r.grouping.start == day.grouping.start]
        assert sum(parts) == day.dollars


def test_dollars_with_float_noise_read_as_the_exact_amounts(client, sandbox, project_id, key_id):
    exact = billed(client, project_id, key_id)
    sandbox.configure(float_noise=True)

    noisy = billed(client, project_id, key_id)

    assert noisy == exact
    assert all(dollars.as_tuple().exponent == -6 for dollars in noisy.values())


def test_it_reads_the_billing_fields_with_labels(client, project_id, key_id):
    fields = client.billing_fields(project_id, start=START, end=END)

    assert key_id in fields.accessors
    assert fields.deployments == ("hosted",)
    assert fields.line_items["streaming::nova-3"] == "Nova - 3 (Stream)"
    assert set(fields.line_items) <= set(PRICES)


@pytest.mark.parametrize("billing_read", [False, "this project"])
def test_a_key_without_billing_read_still_reads_usage(
    client, sandbox, project_id, key_id, billing_read
):
    sandbox.configure(billing_read=[project_id] if billing_read else False)

    for call in (
        lambda: client.billing_breakdown(project_id, start=START, end=END),
        lambda: client.billing_fields(project_id),
    ):
        with pytest.raises(MissingPermissionError, match="billing:read"):
            call()
    assert client.usage_breakdown(project_id, start=START, end=END, grouping="accessor").results
    assert len(sandbox.calls) == 3, "a missing permission is not retried"


def test_decoding_keeps_every_fraction_exact_and_integers_whole():
    decoded = decode_json(b'{"a": [1, 2.50, 1e3, 0.000001], "b": {"c": 12345678901234567890}}')
    assert decoded == {
        "a": [1, Decimal("2.50"), Decimal("1E+3"), Decimal("0.000001")],
        "b": {"c": 12345678901234567890},
    }
    assert type(decoded["a"][0]) is int and str(decoded["a"][1]) == "2.50"


@pytest.mark.parametrize("text", [b'{"hours": Infinity}', b'{"hours": -Infinity}'])
def test_decoding_refuses_infinities_as_not_finite(text):
    with pytest.raises(ValueError, match="Infinity"):
        decode_json(text)


def test_malformed_json_is_a_json_error_not_a_number_error():
    with pytest.raises(json.JSONDecodeError):
        decode_json(b'{"hours": 1.5')
