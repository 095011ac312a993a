"""Deterministic synthetic usage: one `Unit` per (key, UTC day, method), and its requests.

Everything derives from a SHA-256 of (key id, day, method), so two runs (and two machines) agree.
A unit's request durations add up exactly to its hours, and a request id encodes where the
request lives, so any listed request can be found again without keeping it in memory.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from . import catalog
from .replies import iso
from .state import Key, Override

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
FOUR_PLACES = Decimal("0.0001")
# A prime larger than any unit's request count, so `i * STRIDE % n` permutes 0..n-1.
STRIDE = 1_000_003
MAX_REQUESTS = 1_000_000


def digest(*parts: str) -> bytes:
    return hashlib.sha256("|".join(parts).encode()).digest()


@dataclass(frozen=True)
class Unit:
    """One key's usage on one UTC day with one processing method."""

    key: Key
    day: date
    method: str
    requests: int
    hours: Decimal
    total_hours: Decimal
    model: catalog.Model
    features: tuple[str, ...]
    tokens_in: int
    tokens_out: int
    tts_characters: int
    tts_requests: int
    salt: int

    def duration_ms(self, index: int) -> int:
        """Request `index`'s audio length; the n lengths add up to `hours` to the millisecond.

        Each length is the mean plus a spread term `spread * (2p - n + 1)`; the positions p run
        over 0..n-1 exactly once, so the spread terms sum to zero.
        """
        n = self.requests
        base, remainder = divmod(int(self.hours * HOUR_MS), n)
        position = (index * STRIDE + self.salt) % n
        spread = base // (2 * n)
        return base + (position < remainder) + spread * (2 * position - n + 1)

    def created_ms(self, index: int) -> int:
        """Milliseconds since the day's midnight, rising with `index`, inside the key's life."""
        start, end = self._window()
        spacing = max(1, (end - start) // self.requests)
        return start + index * spacing + self.salt % spacing

    def _window(self) -> tuple[int, int]:
        midnight = datetime.combine(self.day, time(), tzinfo=UTC)
        ends = [m for m in (self.key.deleted, self.key.expiration) if m]
        start = max(midnight, self.key.created)
        end = min([midnight + timedelta(days=1), *ends])
        if end <= start:  # an override outside the key's life: spread over the whole day
            return 0, DAY_MS
        return _ms(start - midnight), _ms(end - midnight)


def _ms(delta: timedelta) -> int:
    return delta.days * DAY_MS + delta.seconds * 1000 + delta.microseconds // 1000


def unit_of(key: Key, day: date, method: str, override: Override | None, today: date):
    """The key's usage that day by that method, or None when there is none.

    Rules: an override always wins; otherwise nothing before the creation day, after the
    deletion or expiry day, or after today, and about a quarter of the other days are idle.
    """
    seed = _seed(key.api_key_id, day, method)
    if override is not None:
        counts = (override.requests, override.hours, override.total_hours)
    elif _alive(key, day, today) and seed[0] >= 64:
        counts = _synthetic_counts(seed)
    else:
        return None
    if counts[0] <= 0:
        return None
    return _unit(key, day, method, counts, seed)


def _seed(key_id: str, day: date, method: str) -> bytes:
    return digest(key_id, day.isoformat(), method)


def _alive(key: Key, day: date, today: date) -> bool:
    last = min(filter(None, (key.last_day(), today)))
    return key.created.date() <= day <= last


def _synthetic_counts(seed: bytes) -> tuple[int, Decimal, Decimal]:
    requests = 1 + int.from_bytes(seed[1:3]) % 150
    # Mean length in steps of 0.36 s (15.12 s to 599.76 s), so hours come out at 4 places.
    mean_steps = 42 + int.from_bytes(seed[3:5]) % 1625
    hours = Decimal(requests * mean_steps).scaleb(-4)
    multichannel = 1 + Decimal(seed[5] % 101).scaleb(-3)
    total_hours = (hours * multichannel).quantize(FOUR_PLACES, ROUND_HALF_UP)
    return requests, hours, total_hours


def _unit(key, day, method, counts, seed: bytes) -> Unit:
    requests, hours, total_hours = counts
    return Unit(
        key=key,
        day=day,
        method=method,
        requests=requests,
        hours=hours,
        total_hours=total_hours,
        model=catalog.MODELS[seed[6] % len(catalog.MODELS)],
        features=catalog.FEATURE_SETS[seed[7] % len(catalog.FEATURE_SETS)],
        tokens_in=requests * (seed[8] % 40),
        tokens_out=requests * (seed[9] % 15),
        tts_characters=requests * (seed[10] % 250),
        tts_requests=requests // 5 if seed[10] % 250 else 0,
        salt=int.from_bytes(seed[12:16]),
    )


# --- request ids ----------------------------------------------------------------------------
# 30 free hex digits of a version-4 UUID: key tag (8), day ordinal (6), method (1),
# request index (5) and a check (10) that rejects made-up ids.


def request_id(unit: Unit, index: int) -> str:
    method = catalog.METHODS.index(unit.method)
    payload = (
        f"{_key_tag(unit.key.api_key_id)}{unit.day.toordinal():06x}{method:x}{index:05x}"
        f"{_check(unit.key.api_key_id, unit.day, unit.method, index)}"
    )
    p = payload
    return f"{p[0:8]}-{p[8:12]}-4{p[12:15]}-8{p[15:18]}-{p[18:30]}"


def decode_request_id(text: str, keys: list[Key]) -> tuple[Key, date, str, int] | None:
    """Where a request id points (key, day, method, index), or None for an id never issued."""
    if not catalog.is_uuid(text):
        return None
    digits = text.lower().replace("-", "")
    payload = digits[:12] + digits[13:16] + digits[17:]
    try:
        day = date.fromordinal(int(payload[8:14], 16))
        method = catalog.METHODS[int(payload[14], 16)]
    except (ValueError, IndexError):
        return None
    index = int(payload[15:20], 16)
    for key in keys:
        if _key_tag(key.api_key_id) != payload[:8]:
            continue
        if _check(key.api_key_id, day, method, index) == payload[20:]:
            return key, day, method, index
    return None


def _key_tag(key_id: str) -> str:
    return digest("tag", key_id).hex()[:8]


def _check(key_id: str, day: date, method: str, index: int) -> str:
    return digest("check", key_id, day.isoformat(), method, str(index)).hex()[:10]


# --- request objects ------------------------------------------------------------------------


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
            "details": _details(unit, duration_ms),
        },
    }


def _details(unit: Unit, duration_ms: int) -> dict:
    seconds = Decimal(duration_ms).scaleb(-3)
    ratio = unit.total_hours / unit.hours if unit.hours else Decimal(1)
    config = {"model": unit.model.name, "language": unit.model.language}
    config.update(dict.fromkeys(unit.features, True))
    return {
        "usd": (seconds * catalog.PRICE_PER_MINUTE[unit.method] / 60).quantize(Decimal("1e-6")),
        "duration": seconds,
        "total_audio": (seconds * ratio).quantize(Decimal("0.001")),
        "channels": 1,
        "streams": 1,
        "models": [unit.model.model_id],
        "method": unit.method,
        "tier": unit.model.tier,
        "tags": list(unit.key.tags),
        "features": list(unit.features),
        "config": config,
    }
