"""Every adjustment line names the invoice whose month it corrects (`InvoiceLine.corrects`),
so late usage is priced again as a whole month in every mode. Adjustment lines written before
hourly months were re-priced named that invoice only in their text ("... usage changed after
INV-2026-000001"): read it from there. A line whose text names no invoice is left as it is
(it then counts for no month)."""

import re

from django.db import migrations

AFTER = re.compile(r"after (\S+)$")


def name_corrected_invoices(apps, schema_editor):
    Invoice = apps.get_model("invoices", "Invoice")
    InvoiceLine = apps.get_model("invoices", "InvoiceLine")
    numbers = dict(Invoice.objects.exclude(number=None).values_list("number", "pk"))
    lines = InvoiceLine.objects.filter(kind="adjustment", corrects=None)
    for line in lines.only("pk", "description").iterator():
        found = AFTER.search(line.description)
        if found and found.group(1) in numbers:
            InvoiceLine.objects.filter(pk=line.pk).update(corrects_id=numbers[found.group(1)])


class Migration(migrations.Migration):
    dependencies = [("invoices", "0007_plan_modes_and_rate_cards")]

    operations = [migrations.RunPython(name_corrected_invoices, migrations.RunPython.noop)]
