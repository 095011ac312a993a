"""Roles for invoicing: Finance sets prices and terms and acts on invoices (through services:
approve, void, credit, mark paid); Support reads invoices, plans and the invoice audit."""

from django.db import migrations

from customers.migrations import _roles

PRICES = ["priceplan", "pricetier", "customerplan", "billingterms"]
READ = ["invoice", "invoiceline", "invoiceevent"]

ROLES = {
    "Finance": [
        *(f"invoices.{verb}_{model}" for model in PRICES for verb in ("view", "add", "change")),
        *(f"invoices.view_{model}" for model in READ),
        "invoices.approve_invoice",
        "invoices.void_invoice",
        "invoices.credit_invoice",
        "invoices.mark_paid_invoice",
    ],
    "Support": [
        *(f"invoices.view_{model}" for model in READ),
        "invoices.view_priceplan",
        "invoices.view_pricetier",
        "invoices.view_customerplan",
    ],
}


class Migration(migrations.Migration):
    dependencies = [("invoices", "0001_initial"), ("usage", "0003_roles")]

    operations = [_roles.granting(ROLES)]
