"""Roles for line items, Deepgram's cost and unassigned usage: Finance edits the line-item
mapping and reads cost; Support reads the mapping and the unassigned usage (with its cost)."""

from django.db import migrations

from customers.migrations import _roles

READ_BY_BOTH = [
    "usage.view_lineitem",
    "usage.view_lineitemrule",
    "usage.view_unassignedaccessor",
    "usage.view_unassignedusage",
    "usage.view_unassignedusagecorrection",
    "usage.view_unassignedcost",
    "usage.view_unassignedcostcorrection",
    "usage.view_accessorevent",
]

ROLES = {
    "Support": READ_BY_BOTH,
    "Finance": [
        *READ_BY_BOTH,
        "usage.view_dailycost",
        "usage.view_costcorrection",
        "usage.add_lineitem",
        "usage.change_lineitem",
        "usage.delete_lineitem",
        "usage.add_lineitemrule",
        "usage.change_lineitemrule",
        "usage.delete_lineitemrule",
    ],
}


class Migration(migrations.Migration):
    dependencies = [("usage", "0009_model_not_reported_line_item")]

    operations = [_roles.granting(ROLES)]
