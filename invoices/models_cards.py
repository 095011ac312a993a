"""A rate card: a price plan's ordered entries, each matching usage by endpoint, method and
model patterns and pricing it in a unit by its own ladder (re-exported by `models`). How they
price is `invoices.rate_cards`; the entries' steps are `invoices.ladders` steps."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from .fields import MoneyField
from .ladders import MODELS
from .rate_cards import UNIT_NAMES

SIX_PLACES = {"max_digits": 16, "decimal_places": 6}
NOT_NEGATIVE = [MinValueValidator(0, "It cannot be negative.")]
PATTERN_HELP = "A pattern: * for any, nova-3* for every Nova-3 model (any case)."


class RateCardEntry(models.Model):
    plan = models.ForeignKey(
        "invoices.PricePlan", on_delete=models.CASCADE, related_name="card_entries"
    )
    position = models.PositiveIntegerField(
        default=0, help_text="Entries match in this order; the first that matches prices."
    )
    name = models.CharField(max_length=100, help_text='What the lines say: "Nova-3, streaming".')
    endpoint = models.CharField(max_length=50, default="*", help_text=PATTERN_HELP)
    method = models.CharField(max_length=50, default="*", help_text=PATTERN_HELP)
    model = models.CharField(max_length=100, default="*", help_text=PATTERN_HELP)
    unit = models.CharField(max_length=20, choices=UNIT_NAMES.items())
    ladder = models.CharField(
        max_length=12, choices=MODELS.items(), default="unit", help_text="How the unit is priced."
    )
    unit_price = models.DecimalField(
        default=0,
        validators=NOT_NEGATIVE,
        help_text="Per unit, or per package (0: free). Tiers are set on the entry's page.",
        **SIX_PLACES,
    )
    package_size = models.DecimalField(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.000001"), "A package holds more than 0.")],
        help_text="Packages: units a package holds (the last one rounded up).",
        **SIX_PLACES,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan", "position", "pk"]
        verbose_name_plural = "rate card entries"

    def __str__(self) -> str:
        return f"{self.name} ({self.endpoint} / {self.method} / {self.model})"

    def clean(self):
        if self.ladder == "package" and not self.package_size:
            raise ValidationError(
                {"package_size": "A package entry needs its size: the units a package holds."}
            )


class RateCardStep(models.Model):
    """A tier of an entry's ladder: units up to `up_to` (cumulative; empty for the last, open
    tier) at `unit_price`, plus `flat` once when the usage enters the tier."""

    entry = models.ForeignKey(RateCardEntry, on_delete=models.CASCADE, related_name="steps")
    up_to = models.DecimalField(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.000001"), "A tier ends above 0.")],
        help_text="Empty: no upper bound (the last tier).",
        **SIX_PLACES,
    )
    unit_price = models.DecimalField(validators=NOT_NEGATIVE, **SIX_PLACES)
    flat = MoneyField("flat amount", default=0, validators=NOT_NEGATIVE)

    class Meta:
        ordering = ["entry", models.F("up_to").asc(nulls_last=True)]

    def __str__(self) -> str:
        return f"up to {self.up_to or '∞'} at {self.unit_price}"
