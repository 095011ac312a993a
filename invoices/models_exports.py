"""Accounting exports as they were downloaded (re-exported by `models`): who, when, which
layout and range, which documents and payments, and the file itself (its SHA-256 too), so
finance sees what was exported before and nothing is imported twice unnoticed. Written only by
`services.exports`; never changed."""

from django.db import models
from django.utils import timezone

from billing_portal.audit import user_who_did_it


class AccountingExport(models.Model):
    class Layout(models.TextChoices):
        DETAIL = "detail", "Portal: documents, lines and payments (every field)"
        XERO = "xero", "Xero: sales invoices and credit notes"
        QUICKBOOKS_INVOICES = "qbo_invoices", "QuickBooks Online: invoices"
        QUICKBOOKS_CREDIT_NOTES = "qbo_credits", "QuickBooks Online: credit notes"
        PAYMENTS = "payments", "Payments received (for Xero or QuickBooks by hand)"

    layout = models.CharField(max_length=16, choices=Layout)
    start = models.DateField("from")
    end = models.DateField("to")
    created_by = user_who_did_it(on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=100)
    content = models.TextField(editable=False)
    sha256 = models.CharField("SHA-256", max_length=64, editable=False)
    rows = models.PositiveIntegerField(default=0)
    documents = models.ManyToManyField("Invoice", related_name="accounting_exports", blank=True)
    payments = models.ManyToManyField("Payment", related_name="accounting_exports", blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="export_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_layout_display()}, {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"
