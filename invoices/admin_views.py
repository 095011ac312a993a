"""Finance's admin pages: void, credit note, mark paid, manual lines (one invoice each),
generate drafts, CSV export (a period), and the PDFs. The bulk actions are in `admin_actions`.

Each page calls one service; the services' domain errors are written for finance staff, so
their text is shown as it is. Views wrapped in `admin_site.admin_view` only check `is_staff`,
so each one checks its permission itself. Drafts are prepared (generated, refreshed, given
manual lines) by whoever may approve them.
"""

import csv
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
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
from .stamps import stamped_copy

APPROVE = "invoices.approve_invoice"


def _page(request, model_admin, template: str, title: str, **context) -> TemplateResponse:
    return admin_page(request, model_admin, f"admin/invoices/{template}", title, **context)


def _invoice(invoice_id: int) -> Invoice:
    return get_object_or_404(Invoice.objects.select_related("customer"), pk=invoice_id)


def _to_invoice(invoice: Invoice):
    return redirect(reverse("admin:invoices_invoice_change", args=[invoice.pk]))


# --- One invoice ----------------------------------------------------------------------------


def invoice_form_page(
    request,
    model_admin,
    invoice_id: int,
    form_class: type[forms.Form],
    *,
    permission: str,
    template: str,
    title: str,
    run: Callable[[Invoice, dict], Any],
    success: Callable[[Invoice, Any], str],
    redirect_to: Callable[[Invoice, Any], Invoice] = lambda invoice, result: invoice,
    error_field: Callable[[dict], str | None] = lambda data: None,
    context: Callable[[Invoice], dict] = lambda invoice: {},
    initial: Callable[[Invoice], dict] = lambda invoice: {},
) -> HttpResponse:
    """A form page about one invoice: check `permission`, bind `form_class`; on a valid POST
    `run(invoice, cleaned_data)` (one service call), then report `success(invoice, result)`
    and go to the change page of `redirect_to(invoice, result)`. A domain error becomes a
    form error (on `error_field(cleaned_data)`, the whole form by default) and the form is
    shown again. `title` is formatted with `invoice`; `context(invoice)` adds to the page,
    `initial(invoice)` fills the empty form."""
    require(request, permission)
    invoice = _invoice(invoice_id)
    form = form_class(request.POST or None, initial=initial(invoice))
    if request.method == "POST" and form.is_valid():
        try:
            result = run(invoice, form.cleaned_data)
        except InvoicesError as exc:
            form.add_error(error_field(form.cleaned_data), str(exc))
        else:
            model_admin.message_user(request, success(invoice, result), messages.SUCCESS)
            return _to_invoice(redirect_to(invoice, result))
    return _page(
        request,
        model_admin,
        template,
        title.format(invoice=invoice),
        form=form,
        invoice=invoice,
        **context(invoice),
    )


@never_cache
def void_invoice(request, model_admin, invoice_id: int):
    """Finance: void an issued invoice, with a reason."""
    return invoice_form_page(
        request,
        model_admin,
        invoice_id,
        VoidForm,
        permission="invoices.void_invoice",
        template="invoice/void.html",
        title="Void {invoice}",
        run=lambda invoice, data: services.invoice_void(
            invoice=invoice, actor=request.user, reason=data["reason"]
        ),
        success=lambda invoice, _: f"Voided {invoice}.",
    )


@never_cache
def credit_invoice(request, model_admin, invoice_id: int):
    """Finance: issue a credit note for all that is left of an invoice, or a net amount; then
    go to the credit note."""
    return invoice_form_page(
        request,
        model_admin,
        invoice_id,
        CreditNoteForm,
        permission="invoices.credit_invoice",
        template="invoice/credit.html",
        title="Credit note for {invoice}",
        run=lambda invoice, data: services.credit_note_create(
            invoice=invoice,
            actor=request.user,
            reason=data["reason"].strip(),
            amount=data["amount"],
        ),
        success=lambda _, note: (
            f"Issued credit note {note.number} for {-note.total} {note.currency}."
        ),
        redirect_to=lambda _, note: note,
        # A refused partial amount is the amount's error; a refused full credit the form's.
        error_field=lambda data: "amount" if data["amount"] is not None else None,
        context=lambda invoice: {"left": services.credit_left(invoice)[0]},
    )


@never_cache
def mark_paid(request, model_admin, invoice_id: int):
    """Finance: record an issued invoice's payment."""
    return invoice_form_page(
        request,
        model_admin,
        invoice_id,
        MarkPaidForm,
        permission="invoices.mark_paid_invoice",
        template="invoice/mark_paid.html",
        title="Mark {invoice} paid",
        run=lambda invoice, data: services.invoice_mark_paid(
            invoice=invoice,
            actor=request.user,
            paid_on=data["paid_on"],
            reference=data["reference"].strip(),
        ),
        success=lambda invoice, _: f"Marked {invoice} paid.",
    )


@never_cache
def add_manual_line(request, model_admin, invoice_id: int):
    """Finance: add a manual line to a draft (the draft is then recomputed)."""
    return invoice_form_page(
        request,
        model_admin,
        invoice_id,
        ManualLineForm,
        permission=APPROVE,
        template="invoice/manual_line.html",
        title="Add a manual line to {invoice}",
        run=lambda invoice, data: services.invoice_add_manual_line(
            invoice=invoice, actor=request.user, **data
        ),
        success=lambda invoice, line: (
            f"Added {line.description!r} ({line.amount} {invoice.currency})."
        ),
        context=lambda _: {"four_eyes": settings.BILLING_FOUR_EYES},
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
        for warning in _generation_warnings(report):
            model_admin.message_user(request, warning, messages.WARNING)
        changelist = reverse("admin:invoices_invoice_changelist")
        return redirect(f"{changelist}?{urlencode({'period': f'{period:%Y-%m}'})}")
    return _page(
        request, model_admin, "invoice/generate.html", "Generate draft invoices", form=form
    )


def _generation_warnings(report: services.GenerateReport) -> list[str]:
    """What in a generation blocks approval: drafts whose customer has no billing terms,
    customers whose plan is invalid (with why), a month not over yet."""
    warnings = []
    if report.no_terms:
        warnings.append(
            f"{report.no_terms} draft(s) for customers without billing terms: they cannot "
            "be approved until the customer has terms (tax rate, payment terms)."
        )
    if report.invalid_plan:
        warnings.append(
            f"{report.invalid_plan} customer(s) got no draft: their price plan is invalid. "
            f"{report.invalid_plans_text()}"
        )
    if report.period >= timezone.now().date().replace(day=1):
        warnings.append(
            f"{report.period:%B %Y} is not over yet: its drafts are a preview and cannot be "
            "approved before the month ends."
        )
    return warnings


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


def customer_copy(request, model_admin, invoice_id: int):
    """The issued document as the customer gets it now: the stored PDF with the stamp of its
    state (void, paid, credited, partly paid), or the original when none applies."""
    require(request, "invoices.view_invoice")
    invoice = _invoice(invoice_id)
    if invoice.is_draft:
        return redirect(reverse("admin:invoices_invoice_preview", args=[invoice.pk]))
    try:
        data = stamped_copy(invoice, documents.invoice_pdf_bytes(invoice))
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
