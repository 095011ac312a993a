"""Query-string parsing for the sandbox's API, refusing what Deepgram refuses with a 400."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from . import catalog
from .replies import bad_query

Query = dict[str, list[str]]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
GROUPINGS = ("accessor", "endpoint", "feature_set", "models", "method", "tags", "deployment")
BILLING_GROUPINGS = ("accessor", "deployment", "line_item", "tags")
# How the usage breakdown spells its model grouping (config `model_grouping`): the spec's
# `models`, the docs' `model`, or both.
MODEL_SPELLINGS = {"models": ("models",), "model": ("model",), "both": ("models", "model")}


@dataclass(frozen=True)
class UsageFilter:
    """Which lines a usage or billing question covers: `products` are the (endpoint, method)
    pairs selected (empty: nothing matches); `models` and `line_items` None mean any."""

    start: date
    end: date
    accessors: frozenset[str] | None
    tags: frozenset[str] | None
    products: frozenset[tuple[str, str]]
    models: frozenset[str] | None = None
    line_items: frozenset[str] | None = None

    @property
    def methods(self) -> tuple[str, ...]:
        """The speech to text methods selected, in catalog order."""
        return tuple(m for m in catalog.METHODS if ("listen", m) in self.products)

    def selects(self, line) -> bool:
        """Whether a line of a selected key and day is in (keys and days are chosen before)."""
        if (line.endpoint, line.method) not in self.products:
            return False
        if self.models is not None and line.model.name not in self.models:
            return False
        return self.line_items is None or line.line_item in self.line_items


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


def selected_products(query: Query, deployments=catalog.DEPLOYMENTS) -> frozenset:
    """The (endpoint, method) pairs a request covers after `method`, `endpoint` and
    `deployment`; repeated values add up.

    Known values outside what the sandbox serves (method `speak`, deployment `beta`, ...)
    select nothing; unknown values are a 400.
    """
    methods = _choice(query, "method", catalog.METHODS + catalog.OTHER_METHODS)
    endpoints = _choice(query, "endpoint", catalog.ENDPOINTS) or catalog.ENDPOINTS
    if any(d != "hosted" for d in _choice(query, "deployment", deployments)):
        return frozenset()
    return frozenset(
        (endpoint, method)
        for endpoint in endpoints
        for method in catalog.PRODUCT_METHODS[endpoint]
        if not methods or method in methods
    )


def _models(query: Query) -> frozenset[str] | None:
    """The `model` filter (a model uuid, or a name) as canonical model names."""
    text = first(query, "model")
    if text is None:
        return None
    model = catalog.model_named(text)
    return frozenset({model.name}) if model else frozenset()


def usage_filter(query: Query, today: date) -> UsageFilter:
    check_features(query)
    start, end = day_range(query, today)
    return UsageFilter(
        start=start,
        end=end,
        accessors=frozenset(query["accessor"]) if "accessor" in query else None,
        tags=frozenset(query["tag"]) if "tag" in query else None,
        products=selected_products(query),
        models=_models(query),
    )


def billing_filter(query: Query, today: date) -> UsageFilter:
    """The billing breakdown's filters: days, accessor, tag, deployment, line_item."""
    start, end = day_range(query, today)
    return UsageFilter(
        start=start,
        end=end,
        accessors=frozenset(query["accessor"]) if "accessor" in query else None,
        tags=frozenset(query["tag"]) if "tag" in query else None,
        # Every product: billing takes no endpoint or method filter, only a deployment.
        products=selected_products(
            {"deployment": query.get("deployment", [])}, catalog.BILLING_DEPLOYMENTS
        ),
        line_items=frozenset(query["line_item"]) if "line_item" in query else None,
    )


def groupings(query: Query, spelling: str = "models") -> tuple[str, ...]:
    """Usage breakdown dimensions in the order asked, `tag` read as `tags` and the model
    dimension accepted as `spelling` says (see MODEL_SPELLINGS); anything else is a 400."""
    accepted = {name: name for name in GROUPINGS if name != "models"}
    accepted["tag"] = "tags"
    accepted.update(dict.fromkeys(MODEL_SPELLINGS[spelling], "models"))
    return _dimensions(query, accepted)


def billing_groupings(query: Query) -> tuple[str, ...]:
    return _dimensions(query, {name: name for name in BILLING_GROUPINGS})


def _dimensions(query: Query, accepted: dict[str, str]) -> tuple[str, ...]:
    chosen = []
    for value in query.get("grouping", []):
        if value not in accepted:
            raise bad_query(f"Invalid value for grouping: {value!r}.")
        if accepted[value] not in chosen:
            chosen.append(accepted[value])
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
