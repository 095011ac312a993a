"""Payments (`invoices.Payment`): append-only, several per invoice, reversed not edited.
Every invoice marked paid before becomes one payment of what was left to pay on it (its
total less its credit notes), received on its paid date, with its reference, recorded by
whoever marked it paid. Finance records and reverses payments (`add_payment`)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import Sum

from customers.migrations import _roles

FINANCE_PAYMENTS = {"Finance": ["invoices.add_payment", "invoices.view_payment"]}


def paid_invoices_to_payments(apps, schema_editor):
    Invoice = apps.get_model("invoices", "Invoice")
    Payment = apps.get_model("invoices", "Payment")
    for invoice in Invoice.objects.filter(kind="invoice", status="paid").iterator():
        credited = (
            Invoice.objects.filter(kind="credit_note", credits=invoice)
            .exclude(status="void")
            .aggregate(s=Sum("total"))["s"]
            or 0
        )
        amount = invoice.total + credited  # credit notes' totals are below zero
        if amount > 0:
            Payment.objects.create(
                invoice=invoice,
                amount=amount,
                received_on=invoice.paid_on or invoice.issued_on,
                reference=invoice.payment_reference,
                method="other",
                recorded_by=invoice.paid_marked_by,
                recorded_at=invoice.approved_at or django.utils.timezone.now(),
            )


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0011_credit_notes_have_no_due_date"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Payment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount", models.DecimalField(decimal_places=2, help_text="In the invoice's currency; a reversal's is below zero.", max_digits=14)),
                ("received_on", models.DateField(verbose_name="received on")),
                ("reference", models.CharField(blank=True, max_length=100)),
                ("method", models.CharField(choices=[("bank_transfer", "Bank transfer"), ("card", "Card"), ("direct_debit", "Direct debit"), ("cheque", "Cheque"), ("other", "Other")], default="bank_transfer", max_length=16)),
                ("note", models.CharField(blank=True, help_text="Why it was reversed.", max_length=300)),
                ("recorded_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("invoice", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="payments", to="invoices.invoice")),
                ("recorded_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("reverses", models.OneToOneField(blank=True, help_text="The payment this row undoes.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name="reversal", to="invoices.payment")),
            ],
            options={"ordering": ["invoice", "recorded_at", "pk"]},
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(condition=~models.Q(amount=0), name="payment_not_zero"),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(reverses__isnull=True, amount__gt=0)
                | models.Q(reverses__isnull=False, amount__lt=0),
                name="payment_positive_reversal_negative",
            ),
        ),
        migrations.RunPython(paid_invoices_to_payments, migrations.RunPython.noop),
        _roles.granting(FINANCE_PAYMENTS),
    ]
