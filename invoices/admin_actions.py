"""Finance's bulk actions on invoices: approve (with a confirmation page), refresh, resend
the e-mail.

Each action calls one service per selected invoice and reports in one message what it did
and what it skipped and why; the services' domain errors are written for finance staff, so
their text is shown as it is. Actions are not wrapped in a transaction: each service is
atomic on its own, so one failing invoice leaves the others done.
"""

from collections import Counter

from django.contrib import messages

from billing_portal.admin_mixins import action_confirmed, confirmation_page, require

from . import documents, selectors, services
from .exceptions import InvoicesError

SKIP_REASONS = {
    "stale": "stale (usage, prices or terms changed since it was computed); refresh it first",
    "four_eyes": "you added manual lines to it: another person must approve it",
    "not_draft": "not a draft",
    "blocked": "it cannot be approved yet (its page says why)",
}


def _report(model_admin, request, done: str, skipped: list[str]) -> None:
    """One message: what was done, then how many were skipped and why."""
    if skipped:
        text = f"{done}; skipped {len(skipped)}: {'; '.join(skipped)}"
        model_admin.message_user(request, text, messages.WARNING)
    else:
        model_admin.message_user(request, f"{done}.", messages.SUCCESS)


def approve_drafts(model_admin, request, queryset):
    """Show what approving the selection would issue (count and total per currency) and what
    it would skip; on confirmation issue each draft as reviewed."""
    if not action_confirmed(request):
        return confirmation_page(
            request,
            model_admin,
            "admin/invoices/invoice/approve_confirm.html",
            "Approve drafts?",
            preview=selectors.approval_preview(queryset, user=request.user),
        )
    reviewed = _pairs(request.POST.getlist("reviewed"))
    left_out = _pairs(request.POST.getlist("left_out"))
    issued, skipped = [], []
    for invoice in queryset.select_related("customer").order_by("customer__name", "period", "pk"):
        if invoice.pk not in reviewed:
            reason = SKIP_REASONS.get(left_out.get(invoice.pk, ""), "not reviewed")
            if left_out.get(invoice.pk) == "blocked":
                reason = " ".join(selectors.approval_blockers(invoice)) or reason
            skipped.append(f"{invoice}: {reason}")
        elif invoice.usage_fingerprint != reviewed[invoice.pk]:
            skipped.append(f"{invoice}: it was refreshed after you reviewed it; check it again")
        else:
            try:
                document = services.invoice_approve(
                    invoice=invoice, actor=request.user, expected_fingerprint=reviewed[invoice.pk]
                )
            except InvoicesError as exc:
                skipped.append(f"{invoice}: {exc}")
            else:
                issued.append(document.number)
    _report(model_admin, request, f"Issued {len(issued)}{_numbers(issued)}", skipped)
    return None


def _numbers(numbers: list[str], shown: int = 10) -> str:
    """ " (INV-2026-000001, INV-2026-000002)": which were issued, the first `shown` of them."""
    if not numbers:
        return ""
    more = f" and {len(numbers) - shown:,} more" if len(numbers) > shown else ""
    return f" ({', '.join(numbers[:shown])}{more})"


def _pairs(values: list[str]) -> dict[int, str]:
    """`pk:value` form fields as {pk: value}; anything else is ignored."""
    pairs = {}
    for value in values:
        pk, _, rest = value.partition(":")
        if pk.isdigit():
            pairs[int(pk)] = rest
    return pairs


def refresh_drafts(model_admin, request, queryset):
    """Recompute each selected draft from current usage, prices and terms."""
    outcomes, skipped = Counter(), []
    for invoice in queryset.select_related("customer").order_by("customer__name", "period"):
        if not invoice.is_draft:
            skipped.append(f"{invoice}: {SKIP_REASONS['not_draft']}")
            continue
        try:
            outcome, _ = services.invoice_refresh_draft(
                customer=invoice.customer, period=invoice.period, actor=request.user
            )
        except InvoicesError as exc:
            skipped.append(f"{invoice}: {exc}")
            continue
        if outcome in ("refreshed", "unchanged"):
            outcomes[outcome] += 1
        else:
            skipped.append(f"{invoice}: issued meanwhile")
    done = f"Refreshed {outcomes['refreshed']}, unchanged {outcomes['unchanged']}"
    _report(model_admin, request, done, skipped)
    return None


def resend_emails(model_admin, request, queryset):
    """Fresh e-mail attempts for issued documents whose e-mail has not gone out."""
    require(request, "invoices.approve_invoice")
    queued, skipped = 0, []
    for invoice in queryset.order_by("pk"):
        if documents.invoice_requeue_email(invoice=invoice, actor=request.user):
            queued += 1
        else:
            skipped.append(f"{invoice} (a draft, void, or already sent)")
    _report(model_admin, request, f"Queued the e-mail of {queued} invoice(s)", skipped)
    return None
