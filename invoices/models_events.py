"""The invoices' audit trail (re-exported by `models`): who did what to an invoice, when."""

from django.db import models

from billing_portal.audit import AuditEvent


class InvoiceEvent(AuditEvent):
    """Audit trail: who did what to an invoice, and when."""

    class Action(models.TextChoices):
        GENERATED = "generated", "Draft generated"
        REFRESHED = "refreshed", "Draft refreshed"
        LINE_ADDED = "line_added", "Manual line added"
        APPROVED = "approved", "Approved (issued)"
        VOIDED = "voided", "Voided"
        CREDITED = "credited", "Credit note issued"
        PAID = "paid", "Marked paid"
        PAYMENT = "payment", "Payment recorded"
        PAYMENT_REVERSED = "payment_reversed", "Payment reversed"
        PDF_STORED = "pdf_stored", "PDF stored"
        EMAILED = "emailed", "E-mailed"
        EMAIL_FAILED = "email_failed", "E-mail failed"
        EMAIL_REQUEUED = "email_requeued", "E-mail queued again"
        VOID_EMAILED = "void_emailed", "Void notice e-mailed"
        REMINDED = "reminded", "Overdue reminder e-mailed"

    invoice = models.ForeignKey("Invoice", on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"
