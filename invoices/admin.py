"""Finance's admin of invoices (read-only here; every change goes through a service: the
actions in `admin_actions`, the pages in `admin_views`). Prices and terms are `admin_plans`."""

from django.contrib import admin
from django.db.models import QuerySet
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from billing_portal.admin_mixins import PagesAdminMixin, ReadOnlyAdminMixin, person, person_column

from . import (
    admin_accounting,  # noqa: F401 - registers the exports', statements' and settings' admin
    admin_actions,
    admin_draft,
    admin_fx,  # noqa: F401 - registers the exchange rates' admin
    admin_margin,
    admin_payments,
    admin_plans,  # noqa: F401 - registers the plans', customers' plans' and terms' admin
    admin_views,
)
from .admin_filters import (
    CurrencyFilter,
    CustomerFilter,
    PaymentStateFilter,
    PeriodFilter,
    with_balances,
    with_changes_since_computed,
)
from .models import (
    Invoice,
    InvoiceEvent,
    InvoiceLine,
)

# --- Invoices -------------------------------------------------------------------------------


class InvoiceLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InvoiceLine
    fk_name = "invoice"
    fields = ["kind", "description", "key", "method", "quantity", "unit", "unit_price"]
    fields += ["amount", "added"]
    readonly_fields = fields
    verbose_name_plural = "Lines"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("api_key", "added_by")
            .order_by("position", "pk")
        )

    @admin.display(description="Key")
    def key(self, obj):
        return obj.api_key.key_id if obj.api_key else "-"

    @admin.display(description="Added by")
    def added(self, obj):
        return person(obj.added_by) if obj.kind == InvoiceLine.Kind.MANUAL else ""


class InvoiceEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InvoiceEvent
    fields = ["at", "action", "who", "detail"]
    readonly_fields = fields
    verbose_name_plural = "Audit timeline"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor").order_by("at", "pk")

    who = person_column("actor", "Who", nobody="system")


DRAFT_DATES = ["computed_at"]
DRAFT_APPROVAL = ("Approval", {"fields": ["approval_blockers", "margin"]})
ISSUE_DATES = ["issued_on", "due_on", "approved_at", "approver"]
PAID_DATES = ["paid_on", "payment_reference", "paid_marker"]
PAYMENTS = ("Payments", {"fields": ["payment_state", "payments"]})
REVERSE_PAYMENT = "<int:invoice_id>/payments/<int:payment_id>/reverse-payment/"
VOID_DATES = ["voided_at", "voider", "void_reason"]


HEAD = ["number_label", "customer", "kind_text", "status", "period_label", "related"]
ADJUSTS_ONLY = ": late adjustments only, to months invoiced in its currency (the plan's changed)"
INVOICE_FIELDSETS = [
    (None, {"fields": HEAD}),
    ("Amounts", {"fields": ["currency", "subtotal", "tax_rate", "tax", "total", "tax_note"]}),
    ("Pricing steps", {"fields": ["pricing_steps", "plan_version"]}),
    ("Dates and people", {"fields": [*DRAFT_DATES, *ISSUE_DATES, *PAID_DATES, *VOID_DATES]}),
    ("Seller and buyer, as issued", {"fields": ["seller_text", "buyer_text"]}),
    ("Document", {"fields": ["pdf_status", "email_status"]}),
]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, PagesAdminMixin, admin.ModelAdmin):
    """Read-only: drafts change only through services (refresh, manual lines), issued
    invoices never. Finance acts through the actions and the object tools."""

    list_display = [
        "number_label",
        "customer",
        "period_label",
        "kind",
        "status_label",
        "total_label",
        "payment_state",
        "issued_on",
        "due_on",
    ]
    list_display_links = ["number_label"]
    list_filter = [
        "status",
        PaymentStateFilter,
        "kind",
        PeriodFilter,
        CurrencyFilter,
        CustomerFilter,
    ]
    list_select_related = ["customer"]
    # Counting every invoice again for "N total" costs a second full count on each page.
    show_full_result_count = False
    search_fields = ["number", "customer__name"]
    inlines = [InvoiceLineInline, InvoiceEventInline]
    actions = ["approve_selected", "refresh_selected", "resend_email_selected"]
    pages = {
        "generate/": admin_views.generate_drafts,
        "export/": admin_views.export_csv,
        "margin/": admin_margin.margin_page,
        "unpriced/": admin_margin.unpriced_page,
        "<int:invoice_id>/approve/": admin_draft.approve_draft,
        "<int:invoice_id>/refresh/": admin_draft.refresh_draft,
        "<int:invoice_id>/void/": admin_views.void_invoice,
        "<int:invoice_id>/credit/": admin_views.credit_invoice,
        "<int:invoice_id>/mark-paid/": admin_views.mark_paid,
        "<int:invoice_id>/record-payment/": admin_payments.record_payment,
        REVERSE_PAYMENT: admin_payments.reverse_payment,
        "<int:invoice_id>/add-line/": admin_views.add_manual_line,
        "<int:invoice_id>/pdf/": admin_views.stored_pdf,
        "<int:invoice_id>/customer-copy/": admin_views.customer_copy,
        "<int:invoice_id>/preview/": admin_views.preview_pdf,
    }
    fieldsets = INVOICE_FIELDSETS
    readonly_fields = [
        f
        for _, options in [*INVOICE_FIELDSETS, DRAFT_APPROVAL, PAYMENTS]
        for f in options["fields"]
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        if obj.is_draft:  # no dates, people or snapshots yet; a preview instead of a PDF
            return [
                DRAFT_APPROVAL,
                *self.fieldsets[:3],
                ("Dates and people", {"fields": DRAFT_DATES}),
                ("Document", {"fields": ["pdf_status"]}),
            ]
        dates = ISSUE_DATES + {"paid": PAID_DATES, "void": VOID_DATES}.get(obj.status, [])
        return [
            *self.fieldsets[:2],
            *[PAYMENTS] * (obj.kind == Invoice.Kind.INVOICE),
            self.fieldsets[2],
            ("Dates and people", {"fields": dates}),
            *self.fieldsets[4:],
        ]

    def get_object(self, request, object_id, from_field=None):
        # The page shows who approved, voided and marked it paid, and what it credits.
        queryset = self.get_queryset(request).select_related(
            "customer",
            "credits",
            "approved_by",
            "voided_by",
            "paid_marked_by",
            "plan_version__plan",
        )
        try:
            invoice = queryset.get(pk=int(object_id))
        except (Invoice.DoesNotExist, ValueError):
            return None
        return admin_draft.with_blockers(invoice, request.user)  # what refuses its approval

    # --- Columns and fields

    @admin.display(description="Number", ordering="number")
    def number_label(self, obj):
        return obj.number or "Draft"

    @admin.display(description="Period", ordering="period")
    def period_label(self, obj):
        return f"{obj.period:%Y-%m}"

    @admin.display(description="Total", ordering="total")
    def total_label(self, obj):
        return f"{obj.total} {obj.currency}"

    @admin.display(description="Payment")
    def payment_state(self, obj):
        return admin_payments.state_badge(obj)

    @admin.display(description="Payments")
    def payments(self, obj):
        return admin_payments.payments_table(obj)

    def get_queryset(self, request):  # the list's balance and staleness, by the database
        return with_changes_since_computed(with_balances(super().get_queryset(request)))

    @admin.display(description="Status", ordering="status")
    def status_label(self, obj):
        """A draft says when it is stale: its usage, cost or plan changed since computed (a
        refresh follows every sync; Refresh on its page does it now)."""
        if not obj.is_draft or not (obj.usage_changed or obj.plan_changed):
            return obj.get_status_display()
        why = "usage changed" if obj.usage_changed else "plan changed"
        return format_html(
            'Draft <span class="stale" style="color:#b45309;font-weight:600">stale: {}</span>', why
        )

    @admin.display(description="Credits / credited by")
    def related(self, obj):
        if obj.credits_id:
            return format_html("Credits {}", _invoice_link(obj.credits))
        notes = list(obj.credit_notes.order_by("number"))
        return format_html_join(", ", "{}", ((_invoice_link(n),) for n in notes)) or "-"

    @admin.display(description="How the total was reached")
    def pricing_steps(self, obj):
        if not obj.pricing_notes:
            return "-"
        return format_html(
            "<ol>{}</ol>", format_html_join("", "<li>{}</li>", ((n,) for n in obj.pricing_notes))
        )

    @admin.display(description="Margin (finance only)")
    def margin(self, obj):
        return admin_margin.draft_margin(obj)

    @admin.display(description="What blocks approval")
    def approval_blockers(self, obj):
        return admin_draft.blockers_html(obj)

    @admin.display(description="Kind")
    def kind_text(self, obj):
        return obj.get_kind_display() + ADJUSTS_ONLY * obj.adjusts_only

    approver = person_column("approved_by", "Approved by")
    paid_marker = person_column("paid_marked_by", "Marked paid by")
    voider = person_column("voided_by", "Voided by")

    @admin.display(description="Seller")
    def seller_text(self, obj):
        return _snapshot(obj.seller)

    @admin.display(description="Buyer")
    def buyer_text(self, obj):
        return _snapshot(obj.buyer)

    @admin.display(description="PDF")
    def pdf_status(self, obj):
        if obj.is_draft:
            url = reverse("admin:invoices_invoice_preview", args=[obj.pk])
            return format_html(
                '<a href="{}" target="_blank">Preview as PDF</a> (watermarked DRAFT, no '
                "number; the PDF is rendered and stored once, on approval)",
                url,
            )
        url = reverse("admin:invoices_invoice_pdf", args=[obj.pk])
        if not obj.pdf_sha256:
            return format_html(
                'Not stored yet: the worker renders it after approval. <a href="{}" '
                'target="_blank">Open the PDF</a> renders and stores it now, once.',
                url,
            )
        copy = reverse("admin:invoices_invoice_customer_copy", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank">The original (stored, as issued)</a> · <a href="{}" '
            'target="_blank">The customer\'s copy (stamped with its state)</a><br>'
            "Rendered {} with template {}; SHA-256 <code>{}</code>",
            url,
            copy,
            f"{obj.pdf_rendered_at:%Y-%m-%d %H:%M} UTC",
            obj.pdf_template_version,
            obj.pdf_sha256,
        )

    @admin.display(description="E-mail")
    def email_status(self, obj):
        if obj.emailed_at:
            return f"Sent to {obj.emailed_to} at {obj.emailed_at:%Y-%m-%d %H:%M} UTC."
        if obj.email_attempts:
            return format_html(
                "Not sent: {} attempt{} failed, last error: <code>{}</code>",
                obj.email_attempts,
                "" if obj.email_attempts == 1 else "s",
                obj.email_error,
            )
        return "Not sent yet: it goes out after the PDF is stored."

    # --- Actions

    @admin.action(description="Approve (issue) selected drafts", permissions=["approve"])
    def approve_selected(self, request, queryset: QuerySet):
        return admin_actions.approve_drafts(self, request, queryset)

    @admin.action(description="Refresh selected drafts", permissions=["approve"])
    def refresh_selected(self, request, queryset: QuerySet):
        return admin_actions.refresh_drafts(self, request, queryset)

    @admin.action(description="Send the e-mail of selected invoices again", permissions=["approve"])
    def resend_email_selected(self, request, queryset: QuerySet):
        return admin_actions.resend_emails(self, request, queryset)

    def has_approve_permission(self, request):
        return request.user.has_perm("invoices.approve_invoice")

    def has_void_permission(self, request):
        return request.user.has_perm("invoices.void_invoice")

    def has_credit_permission(self, request):
        return request.user.has_perm("invoices.credit_invoice")

    def has_mark_paid_permission(self, request):
        return request.user.has_perm("invoices.mark_paid_invoice")


def _invoice_link(invoice: Invoice):
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])
    return format_html('<a href="{}">{}</a>', url, invoice.number or "Draft")


def _snapshot(details: dict):
    if not details:
        return "-"
    rows = (
        (key.replace("_", " ").capitalize(), linebreaksbr(value))
        for key, value in details.items()
        if value
    )
    return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))


@admin.register(InvoiceEvent)
class InvoiceEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "invoice", "action", "who", "detail"]
    list_filter = ["action"]
    list_select_related = ["invoice__customer", "actor"]
    search_fields = ["invoice__number", "invoice__customer__name", "detail"]
    date_hierarchy = "at"

    who = person_column("actor", "Who", nobody="system", ordering="actor__username")
