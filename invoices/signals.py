"""Signals the invoices app sends."""

from django.dispatch import Signal

# Sent after the transaction that issued a document (an approved invoice or a credit note)
# has committed, with `invoice_id`. The PDF and the e-mail hang off it.
document_issued = Signal()
