"""Sync runs keep a heartbeat, an owner token and their chunks of keys (takeover of stale runs).

Existing rows: each gets its own token; the heartbeat is when it last did something (finished,
else started), so a run left running by an old release is seen as stale and taken over.
"""

import uuid

import django.utils.timezone
from django.db import migrations, models


def fill_tokens_and_heartbeats(apps, schema_editor):
    SyncRun = apps.get_model("usage", "SyncRun")
    for run in SyncRun.objects.only("pk", "started_at", "finished_at").iterator():
        SyncRun.objects.filter(pk=run.pk).update(
            token=uuid.uuid4(), heartbeat_at=run.finished_at or run.started_at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0005_method_label_not_split"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="chunks",
            field=models.JSONField(
                blank=True,
                default=list,
                editable=False,
                help_text="The key pks of each chunk, by number.",
            ),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="takeovers",
            field=models.PositiveIntegerField(
                default=0, help_text="How often a stale run was taken over and resumed."
            ),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="token",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="heartbeat_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(fill_tokens_and_heartbeats, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="syncrun",
            name="token",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="syncrun",
            name="heartbeat_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When the run's owner last showed it was alive.",
            ),
        ),
    ]
