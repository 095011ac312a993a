"""Query-string parsing for the sandbox's API, refusing what Deepgram refuses with a 400."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from . import catalog
from .replies import bad_query

Query = dict[str, list[str]]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
GROUPINGS = ("accessor", "endpoint", "feature_set", "models", "method", "tags", "deployment")
_GROUPING_ALIASES = {"model": "models", "tag": "tags"}


@dataclass(frozen=True)
class UsageFilter:
    """Which units a usage question covers. `methods` empty means nothing matches."""

    start: date
    end: date
    accessors: frozenset[str] | None
    tags: frozenset[str] | None
    methods: tuple[str, ...]
    model_id: str | None


def first(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def parse_day(text: str, name: str) -> date:
    """A `YYYY-MM-DD` day; anything else is a 400."""
    try:
        if _DAY.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise bad_query(f"Invalid value for {name}: expected YYYY-MM-DD, got {text!r}.")


def day_range(query: Query, today: date) -> tuple[date, date]:
    """`start`/`end` as days; end defaults to today, start to a week before end."""
    end_text, start_text = first(query, "end"), first(query, "start")
    end = parse_day(end_text, "end") if end_text is not None else today
    start = parse_day(start_text, "start") if start_text is not None else end - timedelta(days=7)
    if end < start:
        raise bad_query("Invalid range: end is before start.")
    return start, end


def check_features(query: Query) -> None:
    """Feature filters take exactly `true` or `false` (so `True` from a Python bool is a 400)."""
    for name in catalog.FEATURE_PARAMS & query.keys():
        for value in query[name]:
            if value not in ("true", "false"):
                raise bad_query(f"Invalid value for {name}: expected true or false, got {value!r}.")


def _choice(query: Query, name: str, allowed: tuple[str, ...]) -> list[str]:
    values = query.get(name, [])
    for value in values:
        if value not in allowed:
            raise bad_query(f"Invalid value for {name}: {value!r}.")
    return values


def selected_methods(query: Query) -> tuple[str, ...]:
    """The listen methods a request covers after `method`, `endpoint` and `deployment`.

    Known values outside what the sandbox serves (`speak`, `beta`, ...) select nothing;
    unknown values are a 400.
    """
    methods = _choice(query, "method", catalog.METHODS + catalog.OTHER_METHODS)
    endpoints = _choice(query, "endpoint", catalog.ENDPOINTS)
    deployments = _choice(query, "deployment", catalog.DEPLOYMENTS)
    if any(e != "listen" for e in endpoints) or any(d != "hosted" for d in deployments):
        return ()
    if not methods:
        return catalog.METHODS
    return tuple(m for m in catalog.METHODS if m in methods)


def usage_filter(query: Query, today: date) -> UsageFilter:
    check_features(query)
    start, end = day_range(query, today)
    return UsageFilter(
        start=start,
        end=end,
        accessors=frozenset(query["accessor"]) if "accessor" in query else None,
        tags=frozenset(query["tag"]) if "tag" in query else None,
        methods=selected_methods(query),
        model_id=first(query, "model"),
    )


def groupings(query: Query) -> tuple[str, ...]:
    """Breakdown dimensions in the order asked, with `model`/`tag` read as `models`/`tags`."""
    chosen = []
    for value in query.get("grouping", []):
        name = _GROUPING_ALIASES.get(value, value)
        if name not in GROUPINGS:
            raise bad_query(f"Invalid value for grouping: {value!r}.")
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def parse_moment(text: str, name: str, end: bool) -> datetime:
    """A day or a date-time (UTC unless it says otherwise); a bare `end` day means all of it."""
    if _DAY.match(text):
        day = parse_day(text, name)
        midnight = datetime.combine(day, time(), tzinfo=UTC)
        return midnight + timedelta(days=1, milliseconds=-1) if end else midnight
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_query(f"Invalid value for {name}: {text!r}.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def moment_range(query: Query, now: datetime) -> tuple[datetime, datetime]:
    """The `/requests` window, both ends inclusive; default: the last seven days."""
    end_text, start_text = first(query, "end"), first(query, "start")
    end = parse_moment(end_text, "end", end=True) if end_text is not None else now
    if start_text is not None:
        start = parse_moment(start_text, "start", end=False)
    else:
        start = datetime.combine(end.date() - timedelta(days=7), time(), tzinfo=UTC)
    if end < start:
        raise bad_query("Invalid range: end is before start.")
    return start, end


def bounded_int(query: Query, name: str, default: int, low: int, high: int) -> int:
    text = first(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise bad_query(f"Invalid value for {name}: expected an integer in [{low}, {high}].")
    return value
