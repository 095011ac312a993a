"""The money column: a decimal of `money.MONEY`'s size, read back as 2-decimal columns were."""

from decimal import ROUND_HALF_UP

from django.db import models

from .money import COLUMN_UNIT, MONEY, at_least_cents


class MoneyField(models.DecimalField):
    """An amount in its document's (or plan's) currency, to 3 decimals so that KWD, BHD or OMR
    are stored to their minor unit.

    A value is read with its third decimal only when it holds one (12.340 -> 12.34): amounts in
    2-decimal currencies read, print, export and fingerprint exactly as they did before the
    columns took a third decimal. Aggregates of the column (Sum) read the same way."""

    def __init__(self, *args, **kwargs):
        for option, value in MONEY.items():
            kwargs.setdefault(option, value)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if connection.vendor == "sqlite":
            # SQLite sums decimals as floats (29.2230000000000): back to the column's places.
            value = value.quantize(COLUMN_UNIT, rounding=ROUND_HALF_UP)
        return at_least_cents(value)
