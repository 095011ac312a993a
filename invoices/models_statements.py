"""Statements of account e-mailed to customers (re-exported by `models`): to whom, by whom,
which period; the audit of what finance sent. The PDF is rendered again on demand from the
stored documents and payments (`invoices.statements`)."""

from django.db import models
from django.utils import timezone

from billing_portal.audit import user_who_did_it
from customers.models import Customer


class StatementSent(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    start = models.DateField("from")
    end = models.DateField("to")
    sent_to = models.EmailField()
    sent_by = user_who_did_it(on_delete=models.PROTECT)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        verbose_name = "statement sent"
        verbose_name_plural = "statements sent"

    def __str__(self) -> str:
        return f"Statement {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d} for {self.customer}"
