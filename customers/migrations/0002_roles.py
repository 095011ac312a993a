"""The staff roles: groups `Support` and `Finance` with exactly the permissions their work needs.

Later migrations extend these sets as the models they need arrive.
"""

from django.db import migrations

ROLES = {
    "Support": [
        "customers.view_deepgramproject",
        "customers.add_customer",
        "customers.change_customer",
        "customers.view_customer",
    ],
    "Finance": [
        "customers.view_deepgramproject",
        "customers.view_customer",
        "customers.change_customer_billing",
    ],
}


def grant(apps, schema_editor):
    from customers.migrations import _roles

    _roles.grant(apps, ROLES)


def revoke(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
