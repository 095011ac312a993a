"""Money: Decimal only, rounded half-up to the currency's minor unit, once per line."""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

# ISO 4217 minor units that are not 2; every other currency has cents.
MINOR_UNITS = {
    "BHD": 3,
    "CLP": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "TND": 3,
    "UGX": 0,
    "VND": 0,
    "XAF": 0,
    "XOF": 0,
}
UNIT_PRICE = Decimal("0.000001")


@cache  # a handful of currencies; called once for every priced line
def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency.upper(), 2))


def quantize_money(amount: Decimal, currency: str) -> Decimal:
    """Round an amount half-up to the currency's minor unit (2.345 USD -> 2.35)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
