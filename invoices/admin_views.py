"""Finance's admin pages: approve (confirmation), refresh, void, credit note, mark paid, manual
lines, generate drafts, CSV export.

Each page calls one service per invoice and reports counts; the services' domain errors are
written for finance staff, so their text is shown as it is. Views wrapped in
`admin_site.admin_view` only check `is_staff`, so each one checks its permission itself.
Drafts are prepared (generated, refreshed, given manual lines) by whoever may approve them.
"""

import csv
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import helpers
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from billing_portal.admin_mixins import admin_page, require

from . import documents, selectors, services
from .exceptions import InvoicesError
from .forms import CreditNoteForm, ManualLineForm, MarkPaidForm, PeriodForm, VoidForm
from .models import Invoice
from .pdf import render_invoice_pdf

APPROVE = "invoices.approve_invoice"
SKIP_REASONS = {
    "stale": "stale (usage, prices or terms changed since it was computed); refresh it first",
    "four_eyes": "you added manual lines to it: another person must approve it",
    "not_draft": "not a draft",
}


def _page(request, model_admin, template: str, title: str, **context) -> TemplateResponse:
    return admin_page(request, model_admin, f"admin/invoices/{template}", title, **context)


def _invoice(invoice_id: int) -> Invoice:
    return get_object_or_404(Invoice.objects.select_related("customer"), pk=invoice_id)


def _to_invoice(invoice: Invoice):
    return redirect(reverse("admin:invoices_invoice_change", args=[invoice.pk]))


def _report(model_admin, request, done: str, skipped: list[str]) -> None:
    """One message: what was done, then how many were skipped and why."""
    if skipped:
        text = f"{done}; skipped {len(skipped)}: {'; '.join(skipped)}"
        model_admin.message_user(request, text, messages.WARNING)
    else:
        model_admin.message_user(request, f"{done}.", messages.SUCCESS)


# --- Bulk actions ---------------------------------------------------------------------------


def approve_drafts(model_admin, request, queryset):
    """Admin action: show what approving the selection would issue (count and total per
    currency) and what it would skip; on confirmation issue each draft as reviewed."""
    if request.POST.get("confirmed") != "yes":
        preview = selectors.approval_preview(queryset, user=request.user)
        return _page(
            request,
            model_admin,
            "invoice/approve_confirm.html",
            "Approve drafts?",
            preview=preview,
            action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
        )
    reviewed = _pairs(request.POST.getlist("reviewed"))
    left_out = _pairs(request.POST.getlist("left_out"))
    issued, skipped = 0, []
    for invoice in queryset.select_related("customer").order_by("customer__name", "period", "pk"):
        if invoice.pk not in reviewed:
            reason = SKIP_REASONS.get(left_out.get(invoice.pk, ""), "not reviewed")
            skipped.append(f"{invoice}: {reason}")
        elif invoice.usage_fingerprint != reviewed[invoice.pk]:
            skipped.append(f"{invoice}: it was refreshed after you reviewed it; check it again")
        else:
            try:
                services.invoice_approve(
                    invoice=invoice, actor=request.user, expected_fingerprint=reviewed[invoice.pk]
                )
            except InvoicesError as exc:
                skipped.append(f"{invoice}: {exc}")
            else:
                issued += 1
    _report(model_admin, request, f"Issued {issued}", skipped)
    return None


def _pairs(values: list[str]) -> dict[int, str]:
    """`pk:value` form fields as {pk: value}; anything else is ignored."""
    pairs = {}
    for value in values:
        pk, _, rest = value.partition(":")
        if pk.isdigit():
            pairs[int(pk)] = rest
    return pairs


def refresh_drafts(model_admin, request, queryset):
    """Admin action: recompute each selected draft from current usage, prices and terms."""
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


# --- One invoice ----------------------------------------------------------------------------


@never_cache
def void_invoice(request, model_admin, invoice_id: int):
    """Finance: void an issued invoice, with a reason."""
    require(request, "invoices.void_invoice")
    invoice = _invoice(invoice_id)
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invoice_void(
                invoice=invoice, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except InvoicesError as exc:
            form.add_error(None, str(exc))
        else:
            model_admin.message_user(request, f"Voided {invoice}.", messages.SUCCESS)
            return _to_invoice(invoice)
    return _page(
        request, model_admin, "invoice/void.html", f"Void {invoice}", form=form, invoice=invoice
    )


@never_cache
def credit_invoice(request, model_admin, invoice_id: int):
    """Finance: issue a credit note for all that is left of an invoice, or a net amount."""
    require(request, "invoices.credit_invoice")
    invoice = _invoice(invoice_id)
    form = CreditNoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        amount = form.cleaned_data["amount"]
        try:
            note = services.credit_note_create(
                invoice=invoice,
                actor=request.user,
                reason=form.cleaned_data["reason"].strip(),
                amount=amount,
            )
        except InvoicesError as exc:
            form.add_error("amount" if amount is not None else None, str(exc))
        else:
            model_admin.message_user(
                request,
                f"Issued credit note {note.number} for {-note.total} {note.currency}.",
                messages.SUCCESS,
            )
            return _to_invoice(note)
    return _page(
        request,
        model_admin,
        "invoice/credit.html",
        f"Credit note for {invoice}",
        form=form,
        invoice=invoice,
        left=services.credit_left(invoice)[0],
    )


@never_cache
def mark_paid(request, model_admin, invoice_id: int):
    """Finance: record an issued invoice's payment."""
    require(request, "invoices.mark_paid_invoice")
    invoice = _invoice(invoice_id)
    form = MarkPaidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invoice_mark_paid(
                invoice=invoice,
                actor=request.user,
                paid_on=form.cleaned_data["paid_on"],
                reference=form.cleaned_data["reference"].strip(),
            )
        except InvoicesError as exc:
            form.add_error(None, str(exc))
        else:
            model_admin.message_user(request, f"Marked {invoice} paid.", messages.SUCCESS)
            return _to_invoice(invoice)
    return _page(
        request,
        model_admin,
        "invoice/mark_paid.html",
        f"Mark {invoice} paid",
        form=form,
        invoice=invoice,
    )


@never_cache
def add_manual_line(request, model_admin, invoice_id: int):
    """Finance: add a manual line to a draft (the draft is then recomputed)."""
    require(request, APPROVE)
    invoice = _invoice(invoice_id)
    form = ManualLineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            line = services.invoice_add_manual_line(
                invoice=invoice, actor=request.user, **form.cleaned_data
            )
        except InvoicesError as exc:
            form.add_error(None, str(exc))
        else:
            model_admin.message_user(
                request,
                f"Added {line.description!r} ({line.amount} {invoice.currency}).",
                messages.SUCCESS,
            )
            return _to_invoice(invoice)
    return _page(
        request,
        model_admin,
        "invoice/manual_line.html",
        f"Add a manual line to {invoice}",
        form=form,
        invoice=invoice,
        four_eyes=settings.BILLING_FOUR_EYES,
    )


# --- A period -------------------------------------------------------------------------------


@never_cache
def generate_drafts(request, model_admin):
    """Finance: create or refresh the drafts of a month for every active customer."""
    require(request, APPROVE)
    form = PeriodForm(request.POST or None, initial={"period": _last_month()})
    if request.method == "POST" and form.is_valid():
        period = form.cleaned_data["period"]
        report = services.invoice_generate_drafts(period=period, actor=request.user)
        model_admin.message_user(
            request,
            f"Drafts for {period:%Y-%m}: created {len(report.created)}, refreshed "
            f"{len(report.refreshed)}, unchanged {len(report.unchanged)}; skipped "
            f"{report.skipped_issued} already issued, {report.skipped_empty} with nothing to "
            f"bill, {report.no_plan} without a price plan.",
            messages.SUCCESS,
        )
        changelist = reverse("admin:invoices_invoice_changelist")
        return redirect(f"{changelist}?{urlencode({'period': f'{period:%Y-%m}'})}")
    return _page(
        request, model_admin, "invoice/generate.html", "Generate draft invoices", form=form
    )


def _last_month() -> str:
    first = timezone.now().date().replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


def export_csv(request, model_admin):
    """Issued, paid and void invoices and credit notes of a month, as CSV for accounting."""
    require(request, "invoices.view_invoice")
    form = PeriodForm(request.GET if "period" in request.GET else None)
    if not form.is_valid():
        return _page(
            request, model_admin, "invoice/export.html", "Export invoices as CSV", form=form
        )
    period = form.cleaned_data["period"]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="invoices-{period:%Y-%m}.csv"'
    writer = csv.writer(response)
    writer.writerow(selectors.EXPORT_COLUMNS)
    writer.writerows(selectors.export_rows(period))
    return response


def resend_emails(model_admin, request, queryset):
    """Fresh e-mail attempts for issued documents whose e-mail has not gone out."""
    require(request, APPROVE)
    queued, skipped = 0, []
    for invoice in queryset.order_by("pk"):
        if documents.invoice_requeue_email(invoice=invoice, actor=request.user):
            queued += 1
        else:
            skipped.append(f"{invoice} (a draft, void, or already sent)")
    _report(model_admin, request, f"Queued the e-mail of {queued} invoice(s)", skipped)


# --- PDFs -----------------------------------------------------------------------------------


def stored_pdf(request, model_admin, invoice_id: int):
    """The issued document exactly as stored (rendered now, once, if its task has not run)."""
    require(request, "invoices.view_invoice")
    invoice = _invoice(invoice_id)
    if invoice.is_draft:
        return redirect(reverse("admin:invoices_invoice_preview", args=[invoice.pk]))
    try:
        data = documents.invoice_pdf_bytes(invoice)
    except InvoicesError as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
        return _to_invoice(invoice)
    return documents.pdf_response(invoice, data, as_attachment=False)


def preview_pdf(request, model_admin, invoice_id: int):
    """A draft as it would print, watermarked DRAFT and without a number; never stored. An
    issued document is never re-rendered: it goes to the stored PDF."""
    require(request, "invoices.view_invoice")
    invoice = _invoice(invoice_id)
    if not invoice.is_draft:
        return redirect(reverse("admin:invoices_invoice_pdf", args=[invoice.pk]))
    return documents.pdf_response(invoice, render_invoice_pdf(invoice), as_attachment=False)
