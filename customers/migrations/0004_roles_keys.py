"""Roles for keys, portal users and the key audit trail."""

from django.db import migrations

from customers.migrations import _roles

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


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_keys_users_audit"), ("customers", "0002_roles")]

    operations = [_roles.granting(ROLES)]
