"""Parsers of the usage and billing answers: the usage summary, the usage breakdown, the billing
breakdown and the billing fields, and the check that a grouped answer is grouped as asked.

They are strict where a tolerant reading would be wrong:
- An answer without `results` (the shape of the current spec's usage summary example, which
  lost it to a YAML bug) is `MissingDataError`, never "no usage"; `results: []` is no usage
  (or no cost). A summary or breakdown row without `hours` or `requests`, a breakdown row
  without `grouping`, a billing row without `dollars` or `grouping` is missing data too.
- Every unit follows the number rules of `parsing` (`BadNumberError`). Dollars are read from
  the JSON text (parsed with parse_float=Decimal, never through float) and rounded half up to
  6 places, so float noise (0.30000000000000004) reads 0.300000; a negative, non-finite or
  beyond-the-column (DecimalField(16, 6)) amount is `BadNumberError`.
- A grouped breakdown is checked row by row (`check_grouping`): a null field for a dimension
  the call grouped by is `GroupingIgnoredError`. Only null counts: an empty list (a key without
  tags) is a value. The model dimension is read whether the answer spells it `models` (a list)
  or `model` (a string or a list), and grouping by `model` or `models` checks it alike.
- The billing fields are metadata, read tolerantly: a missing list or `line_items` is empty.
"""

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .errors import BadNumberError, GroupingIgnoredError, MissingDataError
from .parsing import (
    MAX_DOLLARS,
    as_mapping,
    as_strings,
    parse_date,
    required,
    to_decimal,
    to_int,
    usage_count,
    usage_hours,
)
from .types import (
    BillingBreakdown,
    BillingFields,
    BillingGroup,
    BillingRow,
    BreakdownGroup,
    BreakdownRow,
    Resolution,
    UsageBreakdown,
    UsageDay,
    UsageSummary,
)

DOLLAR_PLACES = Decimal("0.000001")

# The row field each grouping value fills. A value the client does not know is sent as given
# and not checked (Deepgram answers a 400 for one it does not take).
USAGE_GROUPING_FIELDS = {
    "accessor": "accessor",
    "endpoint": "endpoint",
    "feature_set": "feature_set",
    "models": "models",
    "model": "models",
    "method": "method",
    "tags": "tags",
    "tag": "tags",
    "deployment": "deployment",
}
BILLING_GROUPING_FIELDS = {
    "accessor": "accessor",
    "deployment": "deployment",
    "line_item": "line_item",
    "tags": "tags",
}


def billing_dollars(value: Any) -> Decimal:
    """A cost in USD: finite, from 0 to MAX_DOLLARS once rounded half up to 6 places."""
    number = to_decimal(value, "billing dollars")
    # The first bound keeps quantize() within the context's precision (1e30 would overflow it).
    if not 0 <= number < MAX_DOLLARS + 1:
        raise BadNumberError(f"billing dollars {number} is negative or beyond {MAX_DOLLARS}")
    dollars = number.quantize(DOLLAR_PLACES, rounding=ROUND_HALF_UP).copy_abs()  # no -0
    if dollars > MAX_DOLLARS:
        raise BadNumberError(f"billing dollars {number} is beyond {MAX_DOLLARS}")
    return dollars


def _results(data: Mapping[str, Any], what: str) -> list:
    results = data.get("results")
    if results is None:
        raise MissingDataError(f"Deepgram's {what} has no 'results'")
    if isinstance(results, str | Mapping):
        raise TypeError(f"results is a {type(results).__name__}, not a list")
    return results


def _parse_resolution(data: Any) -> Resolution:
    data = as_mapping(data or {"units": "day", "amount": 1})
    return Resolution(units=str(data.get("units", "day")), amount=to_int(data.get("amount", 1)))


def _optional_strings(value: Any) -> tuple[str, ...] | None:
    return None if value is None else as_strings(value)


def _day_span(group: Mapping[str, Any], what: str) -> tuple[date, date]:
    start = required(group, "start", what)
    return parse_date(start), parse_date(group.get("end") or start)


# --- Usage summary --------------------------------------------------------------------------


def _parse_usage_day(data: Any) -> UsageDay:
    data = as_mapping(data)
    tokens = as_mapping(data.get("tokens") or {})
    tts = as_mapping(data.get("tts") or {})
    hours = required(data, "hours", "usage")
    return UsageDay(
        start=parse_date(data["start"]),
        end=parse_date(data.get("end", data["start"])),
        hours=usage_hours(hours, "hours"),
        total_hours=usage_hours(data.get("total_hours", hours), "total_hours"),
        requests=usage_count(required(data, "requests", "usage"), "requests"),
        tokens_in=usage_count(tokens.get("in"), "tokens in"),
        tokens_out=usage_count(tokens.get("out"), "tokens out"),
        tts_characters=usage_count(tts.get("characters"), "tts characters"),
        tts_requests=usage_count(tts.get("requests"), "tts requests"),
    )


def parse_usage_summary(data: Any) -> UsageSummary:
    """The summary; its `results` must be there: the current spec's example, which lost it,
    reads as a bad answer, never as "no usage" (an empty list is no usage)."""
    data = as_mapping(data)
    results = _results(data, "usage summary")
    return UsageSummary(
        start=parse_date(data["start"]),
        end=parse_date(data["end"]),
        resolution=_parse_resolution(data.get("resolution")),
        results=tuple(_parse_usage_day(row) for row in results),
    )


# --- Usage breakdown ------------------------------------------------------------------------


def _breakdown_group(group: Mapping[str, Any]) -> BreakdownGroup:
    models = group.get("models")
    if models is None:
        models = group.get("model")  # the docs' spelling, a string or a list
    start, end = _day_span(group, "usage breakdown")
    return BreakdownGroup(
        start=start,
        end=end,
        accessor=group.get("accessor"),
        endpoint=group.get("endpoint"),
        feature_set=group.get("feature_set"),
        models=_optional_strings(models),
        method=group.get("method"),
        tags=_optional_strings(group.get("tags")),
        deployment=group.get("deployment"),
    )


def _parse_breakdown_row(data: Any) -> BreakdownRow:
    data = as_mapping(data)
    what = "usage breakdown"
    hours = required(data, "hours", what)
    return BreakdownRow(
        grouping=_breakdown_group(as_mapping(required(data, "grouping", what))),
        hours=usage_hours(hours, "hours"),
        total_hours=usage_hours(data.get("total_hours", hours), "total_hours"),
        agent_hours=usage_hours(data.get("agent_hours"), "agent_hours"),
        requests=usage_count(required(data, "requests", what), "requests"),
        tokens_in=usage_count(data.get("tokens_in"), "tokens_in"),
        tokens_out=usage_count(data.get("tokens_out"), "tokens_out"),
        tts_characters=usage_count(data.get("tts_characters"), "tts_characters"),
    )


def parse_usage_breakdown(data: Any, grouping: Iterable[str] = ()) -> UsageBreakdown:
    """The usage breakdown, checked against the `grouping` the call asked (none: unchecked)."""
    data = as_mapping(data)
    breakdown = UsageBreakdown(
        start=parse_date(data["start"]),
        end=parse_date(data["end"]),
        resolution=_parse_resolution(data.get("resolution")),
        results=tuple(_parse_breakdown_row(row) for row in _results(data, "usage breakdown")),
    )
    check_grouping(breakdown.results, grouping, USAGE_GROUPING_FIELDS, "usage breakdown")
    return breakdown


# --- Billing breakdown and fields -----------------------------------------------------------


def _parse_billing_row(data: Any) -> BillingRow:
    data = as_mapping(data)
    what = "billing breakdown"
    group = as_mapping(required(data, "grouping", what))
    start, end = _day_span(group, what)
    return BillingRow(
        grouping=BillingGroup(
            start=start,
            end=end,
            accessor=group.get("accessor"),
            deployment=group.get("deployment"),
            line_item=group.get("line_item"),
            tags=_optional_strings(group.get("tags")),
        ),
        dollars=billing_dollars(required(data, "dollars", what)),
    )


def parse_billing_breakdown(data: Any, grouping: Iterable[str] = ()) -> BillingBreakdown:
    """The billing breakdown, checked against the `grouping` the call asked (none: unchecked)."""
    data = as_mapping(data)
    breakdown = BillingBreakdown(
        start=parse_date(data["start"]),
        end=parse_date(data["end"]),
        resolution=_parse_resolution(data.get("resolution")),
        results=tuple(_parse_billing_row(row) for row in _results(data, "billing breakdown")),
    )
    check_grouping(breakdown.results, grouping, BILLING_GROUPING_FIELDS, "billing breakdown")
    return breakdown


def parse_billing_fields(data: Any) -> BillingFields:
    data = as_mapping(data)
    line_items = as_mapping(data.get("line_items") or {})
    return BillingFields(
        accessors=as_strings(data.get("accessors")),
        deployments=as_strings(data.get("deployments")),
        tags=as_strings(data.get("tags")),
        line_items={str(code): str(label) for code, label in line_items.items()},
    )


# --- Grouping ---------------------------------------------------------------------------------


def ignored_grouping(rows: Iterable, grouping: Iterable[str], fields: Mapping[str, str]) -> tuple:
    """The grouping values asked (in the order asked) whose field is null in any row."""
    asked = {value: fields[value] for value in grouping if value in fields}
    names, nulls = set(asked.values()), set()
    for row in rows:
        nulls.update(name for name in names if getattr(row.grouping, name) is None)
    return tuple(value for value, name in asked.items() if name in nulls)


def check_grouping(rows, grouping: Iterable[str], fields: Mapping[str, str], what: str) -> None:
    """GroupingIgnoredError when a row has a null field for a dimension grouped by."""
    grouping = tuple(grouping)
    ignored = ignored_grouping(rows, grouping, fields)
    if ignored:
        raise GroupingIgnoredError(
            f"Deepgram's {what} grouped by {', '.join(grouping)} has rows without "
            f"{', '.join(ignored)}: it ignored that grouping",
            dimensions=ignored,
        )
