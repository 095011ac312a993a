"""Money: Decimal only, rounded half-up to the currency's minor unit, once per line.

Currencies and their minor units are ISO 4217's, from the `iso4217` package (the ISO
maintenance agency's own table, released with each amendment), not a table of ours. A code
ISO does not list, or lists without a minor unit (gold, SDRs, test codes), is no currency an
invoice can be in: `currency_problem` says so, as for a currency of more decimals than the money
columns hold (CLF). Rounding still takes 2 decimals for such a code, so that a document issued
before the check (in `ZZZ`, say) keeps printing exactly as issued.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import iso4217

UNIT_PRICE = Decimal("0.000001")
# The decimals a money column holds: every currency of up to 3 (KWD, BHD, OMR, JOD, TND, LYD,
# IQD) is stored to its minor unit; one of more (CLF: 4) cannot be, so no invoice is in one.
COLUMN_PLACES = 3
# A money column's field options (`models.DecimalField(**MONEY)`; `MoneyField` holds them):
# 12 digits before the point, as before the columns took a third decimal.
MONEY = {"max_digits": 15, "decimal_places": COLUMN_PLACES}
# The smallest amount a money column holds (0.001).
COLUMN_UNIT = Decimal(1).scaleb(-COLUMN_PLACES)
# The largest amount a money column holds.
MAX_AMOUNT = Decimal("999999999999.999")
CENT = Decimal("0.01")


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
    """Whether an amount, rounded to the columns' decimals, fits a money column."""
    return abs(amount.quantize(COLUMN_UNIT, rounding=ROUND_HALF_UP)) <= MAX_AMOUNT


def places_problem(amount: Decimal, currency: str) -> str | None:
    """Why `amount` cannot be charged in `currency` as typed, or None: it has more decimals
    than the currency's minor unit (10.5 JPY, 1.2345 KWD); rounding it would change what
    finance typed."""
    if quantize_money(amount, currency) == amount:
        return None
    exponent = _exponent(currency.upper())
    if not exponent:
        return f"{currency} amounts have no decimals; {amount:f} has some."
    return f"{currency} amounts have at most {exponent} decimals; {amount:f} has more."


def at_least_cents(amount: Decimal) -> Decimal:
    """A stored amount as read, with its third decimal only when it holds one (12.340 ->
    12.34, 1.235 -> 1.235): what 2-decimal columns gave before they took a third."""
    cents = amount.quantize(CENT)
    return cents if cents == amount else amount
