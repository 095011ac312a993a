"""Finance's admin of prices and terms: price plans (hourly, cost plus, rate card) with their
tiers, rate card and versions; customers' plans over time; billing terms. Edited here, each
form bounding every number to what its column holds (`invoices.forms`)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from billing_portal.admin_mixins import PagesAdminMixin

from . import admin_plan_changes
from .admin_cards import PriceTierInline, RateCardEntryInline, versions_table
from .forms import BillingTermsForm, CustomerPlanForm, PricePlanForm
from .models import BillingTerms, CustomerPlan, PricePlan
from .services.plans import plan_problems_of


@admin.register(PricePlan)
class PricePlanAdmin(PagesAdminMixin, admin.ModelAdmin):
    form = PricePlanForm
    pages = {
        "<int:plan_id>/schedule-change/": admin_plan_changes.schedule_change,
        "<int:plan_id>/cancel-change/": admin_plan_changes.cancel_change,
    }
    list_display = [
        "name",
        "mode",
        "currency",
        "change_listed",
        "rate_per_hour",
        "included_hours",
        "monthly_minimum",
        "platform_fee",
        "problems",
        "updated_at",
    ]
    list_filter = ["mode", "currency"]
    search_fields = ["name"]
    readonly_fields = ["updated_at", "problems", "versions", "price_change"]
    inlines = [PriceTierInline, RateCardEntryInline]
    fieldsets = [
        (None, {"fields": ["name", "mode", "currency", "billed_quantity", "price_change"]}),
        (
            "Hourly rates",
            {
                "fields": [
                    "rate_per_hour",
                    "rate_sync",
                    "rate_async",
                    "rate_streaming",
                    "included_hours",
                ],
                "description": "With tiers (below), the tiers price the hours after the "
                "included ones and the method rates are not used.",
            },
        ),
        (
            "Cost plus",
            {
                "fields": ["markup_percent", "minimum_per_minute", "show_markup"],
                "description": "Each key's line items at Deepgram's own cost, converted at "
                "the month's exchange rate, times (1 + markup).",
            },
        ),
        (
            "Allowances (rate cards and cost plus)",
            {"fields": ["included_characters", "included_agent_hours", "included_tokens"]},
        ),
        ("Monthly", {"fields": ["monthly_minimum", "platform_fee", "platform_fee_label"]}),
        (
            "Record",
            {
                "fields": ["problems", "updated_at", "versions"],
                "description": "A change makes the drafts this plan priced stale: refresh "
                "them before approving. Months already billed keep the version they were "
                "billed by (a late change re-prices them with it).",
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("replaced_by", "replaces")
            .prefetch_related("tiers", "card_entries__steps")
        )

    @admin.display(description="Price change")
    def change_listed(self, obj):
        """The list's short form: when the plan's customers change to another plan, or when
        this one starts as a change."""
        replaces = getattr(obj, "replaces", None)
        if obj.replaced_by_id:
            return f"changes {obj.replaced_from:%-d %b %Y}"
        return f"starts {replaces.replaced_from:%-d %b %Y}" if replaces else "-"

    @admin.display(description="Price change")
    def price_change(self, obj):
        """The change scheduled for the plan's customers, or the one this plan is; on the
        plan's page, how to schedule or cancel one."""
        if obj is None or obj.pk is None:
            return "-"
        replaces = getattr(obj, "replaces", None)
        parts = []
        if replaces is not None:
            parts.append(
                format_html(
                    'Prices the customers of <a href="{}">{}</a> from {}.',
                    reverse("admin:invoices_priceplan_change", args=[replaces.pk]),
                    replaces.name,
                    f"{replaces.replaced_from:%-d %B %Y}",
                )
            )
        if obj.replaced_by_id:
            parts.append(
                format_html(
                    'From {} its customers are priced by <a href="{}">{}</a>.',
                    f"{obj.replaced_from:%-d %B %Y}",
                    reverse("admin:invoices_priceplan_change", args=[obj.replaced_by_id]),
                    obj.replaced_by.name,
                )
            )
        return format_html(" ".join(["{}"] * len(parts)), *parts) if parts else "None scheduled."

    @admin.display(description="Versions")
    def versions(self, obj):
        return versions_table(obj)

    @admin.display(description="Problems")
    def problems(self, obj):
        """What makes a plan invalid (one made or left so outside this form: a script, an
        older release): its drafts are blocked until it is corrected."""
        if obj is None or obj.pk is None:
            return "-"
        problems = plan_problems_of(obj)
        return " ".join(problems) if problems else "None"


@admin.register(CustomerPlan)
class CustomerPlanAdmin(admin.ModelAdmin):
    form = CustomerPlanForm
    list_display = ["customer", "plan", "effective_from"]
    list_filter = ["plan"]
    list_select_related = ["customer", "plan"]
    search_fields = ["customer__name", "plan__name"]
    autocomplete_fields = ["customer"]
    date_hierarchy = "effective_from"


@admin.register(BillingTerms)
class BillingTermsAdmin(admin.ModelAdmin):
    form = BillingTermsForm
    list_display = ["customer", "tax_rate", "reverse_charge", "payment_terms_days"]
    list_filter = ["reverse_charge"]
    list_select_related = ["customer"]
    search_fields = ["customer__name"]
    autocomplete_fields = ["customer"]
