"""The daily overdue reminders (off until finance turns them on) (billing_portal.schedules)."""

from django.db import migrations
from django.utils import timezone


def create(apps, schema_editor):
    from billing_portal.schedules import ensure_schedules

    ensure_schedules(apps)
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    # A running beat re-reads its schedule when this row changes.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [("billing_portal", "0006_stale_keys_report_schedule")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
