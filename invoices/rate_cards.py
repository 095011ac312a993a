"""Rate cards: a month of usage by line item priced entry by entry. Pure: no database.

A card is an ordered list of entries. Each entry matches usage by endpoint, method and model
patterns (`*` and `?` wildcards, any case; empty is `*`) and prices it in its unit with its
own ladder (`invoices.ladders`). Rules (also in the README):

- Usage comes per key and (endpoint, method, model), in every unit Deepgram reports. Each
  measure of a row (its audio, its text-to-speech characters, its agent time, its tokens in,
  its tokens out) is priced by the first entry, in the card's order, whose patterns match the
  row and whose unit measures it: a characters entry never prices audio, so a catch-all in
  audio minutes leaves text to speech to the entries that price characters. A measure no entry
  prices is **unpriced**: listed, never free (a rate of 0 is free, and says so).
- An entry's ladder counts the customer's usage of that entry across all its keys for the
  month; each key's quantity is shown on its own line. With a per-unit price each key's line is
  priced; with tiers or packages the key lines show the quantities and the ladder's lines
  (customer-wide) carry the price.
- Included allowances (free audio hours, characters, agent hours, tokens) come off first, in
  the card's order: the first entry that prices that measure takes what it can, then the
  next. Then the ladders; then the monthly minimum and the platform fee, as in every mode.
- Each line is rounded once to the currency's minor unit.
"""

import fnmatch
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from .ladders import Ladder, ladder_charges, ladder_problems
from .pricing import Line, Plan, priced_line, with_minimum_and_fee

ZERO = Decimal(0)
# What a row measures, each priced once: the measures and the allowance each one draws on.
MEASURES = {
    "audio": "audio",
    "characters": "characters",
    "agent": "agent",
    "tokens_in": "tokens",
    "tokens_out": "tokens",
}
ALLOWANCE_UNITS = {"audio": "h", "characters": "characters", "agent": "h", "tokens": "tokens"}


class LineUsage(NamedTuple):
    """One key's month of one (endpoint, method, model), in every unit."""

    key_pk: int
    key_label: str
    endpoint: str
    method: str
    model: str
    hours: Decimal = ZERO
    total_hours: Decimal = ZERO
    agent_hours: Decimal = ZERO
    tts_characters: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    def measures(self) -> list[str]:
        """The measures this row has any usage of."""
        found = []
        if self.hours or self.total_hours:
            found.append("audio")
        if self.tts_characters:
            found.append("characters")
        if self.agent_hours:
            found.append("agent")
        if self.tokens_in:
            found.append("tokens_in")
        if self.tokens_out:
            found.append("tokens_out")
        return found


@dataclass(frozen=True)
class RateUnit:
    """A unit an entry prices in: which measures it takes, how a row's usage reads in it, and
    how many of it one unit of the allowance is (60 minutes an hour, 1/1,000 of a thousand
    characters a character)."""

    label: str  # in the lines: "min", "h", "k characters" (thousands), "M tokens" (millions)
    measures: tuple[str, ...]
    per_allowance_unit: Decimal

    def quantity(self, row: LineUsage, code: str) -> Decimal:
        base = {
            "audio_minutes": lambda r: r.hours * 60,
            "audio_hours": lambda r: r.hours,
            "total_hours": lambda r: r.total_hours,
            "characters_1k": lambda r: Decimal(r.tts_characters) / 1000,
            "agent_hours": lambda r: r.agent_hours,
            "agent_minutes": lambda r: r.agent_hours * 60,
            "tokens_1m": lambda r: Decimal(r.tokens_in + r.tokens_out) / 1_000_000,
            "tokens_in_1m": lambda r: Decimal(r.tokens_in) / 1_000_000,
            "tokens_out_1m": lambda r: Decimal(r.tokens_out) / 1_000_000,
        }
        return base[code](row)


UNITS = {
    "audio_minutes": RateUnit("min", ("audio",), Decimal(60)),
    "audio_hours": RateUnit("h", ("audio",), Decimal(1)),
    "total_hours": RateUnit("h (all channels)", ("audio",), Decimal(1)),
    "characters_1k": RateUnit("k characters", ("characters",), Decimal("0.001")),
    "agent_hours": RateUnit("agent h", ("agent",), Decimal(1)),
    "agent_minutes": RateUnit("agent min", ("agent",), Decimal(60)),
    "tokens_1m": RateUnit("M tokens", ("tokens_in", "tokens_out"), Decimal("0.000001")),
    "tokens_in_1m": RateUnit("M tokens in", ("tokens_in",), Decimal("0.000001")),
    "tokens_out_1m": RateUnit("M tokens out", ("tokens_out",), Decimal("0.000001")),
}


UNIT_NAMES = {
    "audio_minutes": "Audio minutes",
    "audio_hours": "Audio hours",
    "total_hours": "Total hours (every channel)",
    "characters_1k": "Text to speech, per 1,000 characters",
    "agent_hours": "Voice agent hours",
    "agent_minutes": "Voice agent minutes",
    "tokens_1m": "Tokens in and out, per 1,000,000",
    "tokens_in_1m": "Tokens in, per 1,000,000",
    "tokens_out_1m": "Tokens out, per 1,000,000",
}
assert set(UNIT_NAMES) == set(UNITS)


@dataclass(frozen=True)
class Entry:
    name: str  # what the lines call it: "Nova-3, streaming"
    unit: str  # a key of UNITS
    ladder: Ladder
    endpoint: str = "*"
    method: str = "*"
    model: str = "*"

    def matches(self, row: LineUsage) -> bool:
        return all(
            fnmatch.fnmatchcase(value.lower(), (pattern or "*").lower())
            for value, pattern in (
                (row.endpoint, self.endpoint),
                (row.method, self.method),
                (row.model, self.model),
            )
        )


@dataclass(frozen=True)
class Unpriced:
    """A measure of a row no entry prices: it blocks approval until a card prices it."""

    key_pk: int
    key_label: str
    endpoint: str
    method: str
    model: str
    measure: str

    def __str__(self) -> str:
        what = (
            f"{self.endpoint or '?'} / {self.method or '?'} / {self.model or 'model not reported'}"
        )
        return f"{what} ({self.measure}), key {self.key_label}"


@dataclass
class CardPricing:
    lines: list[Line]
    notes: list[str]
    unpriced: list[Unpriced] = field(default_factory=list)


def card_problems(entries: tuple[Entry, ...]) -> list[str]:
    """What makes a card unfit to price (empty: nothing)."""
    problems = []
    for n, entry in enumerate(entries, start=1):
        what = f"Entry {n} ({entry.name})"
        if entry.unit not in UNITS:
            problems.append(f"{what} has an unknown unit {entry.unit!r}.")
        problems += ladder_problems(entry.ladder, what)
    return problems


def price_rate_card(
    plan: Plan,
    entries: tuple[Entry, ...],
    usage: list[LineUsage],
    period_label: str,
    allowances: dict[str, Decimal] | None = None,
) -> CardPricing:
    """The priced lines of a month of usage under a card (valid: see `card_problems`)."""
    per_entry, unpriced = _match(entries, usage)
    left = dict(allowances or {})
    lines, notes = [], [f"Priced by a rate card of {len(entries)} entries in {period_label}."]
    for index, entry in enumerate(entries):
        by_key = per_entry.get(index)
        if by_key:
            lines += _entry_lines(plan, entry, by_key, left, notes)
    if unpriced:
        notes.append(f"{len(unpriced)} usage rows are priced by no entry: approval waits.")
    lines, notes = with_minimum_and_fee(plan, lines, notes, period_label)
    return CardPricing(lines, notes, unpriced)


def unpriced_of(entries: tuple[Entry, ...], usage: list[LineUsage]) -> list[Unpriced]:
    """The measures of `usage` no entry of the card prices."""
    return _match(entries, usage)[1]


def _match(entries, usage):
    """{entry index: {(key pk, key label): quantity in the entry's unit}}, and what is left."""
    per_entry: dict[int, dict[tuple[int, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    unpriced = []
    for row in sorted(usage, key=lambda r: (r.key_label, r.endpoint, r.method, r.model)):
        open_measures = row.measures()
        for index, entry in enumerate(entries):
            unit = UNITS[entry.unit]
            taken = [m for m in unit.measures if m in open_measures]
            if not taken or not entry.matches(row):
                continue
            per_entry[index][(row.key_pk, row.key_label)] += _quantity(row, entry.unit, taken)
            open_measures = [m for m in open_measures if m not in taken]
            if not open_measures:
                break
        unpriced += [
            Unpriced(row.key_pk, row.key_label, row.endpoint, row.method, row.model, m)
            for m in open_measures
        ]
    return per_entry, unpriced


def _quantity(row: LineUsage, code: str, taken: list[str]) -> Decimal:
    if code == "tokens_1m" and len(taken) == 1:  # the other side was priced already
        code = "tokens_in_1m" if taken == ["tokens_in"] else "tokens_out_1m"
    return UNITS[code].quantity(row, code)


def _entry_lines(plan: Plan, entry: Entry, by_key: dict, left: dict, notes: list) -> list[Line]:
    unit = UNITS[entry.unit]
    total = sum(by_key.values(), ZERO)
    allowance = MEASURES[unit.measures[0]]
    free = min(total, left.get(allowance, ZERO) * unit.per_allowance_unit)
    if free:
        left[allowance] -= free / unit.per_allowance_unit
        notes.append(f"{entry.name}: {free.normalize():,f} {unit.label} included in the plan.")
    ladder = entry.ladder
    per_unit = ladder.model == "unit"
    lines = [
        priced_line(
            plan,
            "usage",
            f"{entry.name}, key {label} ({unit.label})"
            + (_free(ladder) if per_unit else ", priced by the ladder below"),
            quantity,
            ladder.unit_price if per_unit else ZERO,
            key_pk=key_pk,
        )._replace(unit=unit.label, item=entry.name)
        for (key_pk, label), quantity in sorted(by_key.items(), key=lambda item: item[0][1])
    ]
    if free:
        lines.append(
            priced_line(
                plan,
                "free_hours",
                f"{entry.name}: included ({free.normalize():,f} {unit.label})",
                -free if per_unit else free,
                ladder.unit_price if per_unit else ZERO,
            )._replace(unit=unit.label)
        )
    if not per_unit:
        lines += _ladder_lines(plan, entry, total - free)
    return lines


def _free(ladder: Ladder) -> str:
    """What a per-unit line says of a rate of 0: that it is free (never a default rate)."""
    return ", free" if ladder.unit_price == 0 else ""


def _ladder_lines(plan: Plan, entry: Entry, billable: Decimal) -> list[Line]:
    unit, lines = UNITS[entry.unit], []
    for charge in ladder_charges(entry.ladder, billable):
        if entry.ladder.model == "package":
            size = f"{entry.ladder.package_size:f} {unit.label}"
            what = f"{entry.name}: {charge.quantity:f} packages of {size}"
        else:
            what = f"{entry.name}: {charge.span or 'all'} {unit.label}"
        band_unit = "packages" if entry.ladder.model == "package" else unit.label
        band = priced_line(plan, "tier", what, charge.quantity, charge.unit_price)
        lines.append(band._replace(unit=band_unit))
        if charge.flat:
            lines.append(priced_line(plan, "tier", f"{what}, flat amount", Decimal(1), charge.flat))
    return lines
