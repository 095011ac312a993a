"""The seller's and the buyer's details as an issued document keeps them.

Rules:
- At issue, the seller (from the `BILLING_*` settings) and the buyer (from the customer) are
  copied onto the invoice; the PDF prints these copies only, so a later change of address
  never changes an issued document. A credit note copies the seller anew and keeps the
  original's buyer.
- Every text of a snapshot is copied without bidirectional controls (embeddings, overrides,
  isolates and the invisible direction marks): a right-to-left override typed into an address
  would print the rest of it reversed. Letters of right-to-left scripts are kept; their
  direction comes from the letters themselves.
- Pure: no writes (`invoices.pdf` uses them for a draft's preview).
"""

import re

from django.conf import settings

from customers.models import Customer

__all__ = ["buyer_snapshot", "seller_snapshot", "without_bidi_controls", "without_bidi_values"]

# LRE RLE PDF LRO RLO, LRI RLI FSI PDI, LRM RLM and the Arabic letter mark.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def without_bidi_controls(text: str) -> str:
    """`text` without the Unicode bidirectional control characters."""
    return BIDI_CONTROLS.sub("", text)


def without_bidi_values(snapshot: dict) -> dict:
    """A copy of `snapshot` whose text values have no bidirectional control characters."""
    return {
        name: without_bidi_controls(value) if isinstance(value, str) else value
        for name, value in snapshot.items()
    }


def seller_snapshot() -> dict:
    """The seller's details as the settings give them now, without bidi controls."""
    return without_bidi_values(
        {
            "name": settings.BILLING_COMPANY_NAME,
            "address": settings.BILLING_ADDRESS,
            "tax_id": settings.BILLING_TAX_ID,
            "bank_details": settings.BILLING_BANK_DETAILS,
        }
    )


def buyer_snapshot(customer: Customer) -> dict:
    """The customer's billing details as they are now (legal name before display name),
    without bidi controls."""
    return without_bidi_values(
        {
            "name": customer.legal_name or customer.name,
            "address": customer.address,
            "country": customer.country,
            "tax_id": customer.tax_id,
            "email": customer.billing_email,
            "customer_id": str(customer.public_id),
        }
    )
