"""Roles for the usage sync: Support watches and starts syncs; Finance reads usage."""

from django.db import migrations

from customers.migrations import _roles

ROLES = {
    "Support": [
        "usage.view_dailyusage",
        "usage.view_usagecorrection",
        "usage.view_keysyncstate",
        "usage.view_syncrun",
        "usage.start_syncrun",
    ],
    "Finance": [
        "usage.view_dailyusage",
        "usage.view_usagecorrection",
        "usage.view_keysyncstate",
        "usage.view_syncrun",
    ],
}


class Migration(migrations.Migration):
    dependencies = [("usage", "0002_start_permission"), ("customers", "0004_roles_keys")]

    operations = [_roles.granting(ROLES)]
