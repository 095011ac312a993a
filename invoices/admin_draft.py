"""A draft's own page: Approve and Refresh buttons (POST forms in its object tools), and what
stands in the way of approving it, listed before finance tries.

Approve issues the draft as finance saw it: the page carries the fingerprint it showed, and a
draft refreshed since (by a sync, or by someone else) is refused with the reason, as the bulk
action does. Refresh recomputes the draft from current usage, prices and terms. Both need the
approve permission and a POST; each says what it did, by number.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing_portal.admin_mixins import require

from . import selectors, services
from .admin_views import APPROVE, _to_invoice
from .exceptions import InvoicesError
from .models import Invoice

__all__ = ["approve_draft", "blockers_html", "refresh_draft", "what_blocks", "with_blockers"]

LATE_CREDITS = " Its late credits take it below zero: approving issues them as a credit note."


def what_blocks(invoice: Invoice, user) -> list[str]:
    """Everything that refuses this draft's approval by `user` now: the approval blockers
    (`selectors.approval_blockers`), staleness, and the four-eyes rule."""
    blockers = list(selectors.approval_blockers(invoice))
    if services.invoice_is_stale(invoice=invoice):
        blockers.append(
            "It is stale: its usage, prices or terms changed since it was computed. Refresh "
            "it, then check it again."
        )
    if selectors.needs_other_approver(invoice, user):
        blockers.append("You added manual lines to it: another person must approve it.")
    return blockers


def with_blockers(invoice: Invoice, user) -> Invoice:
    """The invoice, with `blockers_now`: what refuses its approval by `user` (a draft's page
    lists them and offers Approve only when there is none)."""
    invoice.blockers_now = what_blocks(invoice, user) if invoice.is_draft else []
    return invoice


def blockers_html(invoice: Invoice):
    """The draft page's list of what refuses its approval, or that nothing does."""
    blockers = getattr(invoice, "blockers_now", None)
    if blockers is None:
        blockers = selectors.approval_blockers(invoice)
    if not blockers:
        return "Nothing: it can be approved once reviewed." + LATE_CREDITS * (invoice.total < 0)
    return format_html(
        '<ul class="approval-blockers">{}</ul>',
        format_html_join("", "<li>{}</li>", ((b,) for b in blockers)),
    )


@never_cache
@require_POST
def approve_draft(request, model_admin, invoice_id: int):
    """Finance: issue this draft, as shown (the fingerprint the page carried)."""
    require(request, APPROVE)
    invoice = _draft(invoice_id)
    if invoice is None:
        return _gone(request)
    try:
        issued = services.invoice_approve(
            invoice=invoice,
            actor=request.user,
            expected_fingerprint=request.POST.get("fingerprint", ""),
        )
    except InvoicesError as exc:
        messages.error(request, f"{invoice} was not approved: {exc}")
        return _to_invoice(invoice)
    kind = "credit note" if issued.kind == Invoice.Kind.CREDIT_NOTE else "invoice"
    messages.success(request, f"Issued {kind} {issued.number}: {issued.total} {issued.currency}.")
    return _to_invoice(issued)


@never_cache
@require_POST
def refresh_draft(request, model_admin, invoice_id: int):
    """Finance: recompute this draft from current usage, prices and terms."""
    require(request, APPROVE)
    invoice = _draft(invoice_id)
    if invoice is None:
        return _gone(request)
    before = invoice.usage_fingerprint
    try:
        services.invoice_refresh_draft(
            customer=invoice.customer, period=invoice.period, actor=request.user
        )
    except InvoicesError as exc:
        messages.error(request, f"{invoice} was not refreshed: {exc}")
        return _to_invoice(invoice)
    after = Invoice.objects.filter(pk=invoice.pk).first()
    if after is None:
        messages.warning(request, f"{invoice}: nothing is left to bill on it, so it was removed.")
        return redirect(reverse("admin:invoices_invoice_changelist"))
    if after.usage_fingerprint == before:
        messages.info(request, f"{after}: nothing changed since it was computed.")
    else:
        messages.success(request, f"Refreshed {after}: total {after.total} {after.currency}.")
    return _to_invoice(after)


def _draft(invoice_id: int) -> Invoice | None:
    return (
        Invoice.objects.select_related("customer")
        .filter(pk=invoice_id, status=Invoice.Status.DRAFT)
        .first()
    )


def _gone(request):
    messages.error(request, "That draft is gone: it was issued, or removed when refreshed.")
    return redirect(reverse("admin:invoices_invoice_changelist"))
