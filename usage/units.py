"""Usage quantities as they are stored: hours keep 6 decimals, rounded half-up, everywhere
(the sync that stores them and the invoices that bill them use this one helper)."""

from decimal import ROUND_HALF_UP, Decimal

HOURS = Decimal("0.000001")


def quantize_hours(hours: Decimal) -> Decimal:
    """Round hours half-up to the 6 decimals they are stored with (0.0000005 -> 0.000001)."""
    return hours.quantize(HOURS, rounding=ROUND_HALF_UP)
