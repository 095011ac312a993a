"""Exchange rates: units of a currency per 1 US dollar on a day (re-exported by `models`).

Deepgram's cost is in US dollars; a plan in another currency converts it at the month's rate
(the last one on or before the month's last day). Rates come from a reference file (the ECB's,
quoted against the euro, converted through it: `import_fx_rates`) or are typed by finance.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from .money import is_currency

# 10 decimals: a rate read through the euro keeps the ECB's 4 to 6 significant digits and more;
# 10 digits before the point hold any currency (the largest, IRR, is below a million per USD).
RATE = {"max_digits": 20, "decimal_places": 10}
SMALLEST_RATE = Decimal("0.0000000001")


class ExchangeRate(models.Model):
    day = models.DateField(help_text="The day the rate is the reference rate of (UTC).")
    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR, GBP, JPY")
    per_usd = models.DecimalField(
        "units per 1 USD",
        validators=[MinValueValidator(SMALLEST_RATE, "A rate is above zero.")],
        help_text="How many units of the currency one US dollar buys (EUR 0.9, JPY 150).",
        **RATE,
    )
    source = models.CharField(
        max_length=200, blank=True, help_text="Where the rate comes from (a file, a person)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "day"], name="one_rate_per_currency_day"),
            models.CheckConstraint(condition=Q(per_usd__gt=0), name="rate_above_zero"),
            models.CheckConstraint(condition=~Q(currency="USD"), name="no_rate_for_usd"),
        ]

    def __str__(self) -> str:
        return f"1 USD = {self.per_usd.normalize():f} {self.currency} on {self.day}"

    def clean_fields(self, exclude=None):
        self.currency = (self.currency or "").strip().upper()
        super().clean_fields(exclude=exclude)

    def clean(self):
        if self.currency == "USD":
            problem = "1 USD is always 1 USD: no rate is needed for US dollars."
        elif not is_currency(self.currency):
            problem = f"{self.currency!r} is not an ISO 4217 currency code (e.g. EUR, GBP, JPY)."
        else:
            return
        raise ValidationError({"currency": problem}, code="currency")
