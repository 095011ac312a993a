"""Support loses every invoices permission: invoices, their lines, PDFs and audit, the CSV
export, and price plans, tiers and customer plans are Finance's work alone.

Support's work is customers, their keys and portal users (and the usage sync that feeds
them); it never acts on an invoice. A customer's question about an invoice (an amount, a
missing e-mail, a payment) is Finance's to answer, and the customer downloads its own
documents in the portal. Reading every customer's invoices, and exporting a month of them,
is more than Support's work needs. Migrating backwards gives the view permissions back.
"""

from django.db import migrations

from customers.migrations import _roles

SUPPORT_INVOICE_VIEWS = {
    "Support": [
        "invoices.view_invoice",
        "invoices.view_invoiceline",
        "invoices.view_invoiceevent",
        "invoices.view_priceplan",
        "invoices.view_pricetier",
        "invoices.view_customerplan",
    ]
}


class Migration(migrations.Migration):
    dependencies = [("invoices", "0003_invoice_pdf_and_email")]

    operations = [_roles.revoking(SUPPORT_INVOICE_VIEWS)]
