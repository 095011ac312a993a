"""Parsers that build the client's typed values (`types`) from Deepgram's JSON, and the number
rules every parser follows.

Parsers are tolerant exactly where the sources disagree (see shared/deepgram-api.md): both
envelopes of get-key and get-request, unknown fields ignored, optional fields missing. Anything
else that does not fit raises `BadResponseError`. Numbers arrive as `Decimal` (the JSON is
parsed with parse_float=Decimal; NaN and Infinity are refused by the transport).

The usage and billing answers, strict where a tolerant reading would be wrong, are parsed in
`parsing_usage`, with the rules of their own; the number rules they share are here:
- A usage number that is negative, not finite, a count that is not whole, or beyond what the
  portal stores (hours below 10**10 with 6 decimals, counts below 2**63) is `BadNumberError`.
"""

import functools
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from .errors import BadNumberError, BadResponseError, MissingDataError
from .types import (
    ApiKeyInfo,
    Balance,
    CreatedKey,
    KeyMember,
    ModelInfo,
    Project,
    ProjectKey,
    RequestDetails,
    RequestRecord,
    RequestsPage,
    UsageFields,
)

T = TypeVar("T")

_FRACTION = re.compile(r"\.(\d{6})\d+")

# What the portal can store of a usage number or a cost (DecimalField(16, 6), BigIntegerField);
# a test holds these to the usage columns, as this package imports no app.
MAX_HOURS = Decimal("9999999999.999999")
MAX_COUNT = 2**63 - 1
MAX_DOLLARS = Decimal("9999999999.999999")


def parse_datetime(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime; `None` stays `None`."""
    if value in (None, ""):
        return None
    text = _FRACTION.sub(r".\1", str(value).replace("Z", "+00:00"))
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: Any) -> date:
    if type(value) is str:
        return _date_of(value)  # an answer's rows share a few days: read each once
    return date.fromisoformat(str(value)[:10])


@functools.lru_cache(maxsize=4096)
def _date_of(text: str) -> date:
    return date.fromisoformat(text[:10])


def to_decimal(value: Any, name: str = "number") -> Decimal:
    """A JSON number (or a numeric string, as one old SDK saw) as a Decimal; missing is 0.
    `name` says which number in the error."""
    kind = type(value)
    if kind is Decimal:  # what the JSON decoder makes of a fraction: no need to read it again
        if not value.is_finite():
            raise BadNumberError(f"{name} {value!r} is not a finite number")
        return value
    if kind is int:
        return Decimal(value)
    if value is None:
        return Decimal(0)
    if isinstance(value, bool):
        raise TypeError("boolean where a number was expected")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise BadNumberError(f"{name} {value!r} is not a finite number")
    return number


def to_int(value: Any) -> int:
    return int(to_decimal(value))


def usage_hours(value: Any, name: str) -> Decimal:
    """Hours of usage: a finite Decimal from 0 to MAX_HOURS; missing is 0."""
    number = to_decimal(value, f"usage {name}")
    if not 0 <= number <= MAX_HOURS:
        raise BadNumberError(f"usage {name} {number} is negative or beyond {MAX_HOURS}")
    return number


def usage_count(value: Any, name: str) -> int:
    """A count of usage (requests, tokens, characters): whole, from 0 to MAX_COUNT."""
    if type(value) is int and 0 <= value <= MAX_COUNT:  # the usual case, checked as it is
        return value
    number = to_decimal(value, f"usage {name}")
    if number != number.to_integral_value() or not 0 <= number <= MAX_COUNT:
        raise BadNumberError(f"usage {name} {number} is not a whole number from 0 to {MAX_COUNT}")
    return int(number)


def required(data: Mapping[str, Any], name: str, what: str) -> Any:
    """`data[name]`; a missing or null one is MissingDataError, naming the answer (`what`)."""
    if data.get(name) is None:
        raise MissingDataError(f"Deepgram's {what} answer has no {name!r}")
    return data[name]


def as_strings(value: Any) -> tuple[str, ...]:
    """A string or a list of them as a tuple of strings; null is ()."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if type(value) is list and len(value) == 1 and type(value[0]) is str:  # one model: usual
        return (value[0],)
    return tuple(map(str, value))


def parse_with(parser: Callable[[Any], T], payload: Any, what: str) -> T:
    """Run `parser`, turning any shape mismatch into a BadResponseError naming `what`."""
    try:
        return parser(payload)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise BadResponseError(f"Unexpected shape of Deepgram's {what} answer: {exc!r}") from exc


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A JSON object; anything else is a TypeError (a bad answer, in `parse_with`)."""
    if type(value) is not dict and not isinstance(value, Mapping):  # dict: the usual, fast
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


# --- Projects -------------------------------------------------------------------------------


def parse_project(data: Any) -> Project:
    data = as_mapping(data)
    return Project(
        project_id=str(data["project_id"]),
        name=str(data.get("name", "")),
        mip_opt_out=data.get("mip_opt_out"),
    )


def parse_projects(data: Any) -> list[Project]:
    return [parse_project(item) for item in as_mapping(data)["projects"]]


# --- Keys -----------------------------------------------------------------------------------


def _parse_api_key(data: Any) -> ApiKeyInfo:
    data = as_mapping(data)
    return ApiKeyInfo(
        api_key_id=str(data["api_key_id"]),
        comment=str(data.get("comment") or ""),
        scopes=as_strings(data.get("scopes")),
        tags=as_strings(data.get("tags")),
        expiration_date=parse_datetime(data.get("expiration_date")),
        created=parse_datetime(data.get("created")),
    )


def _parse_member(data: Any) -> KeyMember | None:
    if not data:
        return None
    data = as_mapping(data)
    return KeyMember(
        member_id=str(data.get("member_id", "")),
        email=str(data.get("email", "")),
        first_name=str(data.get("first_name") or ""),
        last_name=str(data.get("last_name") or ""),
    )


def parse_project_key(data: Any) -> ProjectKey:
    """One key: `{member, api_key}` (list element, older SDKs) or `{item: {member: {.., api_key}}}`
    (the spec's get-key envelope)."""
    data = as_mapping(data)
    if "item" in data:
        member = as_mapping(as_mapping(data["item"])["member"])
        return ProjectKey(api_key=_parse_api_key(member["api_key"]), member=_parse_member(member))
    return ProjectKey(
        api_key=_parse_api_key(data["api_key"]), member=_parse_member(data.get("member"))
    )


def parse_project_keys(data: Any) -> list[ProjectKey]:
    return [parse_project_key(item) for item in as_mapping(data)["api_keys"]]


def parse_created_key(data: Any) -> CreatedKey:
    data = as_mapping(data)
    secret = data["key"]
    if not isinstance(secret, str) or not secret:
        raise ValueError("the created key's secret is missing")
    info = _parse_api_key(data)
    return CreatedKey(
        api_key_id=info.api_key_id,
        secret=secret,
        comment=info.comment,
        scopes=info.scopes,
        tags=info.tags,
        expiration_date=info.expiration_date,
        created=info.created,
    )


# --- Requests -------------------------------------------------------------------------------


def _parse_details(data: Any) -> RequestDetails | None:
    if not data:
        return None
    data = as_mapping(data)
    usd = data.get("usd")
    return RequestDetails(
        usd=None if usd is None else to_decimal(usd),
        duration=to_decimal(data.get("duration")),
        total_audio=to_decimal(data.get("total_audio")),
        channels=to_int(data.get("channels")),
        streams=to_int(data.get("streams")),
        models=as_strings(data.get("models")),
        method=str(data.get("method") or ""),
        tier=str(data.get("tier") or ""),
        tags=as_strings(data.get("tags")),
        features=as_strings(data.get("features")),
    )


def parse_request(data: Any) -> RequestRecord:
    """One request, flat or under `request` (the spec's envelope)."""
    data = as_mapping(data)
    if "request" in data and isinstance(data["request"], Mapping):
        data = data["request"]
    response = as_mapping(data.get("response") or {})
    code = response.get("code", data.get("code"))
    return RequestRecord(
        request_id=str(data["request_id"]),
        created=parse_datetime(data.get("created")),
        path=str(data.get("path") or ""),
        api_key_id=str(data.get("api_key_id") or data.get("accessor") or ""),
        project_uuid=str(data.get("project_uuid") or ""),
        deployment=str(data.get("deployment") or ""),
        code=None if code is None else to_int(code),
        completed=parse_datetime(response.get("completed")),
        message=str(response.get("message") or ""),
        details=_parse_details(response.get("details")),
        callback=data.get("callback"),
    )


def parse_requests_page(data: Any) -> RequestsPage:
    data = as_mapping(data)
    return RequestsPage(
        page=to_int(data.get("page", 0)),
        limit=to_int(data.get("limit", 0)),
        requests=tuple(parse_request(item) for item in data["requests"]),
    )


# --- Fields and balances --------------------------------------------------------------------


def parse_usage_fields(data: Any) -> UsageFields:
    data = as_mapping(data)
    models = tuple(
        ModelInfo(
            name=str(item.get("name", "")),
            language=str(item.get("language") or ""),
            version=str(item.get("version") or ""),
            model_id=str(item.get("model_id") or ""),
        )
        for item in (as_mapping(m) for m in data.get("models") or ())
    )
    return UsageFields(
        tags=as_strings(data.get("tags")),
        models=models,
        processing_methods=as_strings(data.get("processing_methods")),
        features=as_strings(data.get("features")),
        languages=as_strings(data.get("languages")),
    )


def parse_balance(data: Any) -> Balance:
    data = as_mapping(data)
    return Balance(
        balance_id=str(data["balance_id"]),
        amount=to_decimal(data["amount"]),
        units=str(data.get("units") or "").lower(),
        # One SDK names it `purchase`; the spec and the others `purchase_order_id`.
        purchase_order_id=str(data.get("purchase_order_id") or data.get("purchase") or ""),
    )


def parse_balances(data: Any) -> list[Balance]:
    return [parse_balance(item) for item in as_mapping(data)["balances"]]
