"""The portal's own line item for the rows whose model Deepgram did not report: every row
stored before usage came by model (0008 gave them model "" and endpoint ""), so they map to it
and to nothing a rule would price."""

from django.db import migrations

CODE = "model-not-reported"


def create(apps, schema_editor):
    LineItem = apps.get_model("usage", "LineItem")
    LineItem.objects.get_or_create(
        code=CODE, defaults={"label": "Model not reported", "source": "fixed"}
    )


def remove(apps, schema_editor):
    apps.get_model("usage", "LineItem").objects.filter(code=CODE).delete()


class Migration(migrations.Migration):
    dependencies = [("usage", "0008_usage_by_line_item_cost_unassigned")]

    operations = [migrations.RunPython(create, remove)]
