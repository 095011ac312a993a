"""Payments received against issued invoices (re-exported by `models`).

Append-only: a payment is never edited or deleted; a mistake is undone by its reversal, a
row of the opposite amount that names it (one at most, a database constraint). Recorded and
reversed only through `services.payments`, which keeps the invoice's stored status in step
(paid when nothing is left to pay) and audits each on the invoice's trail.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing_portal.audit import user_who_did_it

from .fields import MoneyField


class Payment(models.Model):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card"
        DIRECT_DEBIT = "direct_debit", "Direct debit"
        CHEQUE = "cheque", "Cheque"
        OTHER = "other", "Other"

    invoice = models.ForeignKey("Invoice", on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField(help_text="In the invoice's currency; a reversal's is below zero.")
    received_on = models.DateField("received on")
    reference = models.CharField(max_length=100, blank=True)
    method = models.CharField(max_length=16, choices=Method, default=Method.BANK_TRANSFER)
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
        help_text="The payment this row undoes.",
    )
    note = models.CharField(max_length=300, blank=True, help_text="Why it was reversed.")
    recorded_by = user_who_did_it(on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["invoice", "recorded_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payment_not_zero"),
            models.CheckConstraint(
                condition=Q(reverses__isnull=True, amount__gt=0)
                | Q(reverses__isnull=False, amount__lt=0),
                name="payment_positive_reversal_negative",
            ),
        ]

    def __str__(self) -> str:
        what = "Reversal" if self.reverses_id else "Payment"
        return f"{what} of {abs(self.amount)} on {self.received_on:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError("A payment is never changed: reverse it instead.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("A payment is never deleted: reverse it instead.")
