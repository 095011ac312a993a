"""Credit notes have no due date: nothing is to be paid on one. Those issued with their
issue day as due date lose it (their stored PDFs never printed one)."""

from django.db import migrations


def forward(apps, schema_editor):
    Invoice = apps.get_model("invoices", "Invoice")
    Invoice.objects.filter(kind="credit_note").update(due_on=None)


def backward(apps, schema_editor):
    from django.db.models import F

    Invoice = apps.get_model("invoices", "Invoice")
    Invoice.objects.filter(kind="credit_note", issued_on__isnull=False).update(
        due_on=F("issued_on")
    )


class Migration(migrations.Migration):
    dependencies = [("invoices", "0010_adjustments_invoice_in_another_currency")]

    operations = [migrations.RunPython(forward, backward)]
