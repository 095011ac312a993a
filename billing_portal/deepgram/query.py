"""How the client spells its questions to Deepgram: paths, days, moments, groupings and the
usage filters.

Rules: path parts are quoted; days are ISO dates, moments UTC without an offset, an expiry an
aware moment in UTC with `Z`; a grouping is one `grouping=` parameter a dimension, in the order
asked, each once, spelled as the caller gives it; unset filters are left out; feature filters
are lowercase booleans (requests would send Python's `True`).
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

DayLike = date | str


def path(*parts: str) -> str:
    return "/v1/projects" + "".join("/" + quote(str(part), safe="") for part in parts)


def day(value: DayLike | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def moment(value: DayLike | datetime | None) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return day(value)


def utc_iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("expiration_date must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def groupings(asked: str | Iterable[str] | None) -> tuple[str, ...]:
    """The dimensions asked, in order, each once."""
    if not asked:
        return ()
    values = [asked] if isinstance(asked, str) else asked
    return tuple(dict.fromkeys(values))


def drop_none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in params.items() if value is not None}


def usage_params(start, end, accessor, tag, method, model, features) -> dict[str, Any]:
    params = drop_none(
        {
            "start": day(start),
            "end": day(end),
            "accessor": accessor,
            "method": method,
            "model": model,
        }
    )
    if tag:
        params["tag"] = [tag] if isinstance(tag, str) else list(tag)
    for name, flag in (features or {}).items():
        if not isinstance(flag, bool):
            raise TypeError(f"feature filter {name!r} must be True or False")
        # Deepgram wants lowercase; requests would send Python's "True".
        params[name] = "true" if flag else "false"
    return params
