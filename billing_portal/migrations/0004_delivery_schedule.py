from django.db import migrations


def create(apps, schema_editor):
    from billing_portal.schedules import ensure_schedules

    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [("billing_portal", "0003_invoice_schedule")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
