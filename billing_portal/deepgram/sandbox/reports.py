"""Usage answers built from synthetic units: summary, breakdown, fields and request pages."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from . import catalog
from .params import UsageFilter
from .state import Key, Override
from .synthetic import DAY_MS, Unit, decode_request_id, request_object, unit_of

RESOLUTION = {"units": "day", "amount": 1}


def units(keys: list[Key], overrides, where: UsageFilter, today: date) -> Iterator[Unit]:
    """The units of the given keys that `where` selects, by day, then key, then method.

    Keys are all of a project's keys, deleted ones included (they count for the days they lived).
    """
    chosen = [k for k in keys if _key_matches(k, where)]
    days = {k.api_key_id: _candidate_days(k, overrides, where, today) for k in chosen}
    for day in _days(where.start, where.end):
        for key in chosen:
            if day not in days[key.api_key_id]:
                continue
            for method in where.methods:
                override = overrides.get((key.api_key_id, day, method))
                unit = unit_of(key, day, method, override, today)
                if unit and where.model_id in (None, unit.model.model_id):
                    yield unit


def _key_matches(key: Key, where: UsageFilter) -> bool:
    if where.accessors is not None and key.api_key_id not in where.accessors:
        return False
    return where.tags is None or bool(where.tags & set(key.tags))


def _candidate_days(key: Key, overrides: dict, where: UsageFilter, today: date) -> set[date]:
    # Only the days a key lived (plus its overrides) can have usage; skipping the rest keeps
    # a years-long range cheap.
    last = min(filter(None, (key.last_day(), today, where.end)))
    lived = set(_days(max(key.created.date(), where.start), last))
    corrected = {day for (key_id, day, _), _o in overrides.items() if key_id == key.api_key_id}
    return lived | {d for d in corrected if where.start <= d <= where.end}


def _days(start: date, end: date) -> Iterator[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


@dataclass
class Totals:
    hours: Decimal = Decimal(0)
    total_hours: Decimal = Decimal(0)
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    tts_characters: int = 0
    tts_requests: int = 0

    def add(self, unit: Unit) -> None:
        self.hours += unit.hours
        self.total_hours += unit.total_hours
        self.requests += unit.requests
        self.tokens_in += unit.tokens_in
        self.tokens_out += unit.tokens_out
        self.tts_characters += unit.tts_characters
        self.tts_requests += unit.tts_requests


def summary(all_units: Iterator[Unit], where: UsageFilter, extras: bool) -> dict:
    """`/usage`: one row per UTC day with requests, ascending; the method-less row is the
    exact sum of the per-method rows."""
    by_day: dict[date, Totals] = defaultdict(Totals)
    for unit in all_units:
        by_day[unit.day].add(unit)
    return {
        "start": where.start.isoformat(),
        "end": where.end.isoformat(),
        "resolution": RESOLUTION,
        "results": [_summary_row(day, by_day[day], extras) for day in sorted(by_day)],
    }


def _summary_row(day: date, totals: Totals, extras: bool) -> dict:
    row = {
        "start": day.isoformat(),
        "end": day.isoformat(),
        "hours": totals.hours,
        "total_hours": totals.total_hours,
        "requests": totals.requests,
    }
    if extras:
        row["tokens"] = {"in": totals.tokens_in, "out": totals.tokens_out}
        row["tts"] = {"characters": totals.tts_characters, "requests": totals.tts_requests}
    return row


_DIMENSIONS = {
    "accessor": lambda unit: unit.key.api_key_id,
    "endpoint": lambda unit: "listen",
    "feature_set": lambda unit: ",".join(unit.features),
    "models": lambda unit: (unit.model.name,),
    "method": lambda unit: unit.method,
    "tags": lambda unit: unit.key.tags,
    "deployment": lambda unit: "hosted",
}


def breakdown(all_units: Iterator[Unit], where: UsageFilter, grouping: tuple[str, ...]) -> dict:
    """`/usage/breakdown`: one row per day and combination of the grouped dimensions' values;
    dimensions not grouped by are null."""
    groups: dict[tuple, Totals] = defaultdict(Totals)
    for unit in all_units:
        groups[(unit.day, *(_DIMENSIONS[name](unit) for name in grouping))].add(unit)
    return {
        "start": where.start.isoformat(),
        "end": where.end.isoformat(),
        "resolution": RESOLUTION,
        "results": [_breakdown_row(g, groups[g], grouping) for g in sorted(groups, key=_order)],
    }


def _order(group: tuple) -> tuple:
    day, *values = group
    return day, [repr(value) for value in values]


def _breakdown_row(group: tuple, totals: Totals, grouping: tuple[str, ...]) -> dict:
    day, *values = group
    labels = dict.fromkeys(_DIMENSIONS)
    for name, value in zip(grouping, values, strict=True):
        labels[name] = list(value) if isinstance(value, tuple) else value
    return {
        "hours": totals.hours,
        "total_hours": totals.total_hours,
        "agent_hours": Decimal(0),
        "tokens_in": totals.tokens_in,
        "tokens_out": totals.tokens_out,
        "tts_characters": totals.tts_characters,
        "requests": totals.requests,
        "grouping": {"start": day.isoformat(), "end": day.isoformat(), **labels},
    }


def usage_fields(all_units: Iterator[Unit]) -> dict:
    """`/usage/fields`: the tags, models, methods, features and languages seen in the range."""
    seen = list(all_units)
    models = {unit.model for unit in seen}
    return {
        "tags": sorted({tag for unit in seen for tag in unit.key.tags}),
        "models": [m.as_field() for m in catalog.MODELS if m in models],
        "processing_methods": [m for m in catalog.METHODS if m in {u.method for u in seen}],
        "features": sorted({feature for unit in seen for feature in unit.features}),
        "languages": sorted({m.language for m in models}),
    }


# --- /requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    start: datetime
    end: datetime
    page: int
    limit: int


def request_page(all_units: Iterator[Unit], page: Page) -> list[dict]:
    """Requests newest first, `limit` per page from page 0.

    Days wholly before the page are skipped by their counts, so only the days the page
    touches are ever expanded into requests.
    """
    by_day: dict[date, list[Unit]] = defaultdict(list)
    for unit in all_units:
        by_day[unit.day].append(unit)
    skip, found = page.page * page.limit, []
    for day in sorted(by_day, reverse=True):
        if skip >= (count := _count_within(by_day[day], page)):
            skip -= count
            continue
        rows = _expand(by_day[day], page)
        found.extend(rows[skip : skip + page.limit - len(found)])
        skip = 0
        if len(found) == page.limit:
            break
    return [request_object(unit, index) for unit, index in found]


def _count_within(day_units: list[Unit], page: Page) -> int:
    midnight = datetime.combine(day_units[0].day, time(), tzinfo=UTC)
    if page.start <= midnight and midnight + timedelta(milliseconds=DAY_MS - 1) <= page.end:
        return sum(unit.requests for unit in day_units)
    return len(_expand(day_units, page))


def _expand(day_units: list[Unit], page: Page) -> list[tuple[Unit, int]]:
    """A day's requests inside the page's time window, newest first."""
    midnight = datetime.combine(day_units[0].day, time(), tzinfo=UTC)
    low = (page.start - midnight) // timedelta(milliseconds=1)
    high = (page.end - midnight) // timedelta(milliseconds=1)
    stamped = [
        (unit.created_ms(index), unit.key.api_key_id, unit.method, index, unit)
        for unit in day_units
        for index in range(unit.requests)
    ]
    stamped = [row for row in stamped if low <= row[0] <= high]
    stamped.sort(key=lambda row: row[:4], reverse=True)
    return [(row[4], row[3]) for row in stamped]


def find_request(
    request_id: str, keys: list[Key], overrides: dict[tuple, Override], today: date
) -> dict | None:
    """The request a listed id stands for, or None when the id was never issued."""
    found = decode_request_id(request_id, keys)
    if found is None:
        return None
    key, day, method, index = found
    unit = unit_of(key, day, method, overrides.get((key.api_key_id, day, method)), today)
    if unit is None or index >= unit.requests:
        return None
    return request_object(unit, index)
