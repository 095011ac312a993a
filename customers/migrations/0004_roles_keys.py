"""Roles for keys, portal users and the key audit trail."""

from django.db import migrations

ROLES = {
    "Support": [
        "customers.view_apikey",
        "customers.provision_apikey",
        "customers.rotate_apikey",
        "customers.revoke_apikey",
        "customers.reconcile_apikey",
        "customers.add_customeruser",
        "customers.change_customeruser",
        "customers.view_customeruser",
        "customers.view_keyevent",
    ],
    "Finance": [
        "customers.view_apikey",
        "customers.view_keyevent",
    ],
}


def grant(apps, schema_editor):
    from customers.migrations import _roles

    _roles.grant(apps, ROLES)


def revoke(apps, schema_editor):
    from customers.migrations import _roles

    _roles.revoke(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_keys_users_audit"), ("customers", "0002_roles")]

    operations = [migrations.RunPython(grant, revoke)]
