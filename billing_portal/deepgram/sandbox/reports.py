"""Usage answers built from synthetic lines: the summary and the usage fields, and the walk
over a project's keys and days that every usage, billing and requests answer starts from."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from . import catalog
from .params import UsageFilter
from .replies import number
from .state import Corrections, Key
from .synthetic import Line, day_lines, unit_of

RESOLUTION = {"units": "day", "amount": 1}


def units(keys: list[Key], corrections: Corrections, where: UsageFilter, today: date):
    """The speech to text units of the keys and methods `where` selects, by day, then key,
    then method (models are not filtered: a unit is all of its models)."""
    for day, key in _key_days(keys, corrections, where, today):
        for method in where.methods:
            unit = unit_of(key, day, method, corrections, today)
            if unit:
                yield unit


def lines(keys: list[Key], corrections: Corrections, where: UsageFilter, today: date, source=None):
    """The lines `where` selects, by day, then key, then product; `source` (a memo's `lines`)
    stands in for `synthetic.day_lines`."""
    source = source or day_lines
    for day, key in _key_days(keys, corrections, where, today):
        for line in source(key, day, corrections, today):
            if where.selects(line):
                yield line


def _key_days(keys, corrections, where, today) -> Iterator[tuple[date, Key]]:
    """(day, key) pairs that can hold usage; keys are all of a project's keys, deleted ones
    included (they count for the days they lived)."""
    if not where.products:
        return
    chosen = [k for k in keys if _key_matches(k, where)]
    days = {k.api_key_id: _candidate_days(k, corrections, where, today) for k in chosen}
    for day in _days(where.start, where.end):
        for key in chosen:
            if day in days[key.api_key_id]:
                yield day, key


def _key_matches(key: Key, where: UsageFilter) -> bool:
    if where.accessors is not None and key.api_key_id not in where.accessors:
        return False
    return where.tags is None or bool(where.tags & set(key.tags))


def _candidate_days(key: Key, corrections: Corrections, where, today: date) -> set[date]:
    # Only the days a key lived (plus its corrections) can have usage; skipping the rest keeps
    # a years-long range cheap.
    last = min(filter(None, (key.last_day(), today, where.end)))
    lived = set(_days(max(key.created.date(), where.start), last))
    corrected = corrections.days_of(key.api_key_id)
    return lived | {d for d in corrected if where.start <= d <= where.end}


def _days(start: date, end: date) -> Iterator[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


@dataclass
class Totals:
    """Sums of lines, in every unit the usage breakdown answers."""

    hours: Decimal = Decimal(0)
    total_hours: Decimal = Decimal(0)
    agent_hours: Decimal = Decimal(0)
    tokens_in: int = 0
    tokens_out: int = 0
    tts_characters: int = 0
    requests: int = 0

    def add(self, line: Line) -> None:
        # Spelt out: this runs for every line of every answer.
        self.hours += line.hours
        self.total_hours += line.total_hours
        self.agent_hours += line.agent_hours
        self.tokens_in += line.tokens_in
        self.tokens_out += line.tokens_out
        self.tts_characters += line.tts_characters
        self.requests += line.requests

    def as_row(self) -> dict:
        return {
            "hours": number(self.hours),
            "total_hours": number(self.total_hours),
            "agent_hours": number(self.agent_hours),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "tts_characters": self.tts_characters,
            "requests": self.requests,
        }


def summary(all_lines: Iterator[Line], where: UsageFilter, extras: bool) -> dict:
    """`/usage`: one row per UTC day with speech to text, ascending. Hours, total hours and
    requests are the speech to text lines' sums (so the method-less row is the exact sum of
    the per-method rows); `tokens` and `tts` those of the day's intelligence and text to
    speech lines."""
    listen: dict[date, Totals] = defaultdict(Totals)
    other: dict[date, Totals] = defaultdict(Totals)
    tts_requests: dict[date, int] = defaultdict(int)
    for line in all_lines:
        (listen if line.endpoint == "listen" else other)[line.day].add(line)
        if line.endpoint == "speak":
            tts_requests[line.day] += line.requests
    rows = []
    for day in sorted(listen):
        row = {"start": day.isoformat(), "end": day.isoformat()}
        row.update(hours=number(listen[day].hours), total_hours=number(listen[day].total_hours))
        row["requests"] = listen[day].requests
        if extras:
            row["tokens"] = {"in": other[day].tokens_in, "out": other[day].tokens_out}
            row["tts"] = {"characters": other[day].tts_characters, "requests": tts_requests[day]}
        rows.append(row)
    return {**answer_head(where), "results": rows}


def answer_head(where: UsageFilter) -> dict:
    return {
        "start": where.start.isoformat(),
        "end": where.end.isoformat(),
        "resolution": RESOLUTION,
    }


def usage_fields(all_lines: Iterator[Line]) -> dict:
    """`/usage/fields`: the tags, models, methods, features and languages seen in the range."""
    seen = list(all_lines)
    models = {line.model for line in seen}
    return {
        "tags": sorted({tag for line in seen for tag in line.key.tags}),
        "models": [m.as_field() for m in catalog.MODELS if m in models],
        "processing_methods": [m for m in catalog.METHODS if m in {x.method for x in seen}],
        "features": sorted({feature for line in seen for feature in line.features}),
        "languages": sorted({m.language for m in models}),
    }
