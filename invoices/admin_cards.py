"""The price plan's inlines: its hourly tiers, and its rate card (entries in the order they
match); each entry's tiers on the entry's own page (registered by `admin`)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .forms import PriceTierForm, PriceTierFormSet, RateCardStepFormSet
from .models import PriceTier, RateCardEntry, RateCardStep


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
