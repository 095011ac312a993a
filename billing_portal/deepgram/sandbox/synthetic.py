"""Deterministic synthetic usage: `Line`s, one per (key, UTC day, endpoint, method, model).

Speech to text comes as one `Unit` per (key, day, method), whose counts are split across the
listen models into lines that add up to the unit exactly (integer requests, 6-decimal hours).
Text to speech, agent and intelligence lines come on the days a key used speech to text.
Which models and products a key uses, and in what proportions, is the key's own.

Everything derives from SHA-256 digests of (key id, day, ...), so two runs (and two machines)
agree. A unit's request durations add up exactly to its hours, and a request id encodes where
the request lives, so any listed request can be found again without keeping it in memory.
"""

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from . import catalog
from .state import Corrections, Key, LineOverride

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
FOUR_PLACES = Decimal("0.0001")
SIX_PLACES = Decimal("0.000001")
# A prime larger than any unit's request count, so `i * STRIDE % n` permutes 0..n-1.
STRIDE = 1_000_003
MAX_REQUESTS = 1_000_000
ZERO = Decimal(0)
# Text to speech, agent and intelligence: the products a key may use besides speech to text.
EXTRA_PRODUCTS = [p for p in catalog.products() if p[0] != "listen"]


def digest(*parts: str) -> bytes:
    return hashlib.sha256("|".join(parts).encode()).digest()


# Lines and units are made by the hundred thousand for one answer, so they have slots and are
# not frozen (a frozen dataclass sets each field through object.__setattr__); never change one
# (but for the cost a line keeps once it is asked).


@dataclass(slots=True)
class Line:
    """One key's usage of one (endpoint, method, model) on one UTC day, in every unit."""

    key: Key
    day: date
    endpoint: str
    method: str
    model: catalog.Model
    requests: int
    hours: Decimal = ZERO
    total_hours: Decimal = ZERO
    agent_hours: Decimal = ZERO
    tts_characters: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    features: tuple[str, ...] = ()
    dollars: Decimal | None = field(default=None, repr=False, compare=False)  # cost(), once

    @property
    def line_item(self) -> str:
        return catalog.line_item(self.endpoint, self.method, self.model.name)

    def cost(self) -> Decimal:
        """Deepgram's cost of this line: the price list times its quantities, rounded once."""
        if self.dollars is None:
            prices = catalog.PRICES[self.line_item]
            dollars = sum((price * getattr(self, unit) for unit, price in prices.items()), ZERO)
            self.dollars = dollars.quantize(catalog.COST_PLACES, ROUND_HALF_UP)
        return self.dollars


@dataclass(slots=True)
class Unit:
    """One key's speech to text on one UTC day with one processing method: its lines' sums."""

    key: Key
    day: date
    method: str
    requests: int
    hours: Decimal
    total_hours: Decimal
    features: tuple[str, ...]
    salt: int
    lines: tuple[Line, ...]

    def line_at(self, index: int) -> Line:
        """The line (model) request `index` belongs to: the lines take the requests in turn."""
        for line in self.lines:
            if index < line.requests:
                return line
            index -= line.requests
        raise IndexError("request index past the unit's requests")

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


def day_lines(key: Key, day: date, corrections: Corrections, today: date) -> list[Line]:
    """Every line of a key's day: speech to text by method and model, then the other products
    (synthetic ones only on a day with speech to text; corrections always count)."""
    units = [unit_of(key, day, method, corrections, today) for method in catalog.METHODS]
    lines = [line for unit in units if unit for line in unit.lines]
    active = any(units) and _alive(key, day, today)
    return lines + _extra_lines(key, day, corrections, active)


def unit_of(key: Key, day: date, method: str, corrections: Corrections, today: date):
    """The key's speech to text that day by that method, or None when there is none.

    Rules: a correction always wins (of the method, then of a model's line); otherwise nothing
    before the creation day, after the deletion or expiry day, or after today, and about a
    quarter of the other days are idle.
    """
    seed = _seed(key.api_key_id, day, method)
    override = corrections.methods.get((key.api_key_id, day, method))
    if override is not None:
        counts = (override.requests, override.hours, override.total_hours)
    elif _alive(key, day, today) and seed[0] >= 64:
        counts = _synthetic_counts(seed)
    else:
        counts = None
    features = catalog.FEATURE_SETS[seed[7] % len(catalog.FEATURE_SETS)]
    lines = _listen_lines(key, day, method, counts, seed, features)
    for model in catalog.models_of("listen", method):
        line_override = corrections.lines.get((key.api_key_id, day, "listen", method, model.name))
        if line_override is not None:
            lines[model.name] = _corrected_line(
                key, day, "listen", method, model, line_override, features
            )
    return _unit(key, day, method, seed, features, lines)


def _unit(key, day, method, seed: bytes, features, lines: dict) -> Unit | None:
    ordered = tuple(lines[m.name] for m in catalog.models_of("listen", method) if lines.get(m.name))
    if not ordered:
        return None
    return Unit(
        key=key,
        day=day,
        method=method,
        requests=sum(line.requests for line in ordered),
        hours=sum((line.hours for line in ordered), ZERO),
        total_hours=sum((line.total_hours for line in ordered), ZERO),
        features=features,
        salt=int.from_bytes(seed[12:16]),
        lines=ordered,
    )


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


# --- the split of a unit across models -----------------------------------------------------


@functools.lru_cache(maxsize=65_536)
def _listen_mix(key_id: str) -> dict[str, int]:
    """The key's weight for each listen model (0: never used): half the keys use a model, a key
    that uses none of a method's models uses the first. (Cached: never change it.)"""
    profile = digest("listen-mix", key_id)
    return {m.name: max(0, profile[i] % 8 - 3) for i, m in enumerate(catalog.LISTEN_MODELS)}


def _listen_lines(key, day, method, counts, seed: bytes, features) -> dict[str, Line]:
    """The unit's counts split across the key's models: requests by the key's weights varied
    by the day, hours and the extra of total hours by requests times a per-model mean length."""
    if counts is None or counts[0] <= 0:
        return {}
    requests, hours, total_hours = counts
    models = catalog.models_of("listen", method)
    mix = _listen_mix(key.api_key_id)
    weights = [mix[m.name] * (1 + seed[16 + i] % 4) for i, m in enumerate(models)]
    if not any(weights):
        weights[0] = 1
    shares = _split_whole(requests, weights)
    lengths = [share * (3 + seed[20 + i] % 5) for i, share in enumerate(shares)]
    hour_parts = _split_decimal(hours, lengths)
    extra_parts = _split_decimal(total_hours - hours, lengths)
    return {
        model.name: Line(
            key, day, "listen", method, model, share, part, part + extra, features=features
        )
        for model, share, part, extra in zip(models, shares, hour_parts, extra_parts, strict=True)
        if share
    }


def _split_whole(total: int, weights: list[int]) -> list[int]:
    """`total` in whole parts proportional to `weights`, the remainder by largest fraction."""
    weight = sum(weights)
    parts = [total * w // weight for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % weight), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _split_decimal(total: Decimal, weights: list[int]) -> list[Decimal]:
    """`total` in 6-decimal parts proportional to `weights` (rounded toward zero), the last
    weighted part taking what is left, so the parts add up to `total` exactly."""
    weighted = [i for i, w in enumerate(weights) if w]
    parts = [ZERO] * len(weights)
    if not weighted:
        return parts
    weight = sum(weights)
    for i in weighted[:-1]:
        parts[i] = (total * weights[i] / weight).quantize(SIX_PLACES, ROUND_DOWN)
    parts[weighted[-1]] = total - sum(parts, ZERO)
    return parts


# --- text to speech, agent, intelligence ---------------------------------------------------


@functools.lru_cache(maxsize=65_536)
def _extra_mix(key_id: str) -> tuple[int, ...]:
    """The key's weight for each product of EXTRA_PRODUCTS (0: never used): 3 in 8 use one."""
    profile = digest("extra-mix", key_id)
    return tuple(max(0, profile[i] % 8 - 4) for i in range(len(EXTRA_PRODUCTS)))


_EXTRA_BYTES = 5  # of one digest per key and day, for each product of EXTRA_PRODUCTS
assert len(EXTRA_PRODUCTS) * _EXTRA_BYTES <= 32


def _extra_lines(key: Key, day: date, corrections: Corrections, active: bool) -> list[Line]:
    weights = _extra_mix(key.api_key_id)
    seed = digest(key.api_key_id, day.isoformat(), "extras") if active and any(weights) else b""
    lines = []
    for number, (endpoint, method, model) in enumerate(EXTRA_PRODUCTS):
        override = corrections.lines.get((key.api_key_id, day, endpoint, method, model.name))
        if override is not None:
            line = _corrected_line(key, day, endpoint, method, model, override, ())
        elif seed and weights[number]:
            where = seed[number * _EXTRA_BYTES : (number + 1) * _EXTRA_BYTES]
            line = _extra_line(key, day, (endpoint, method, model), weights[number], where)
        else:
            line = None
        if line is not None:
            lines.append(line)
    return lines


def _extra_line(key: Key, day: date, product, weight: int, seed: bytes) -> Line | None:
    """A synthetic line of a product the key uses (`weight` > 0), idle on about 3 days of 8."""
    if seed[0] < 96:
        return None
    endpoint, method, model = product
    requests = 1 + int.from_bytes(seed[1:3]) % (20 * weight)
    size = int.from_bytes(seed[3:5])
    if endpoint == "speak":
        amounts = {"tts_characters": requests * (40 + size % 1200)}
    elif endpoint == "agent":
        # Sessions of 18 s to 12.6 min in steps of 0.36 s, so agent hours come at 4 places.
        amounts = {"agent_hours": Decimal(requests * (50 + size % 2050)).scaleb(-4)}
    else:
        amounts = {
            "tokens_in": requests * (100 + size % 4000),
            "tokens_out": requests * (10 + (size >> 4) % 500),
        }
    return Line(key, day, endpoint, method, model, requests, **amounts)


def _corrected_line(key, day, endpoint, method, model, override: LineOverride, features):
    # As for a method's correction, no requests is no usage (and no requests to list).
    if override.requests <= 0:
        return None
    return Line(
        key,
        day,
        endpoint,
        method,
        model,
        override.requests,
        hours=override.hours,
        total_hours=override.total_hours,
        agent_hours=override.agent_hours,
        tts_characters=override.tts_characters,
        tokens_in=override.tokens_in,
        tokens_out=override.tokens_out,
        features=features,
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
