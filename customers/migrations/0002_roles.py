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


def create_missing_permissions(apps):
    # Permissions are made after migrations run; a data migration must create them itself.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant(apps, schema_editor):
    create_missing_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for code in codes:
            app_label, codename = code.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def revoke(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
