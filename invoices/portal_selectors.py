"""Reads of the customer portal: a customer's documents, never drafts, never another's."""

from uuid import UUID

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from customers.models import Customer

from .models import Invoice


def portal_invoices(*, customer: Customer) -> QuerySet:
    """A customer's issued, paid and void invoices and credit notes (drafts never), newest
    issue first, with the invoice each credit note credits."""
    return (
        Invoice.objects.filter(customer=customer)
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("credits")
        .order_by("-issued_on", "-approved_at", "-pk")
    )


def portal_invoice(*, customer: Customer, public_id: UUID) -> Invoice:
    """One of the customer's visible documents; 404 for a draft or another customer's."""
    return get_object_or_404(portal_invoices(customer=customer), public_id=public_id)
