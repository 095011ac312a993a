"""The /requests answers: pages newest first, one request by id, and the request objects.

A request belongs to one speech to text unit (key, day, method) and, inside it, to one of the
unit's lines (its model): the lines take the unit's requests in turn.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from . import catalog
from .replies import iso, number
from .state import Corrections, Key
from .synthetic import DAY_MS, Unit, decode_request_id, request_id, unit_of


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
    request_id: str, keys: list[Key], corrections: Corrections, today: date
) -> dict | None:
    """The request a listed id stands for, or None when the id was never issued."""
    found = decode_request_id(request_id, keys)
    if found is None:
        return None
    key, day, method, index = found
    unit = unit_of(key, day, method, corrections, today)
    if unit is None or index >= unit.requests:
        return None
    return request_object(unit, index)


def request_object(unit: Unit, index: int) -> dict:
    """One request as Deepgram's /requests lists it."""
    created = datetime.combine(unit.day, time(), tzinfo=UTC) + timedelta(
        milliseconds=unit.created_ms(index)
    )
    duration_ms = unit.duration_ms(index)
    processing_ms = duration_ms if unit.method == "streaming" else 300 + duration_ms // 20
    return {
        "request_id": request_id(unit, index),
        "project_uuid": unit.key.project_id,
        "created": iso(created),
        "path": "/v1/listen",
        "api_key_id": unit.key.api_key_id,
        "accessor": unit.key.api_key_id,
        "deployment": "hosted",
        "code": 200,
        "response": {
            "code": 200,
            "completed": iso(created + timedelta(milliseconds=processing_ms)),
            "details": _details(unit, index, duration_ms),
        },
    }


def _details(unit: Unit, index: int, duration_ms: int) -> dict:
    line = unit.line_at(index)
    seconds = Decimal(duration_ms).scaleb(-3)
    ratio = unit.total_hours / unit.hours if unit.hours else Decimal(1)
    config = {"model": line.model.name, "language": line.model.language}
    config.update(dict.fromkeys(unit.features, True))
    per_hour = catalog.PRICES[line.line_item]["hours"]
    return {
        "usd": number((seconds * per_hour / 3600).quantize(Decimal("1e-6"))),
        "duration": number(seconds),
        "total_audio": number((seconds * ratio).quantize(Decimal("0.001"))),
        "channels": 1,
        "streams": 1,
        "models": [line.model.model_id],
        "method": unit.method,
        "tier": line.model.tier,
        "tags": list(unit.key.tags),
        "features": list(unit.features),
        "config": config,
    }
