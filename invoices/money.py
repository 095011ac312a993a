"""Money: Decimal only, rounded half-up to the currency's minor unit, once per line.

Currencies and their minor units are ISO 4217's, from the `iso4217` package (the ISO
maintenance agency's own table, released with each amendment), not a table of ours. A code
ISO does not list, or lists without a minor unit (gold, SDRs, test codes), is no currency an
invoice can be in: `currency_problem` says so. Rounding still takes 2 decimals for such a code,
so that a document issued before the check (in `ZZZ`, say) keeps printing exactly as issued.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import iso4217

UNIT_PRICE = Decimal("0.000001")
# The largest amount a money column holds (14 digits, 2 of them decimals).
MAX_AMOUNT = Decimal("999999999999.99")
# The decimals a money column holds: a currency with more (KWD, BHD, OMR: 3; CLF: 4) cannot be
# stored to its minor unit, so no invoice can be in one.
COLUMN_PLACES = 2
# A money column's field options (`models.DecimalField(**MONEY)`).
MONEY = {"max_digits": 14, "decimal_places": COLUMN_PLACES}


@cache
def _exponent(code: str) -> int | None:
    try:
        return iso4217.Currency(code).exponent
    except ValueError:
        return None


def is_currency(code: str) -> bool:
    """Whether `code` is an ISO 4217 code in capitals of a currency with a minor unit (one an
    exchange rate may be for, whether or not an invoice can be in it)."""
    return code == code.strip().upper() and _exponent(code) is not None


def currency_problem(code: str) -> str | None:
    """Why `code` cannot be an invoice's currency, or None: it must be an ISO 4217 code in
    capitals, of a currency with a minor unit."""
    exponent = _exponent(code) if code == code.strip().upper() else None
    if exponent is None:
        return f"{code!r} is not an ISO 4217 currency code (e.g. USD, EUR, JPY)."
    if exponent > COLUMN_PLACES:
        return (
            f"{code} has {exponent} decimals; the portal stores amounts to "
            f"{COLUMN_PLACES}, so it cannot invoice in {code} yet."
        )
    return None


@cache  # a handful of currencies; called once for every priced line
def minor_unit(currency: str) -> Decimal:
    exponent = _exponent(currency.upper())
    return Decimal(1).scaleb(-(2 if exponent is None else exponent))


def quantize_money(amount: Decimal, currency: str) -> Decimal:
    """Round an amount half-up to the currency's minor unit (2.345 USD -> 2.35)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def fits_money_column(amount: Decimal) -> bool:
    """Whether an amount, rounded to cents, fits a money column."""
    return abs(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) <= MAX_AMOUNT
