"""A customer's tax and payment terms (re-exported by `models`)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from customers.models import Customer

NOT_NEGATIVE = [MinValueValidator(0, "It cannot be negative.")]
MAX_PAYMENT_DAYS = 365


class BillingTerms(models.Model):
    """A customer's tax and payment terms."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="billing_terms"
    )
    tax_rate = models.DecimalField(
        "tax rate (%)",
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[*NOT_NEGATIVE, MaxValueValidator(100)],
    )
    reverse_charge = models.BooleanField(
        default=False, help_text="No tax charged; the customer accounts for it (e.g. EU B2B)."
    )
    reverse_charge_note = models.CharField(
        max_length=200,
        blank=True,
        default="Reverse charge: VAT to be accounted for by the recipient.",
    )
    payment_terms_days = models.PositiveIntegerField(
        default=30, validators=[MaxValueValidator(MAX_PAYMENT_DAYS)]
    )

    class Meta:
        verbose_name_plural = "billing terms"

    def __str__(self) -> str:
        return f"terms of {self.customer}"
