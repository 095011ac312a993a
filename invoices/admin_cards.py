"""The price plan's inlines: its hourly tiers, its rate card (entries in the order they
match; each entry's tiers on the entry's own page, registered by `admin`) and its versions."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from .forms import PriceTierForm, PriceTierFormSet, RateCardStepFormSet
from .models import PlanVersion, PriceTier, RateCardEntry, RateCardStep


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    form = PriceTierForm
    formset = PriceTierFormSet
    fields = ["up_to_hours", "rate_per_hour"]
    extra = 0


ENTRY_FIELDS = [
    "position",
    "name",
    "endpoint",
    "method",
    "model",
    "unit",
    "ladder",
    "unit_price",
    "package_size",
]


class RateCardEntryInline(admin.TabularInline):
    model = RateCardEntry
    fields = [*ENTRY_FIELDS, "tiers"]
    readonly_fields = ["tiers"]
    extra = 0
    verbose_name = "rate card entry"
    verbose_name_plural = "Rate card (rate-card plans: the first entry that matches prices)"

    @admin.display(description="Tiers")
    def tiers(self, obj):
        if obj is None or obj.pk is None:
            return "Save first"
        count = len(obj.steps.all())
        label = f"{count} tiers" if count else "Set tiers"
        url = reverse("admin:invoices_ratecardentry_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, label)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("steps")


class RateCardStepInline(admin.TabularInline):
    model = RateCardStep
    formset = RateCardStepFormSet
    fields = ["up_to", "unit_price", "flat"]
    extra = 0


@admin.register(RateCardEntry)
class RateCardEntryAdmin(admin.ModelAdmin):
    list_display = ["plan", "position", "name", "endpoint", "method", "model", "unit", "ladder"]
    list_filter = ["plan", "unit", "ladder"]
    search_fields = ["name", "model", "plan__name"]
    fields = ["plan", *ENTRY_FIELDS, "updated_at"]
    readonly_fields = ["updated_at"]
    inlines = [RateCardStepInline]


class PlanVersionInline(admin.TabularInline):
    """The forms of the plan's pricing that billed months: read only, written at approval."""

    model = PlanVersion
    fields = ["number", "effective_from", "created_at", "invoices_issued", "pricing"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = (
        "Versions (each form of this plan that billed a month; an edit applies to the months "
        "not billed yet, and a billed month is re-priced with its own version)"
    )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(issued=Count("invoices"))

    @admin.display(description="invoices")
    def invoices_issued(self, version):
        return version.issued

    @admin.display(description="pricing")
    def pricing(self, version):
        data = version.snapshot
        parts = [f"{data.get('rate_per_hour', '0')}/h"] if data.get("mode") == "hourly" else []
        parts += [f"{len(data.get('tiers', []))} tiers"] if data.get("tiers") else []
        parts += [f"{len(data.get('card', []))} card entries"] if data.get("card") else []
        parts += [
            f"{name} {data[key]}"
            for key, name in (("monthly_minimum", "minimum"), ("platform_fee", "fee"))
            if data.get(key) not in (None, "0", "0.00")
        ]
        return f"{data.get('mode', '')}: {', '.join(parts)}" if parts else data.get("mode", "")
