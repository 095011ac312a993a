from django.db import migrations


def create(apps, schema_editor):
    from billing_portal.schedules import ensure_schedules

    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
