"""Exchange rates (units of a currency per 1 USD on a day), Finance's to keep: view, add and
change (a wrong rate is corrected, not deleted; an issued invoice keeps the rate it used)."""

import django.core.validators
from decimal import Decimal

from django.db import migrations, models

from customers.migrations import _roles

FINANCE_RATES = {
    "Finance": [
        "invoices.add_exchangerate",
        "invoices.change_exchangerate",
        "invoices.view_exchangerate",
    ]
}


class Migration(migrations.Migration):
    dependencies = [("invoices", "0005_plans_validated")]

    operations = [
        migrations.CreateModel(
            name="ExchangeRate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(help_text="The day the rate is the reference rate of (UTC).")),
                ("currency", models.CharField(help_text="ISO 4217 code, e.g. EUR, GBP, JPY", max_length=3)),
                (
                    "per_usd",
                    models.DecimalField(
                        decimal_places=10,
                        help_text="How many units of the currency one US dollar buys (EUR 0.9, JPY 150).",
                        max_digits=20,
                        validators=[django.core.validators.MinValueValidator(Decimal("1E-10"), "A rate is above zero.")],
                        verbose_name="units per 1 USD",
                    ),
                ),
                ("source", models.CharField(blank=True, help_text="Where the rate comes from (a file, a person).", max_length=200)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["-day", "currency"],
                "constraints": [
                    models.UniqueConstraint(fields=("currency", "day"), name="one_rate_per_currency_day"),
                    models.CheckConstraint(condition=models.Q(("per_usd__gt", 0)), name="rate_above_zero"),
                    models.CheckConstraint(condition=models.Q(("currency", "USD"), _negated=True), name="no_rate_for_usd"),
                ],
            },
        ),
        _roles.granting(FINANCE_RATES),
    ]
