"""Reading a file of reference exchange rates into units of each currency per 1 US dollar.
Pure: text in, rates out; no database.

Two layouts, told apart by the header:
- The ECB's reference rates (`eurofxref-hist.csv`, or the daily `eurofxref.csv`): a `Date`
  column, then a column per currency, each rate in units per 1 euro on a working day; `N/A`
  (or empty) where it has none. They are converted through the euro: units per USD = units
  per EUR / USD per EUR, and EUR's own rate is 1 / (USD per EUR). A day without a USD rate
  cannot be converted and is skipped (counted).
- Rates already per US dollar: columns `date`, `currency`, `per_usd`, a row each.

Dates are ISO (2026-11-27) or the daily file's "27 November 2026". A rate is rounded half up
to the column's 10 decimals once. A code that is no current ISO 4217 currency (the ECB's
history holds retired ones: CYP, SIT, ...) is skipped and named; a rate that is not a positive
number, or a date that is no date, fails the file with its line, so nothing half-read is
imported.
"""

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .models_fx import RATE
from .money import is_currency

PLACES = Decimal(1).scaleb(-RATE["decimal_places"])
LARGEST = Decimal(10) ** (RATE["max_digits"] - RATE["decimal_places"])
MISSING = {"", "N/A", "NA", "-"}
LONG_HEADER = ("date", "currency", "per_usd")


class RateFileError(ValueError):
    """The file cannot be read as rates; the text names the line and what is wrong."""


@dataclass(frozen=True)
class ReadRate:
    day: date
    currency: str
    per_usd: Decimal


@dataclass
class ReadRates:
    rates: list[ReadRate] = field(default_factory=list)
    layout: str = ""
    unknown_codes: Counter = field(default_factory=Counter)  # code -> rates skipped
    days_without_usd: int = 0


def read_rates(lines: Iterable[str]) -> ReadRates:
    """The rates of a CSV file (its lines of text)."""
    rows = csv.reader(lines)
    header = [cell.strip() for cell in next(rows, [])]
    while header and not header[-1]:  # the ECB ends each line with a comma
        header.pop()
    if not header:
        raise RateFileError("The file is empty: no header line.")
    if tuple(name.lower() for name in header) == LONG_HEADER:
        return _read_long(rows)
    if header[0].lower() == "date" and len(header) > 1:
        return _read_ecb(header, rows)
    raise RateFileError(
        "Line 1: the header is neither the ECB's (Date, then a column per currency) nor "
        f"date,currency,per_usd; it is {','.join(header)!r}."
    )


def _read_ecb(header: list[str], rows) -> ReadRates:
    codes = [code.upper() for code in header[1:]]
    if "USD" not in codes:
        raise RateFileError("Line 1: rates quoted against the euro need a USD column.")
    read = ReadRates(layout="ECB reference rates (per EUR), converted through EUR")
    for number, row in enumerate(rows, start=2):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        day = _day(cells[0], number)
        per_eur = {
            code: _rate(text, number, code)
            for code, text in zip(codes, cells[1:], strict=False)
            if text not in MISSING
        }
        usd = per_eur.pop("USD", None)
        if usd is None:
            read.days_without_usd += 1
            continue
        per_eur["EUR"] = Decimal(1)
        for code, rate in per_eur.items():
            if not is_currency(code):
                read.unknown_codes[code] += 1
                continue
            read.rates.append(ReadRate(day, code, _rounded(rate / usd)))
    return read


def _read_long(rows) -> ReadRates:
    read = ReadRates(layout="rates per USD")
    for number, row in enumerate(rows, start=2):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) < 3:
            raise RateFileError(f"Line {number}: expected date,currency,per_usd.")
        code = cells[1].upper()
        if cells[2] in MISSING:
            continue
        rate = _rate(cells[2], number, code)
        if code == "USD":
            if rate != 1:
                raise RateFileError(f"Line {number}: 1 USD is 1 USD, not {cells[2]}.")
            continue
        if not is_currency(code):
            read.unknown_codes[code] += 1
            continue
        read.rates.append(ReadRate(_day(cells[0], number), code, _rounded(rate)))
    return read


def _day(text: str, number: int) -> date:
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d %B %Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    raise RateFileError(f"Line {number}: {text!r} is not a date (2026-11-27 or 27 November 2026).")


def _rate(text: str, number: int, code: str) -> Decimal:
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or rate <= 0:
        raise RateFileError(f"Line {number}: the {code} rate {text!r} is not a positive number.")
    return rate


def _rounded(rate: Decimal) -> Decimal:
    rounded = rate.quantize(PLACES, rounding=ROUND_HALF_UP)
    if rounded <= 0:
        raise RateFileError(f"A rate of {rate} per USD rounds to zero at 10 decimals.")
    if rounded >= LARGEST:
        raise RateFileError(f"A rate of {rate} per USD is beyond what a rate can be.")
    return rounded
