"""Tasks renamed after the service they run: the stored beat schedules follow (an operator's
own schedule of a renamed task too). The former names stay registered for a release, so
messages queued before the upgrade still run."""

from django.db import migrations
from django.utils import timezone

RENAMED = {
    "usage.tasks.sync_all_usage": "usage.tasks.sync_run_start",
    "usage.tasks.sync_usage_chunk": "usage.tasks.usage_sync_keys",
    "customers.tasks.revoke_due_keys": "customers.tasks.api_keys_revoke_due",
    "customers.tasks.mark_expired_keys": "customers.tasks.api_keys_mark_expired",
    "invoices.tasks.generate_previous_month": "invoices.tasks.invoice_generate_drafts",
    "invoices.tasks.refresh_open_drafts": "invoices.tasks.invoice_refresh_open_drafts",
    "invoices.tasks.store_invoice_pdf": "invoices.tasks.invoice_store_pdf",
    "invoices.tasks.send_invoice_email": "invoices.tasks.invoice_send_email",
}


def rename(apps, schema_editor, names=RENAMED):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in names.items():
        PeriodicTask.objects.filter(task=old).update(task=new)
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    # A running beat re-reads its schedule when this row changes.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("billing_portal", "0004_delivery_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
