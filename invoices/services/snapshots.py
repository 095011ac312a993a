"""The seller's and the buyer's details as an issued document keeps them.

Rules:
- At issue, the seller (from the `BILLING_*` settings) and the buyer (from the customer) are
  copied onto the invoice; the PDF prints these copies only, so a later change of address
  never changes an issued document. A credit note copies the seller anew and keeps the
  original's buyer.
- Pure: no writes (`invoices.pdf` uses them for a draft's preview).
"""

from django.conf import settings

from customers.models import Customer

__all__ = ["buyer_snapshot", "seller_snapshot"]


def seller_snapshot() -> dict:
    """The seller's details as the settings give them now."""
    return {
        "name": settings.BILLING_COMPANY_NAME,
        "address": settings.BILLING_ADDRESS,
        "tax_id": settings.BILLING_TAX_ID,
        "bank_details": settings.BILLING_BANK_DETAILS,
    }


def buyer_snapshot(customer: Customer) -> dict:
    """The customer's billing details as they are now (legal name before display name)."""
    return {
        "name": customer.legal_name or customer.name,
        "address": customer.address,
        "country": customer.country,
        "tax_id": customer.tax_id,
        "email": customer.billing_email,
        "customer_id": str(customer.public_id),
    }
