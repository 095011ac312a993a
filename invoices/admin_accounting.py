"""Finance's accounting pages: the accounting export (a range, a layout, a preview of what it
holds and of what earlier exports held, then the file, recorded), the exports made so far,
the statement of account of a customer (downloaded or e-mailed), and the finance settings
(reminders' schedule, accounting codes)."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from solo.admin import SingletonModelAdmin

from billing_portal.admin_mixins import (
    PagesAdminMixin,
    ReadOnlyAdminMixin,
    admin_page,
    person_column,
    require,
)
from customers.models import Customer

from .exports import build_export, exported_before
from .models import AccountingExport, FinanceSettings, StatementSent
from .services.exports import export_record
from .services.statements import statement_send
from .statements import render_statement_pdf, statement_of

EXPORT = "invoices.add_accountingexport"
STATEMENT = "invoices.add_statementsent"
MAX_DAYS = 366
PREVIEW_ROWS = 8


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class RangeForm(forms.Form):
    start = _date_field("From")
    end = _date_field("To")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The range ends before it starts.")
            if end > timezone.now().date():
                raise forms.ValidationError("The range cannot end after today.")
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(f"At most {MAX_DAYS} days at a time.")
        return data


class ExportForm(RangeForm):
    layout = forms.ChoiceField(choices=AccountingExport.Layout.choices)
    again = forms.BooleanField(
        label="Include what was exported before",
        required=False,
        help_text="Off: documents and payments an earlier export of this layout held are left "
        "out, so that nothing is imported twice.",
    )
    field_order = ["layout", "start", "end", "again"]


def _last_month_range() -> dict:
    first = timezone.now().date().replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=1)
    return {"start": last_month, "end": first - timedelta(days=1)}


def export_page(request, model_admin):
    """GET: the form, and with a range the preview; POST: the file, recorded."""
    require(request, EXPORT)
    data = request.POST if request.method == "POST" else request.GET
    form = ExportForm(data if "layout" in data else None, initial=_last_month_range())
    context = {"form": form}
    if form.is_valid():
        layout, start, end = (form.cleaned_data[k] for k in ("layout", "start", "end"))
        again = form.cleaned_data["again"]
        if request.method == "POST":
            export = export_record(
                layout=layout,
                start=start,
                end=end,
                actor=request.user,
                leave_out_exported=not again,
            )
            return redirect(reverse("admin:invoices_accountingexport_download", args=[export.pk]))
        overlap = exported_before(layout, start, end)
        skip = (
            {}
            if again
            else {"skip_documents": overlap.documents, "skip_payments": overlap.payments}
        )
        built = build_export(layout, start, end, **skip)
        context.update(
            built=built,
            overlap=overlap,
            again=again,
            earlier=sorted(
                {*overlap.documents.values(), *overlap.payments.values()},
                key=lambda e: e.created_at,
            ),
            preview=built.rows[:PREVIEW_ROWS],
        )
    return admin_page(
        request,
        model_admin,
        "admin/invoices/accountingexport/export.html",
        "Accounting export",
        **context,
    )


def download(request, model_admin, export_id: int):
    require(request, "invoices.view_accountingexport")
    export = get_object_or_404(AccountingExport, pk=export_id)
    response = HttpResponse(export.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@admin.register(AccountingExport)
class AccountingExportAdmin(ReadOnlyAdminMixin, PagesAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "layout", "start", "end", "rows", "creator", "file"]
    list_filter = ["layout"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    fields = ["layout", "start", "end", "rows", "creator", "created_at", "file", "sha256"]
    readonly_fields = fields
    pages = {"new/": export_page, "<int:export_id>/download/": download}

    creator = person_column("created_by", "Made by")

    @admin.display(description="File")
    def file(self, obj):
        url = reverse("admin:invoices_accountingexport_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.filename)

    def changelist_view(self, request, extra_context=None):
        extra = {"export_url": reverse("admin:invoices_accountingexport_new")}
        if not request.user.has_perm(EXPORT):
            extra = {}
        return super().changelist_view(request, {**(extra_context or {}), **extra})


class StatementForm(RangeForm):
    pass


def statement_page(request, model_admin, customer_id: int):
    """A customer's statement of account: the form (the last 12 months by default), the PDF
    (`?format=pdf`) and, posted, the e-mail to the billing address."""
    require(request, STATEMENT)
    customer = get_object_or_404(Customer, pk=customer_id)
    today = timezone.now().date()
    default = {"start": (today.replace(day=1) - timedelta(days=335)).replace(day=1), "end": today}
    data = request.POST if request.method == "POST" else request.GET
    form = StatementForm(data if "start" in data else None, initial=default)
    bounds = (form.cleaned_data["start"], form.cleaned_data["end"]) if form.is_valid() else None
    if bounds is None and not form.is_bound:
        bounds = (default["start"], default["end"])
    if bounds and request.method == "POST":
        try:
            sent = statement_send(
                customer=customer, start=bounds[0], end=bounds[1], actor=request.user
            )
        except ValueError as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
        else:
            model_admin.message_user(
                request, f"Statement sent to {sent.sent_to}.", messages.SUCCESS
            )
        return redirect(reverse("admin:customers_customer_change", args=[customer.pk]))
    statement = statement_of(customer, *bounds) if bounds else None
    if statement and request.GET.get("format") == "pdf":
        response = HttpResponse(render_statement_pdf(statement), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{statement.filename}"'
        response["Cache-Control"] = "private, no-store"
        return response
    return admin_page(
        request,
        model_admin,
        "admin/invoices/statementsent/statement.html",
        f"Statement of account: {customer}",
        form=form,
        customer=customer,
        statement=statement,
        sent=StatementSent.objects.filter(customer=customer).select_related("sent_by")[:5],
    )


@admin.register(StatementSent)
class StatementSentAdmin(ReadOnlyAdminMixin, PagesAdminMixin, admin.ModelAdmin):
    list_display = ["sent_at", "customer", "start", "end", "sent_to", "sender"]
    list_select_related = ["customer", "sent_by"]
    search_fields = ["customer__name", "sent_to"]
    date_hierarchy = "sent_at"
    pages = {"customer/<int:customer_id>/statement/": statement_page}

    sender = person_column("sent_by", "Sent by")


@admin.register(FinanceSettings)
class FinanceSettingsAdmin(SingletonModelAdmin):
    fieldsets = [
        (
            "Overdue reminders",
            {
                "fields": [
                    "reminders_enabled",
                    "reminder_after_days",
                    "reminder_every_days",
                    "reminder_limit",
                ],
                "description": "Sent daily at the time of the 'E-mail overdue reminders' "
                "periodic task, one e-mail per customer listing its overdue invoices, with its "
                "statement of account.",
            },
        ),
        (
            "Xero export",
            {
                "fields": [
                    "xero_account_code",
                    "xero_item_code",
                    "xero_tax_type",
                    "xero_tax_type_zero",
                    "xero_tax_type_reverse_charge",
                    "xero_date_format",
                ]
            },
        ),
        (
            "QuickBooks Online export",
            {
                "fields": [
                    "quickbooks_item",
                    "quickbooks_tax_code",
                    "quickbooks_tax_code_zero",
                    "quickbooks_tax_code_reverse_charge",
                    "quickbooks_date_format",
                ]
            },
        ),
    ]
