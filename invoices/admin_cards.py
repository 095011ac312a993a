"""The price plan's inlines: its hourly tiers, its rate card (entries in the order they
match; each entry's tiers on the entry's own page, registered by `admin`), and the table of
its versions."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

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


def versions_table(plan) -> str:
    """The forms of the plan's pricing that billed months (written at approval, read only):
    number, the first month it billed, its invoices and its rates."""
    if plan is None or plan.pk is None:
        return "-"
    versions = PlanVersion.objects.filter(plan=plan).annotate(issued=Count("invoices"))
    if not versions:
        return "None yet: the first invoice issued under this plan records version 1."
    return format_html(
        '<table class="plan-versions"><tr><th>Version</th><th>From</th><th>Invoices</th>'
        "<th>Pricing</th></tr>{}</table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (v.number, f"{v.effective_from:%B %Y}", v.issued, _pricing_text(v.snapshot))
                for v in versions
            ),
        ),
    )


def _pricing_text(data: dict) -> str:
    parts = [f"{data.get('rate_per_hour', '0')}/h"] if data.get("mode") == "hourly" else []
    parts += [f"{len(data['tiers'])} tiers"] if data.get("tiers") else []
    parts += [f"{len(data['card'])} card entries"] if data.get("card") else []
    if data.get("mode") == "cost_plus":
        parts.append(f"markup {data['cost_plus']['markup_percent']} %")
    parts += [
        f"{name} {data[key]}"
        for key, name in (("monthly_minimum", "minimum"), ("platform_fee", "fee"))
        if data.get(key) not in (None, "0", "0.00")
    ]
    return f"{data.get('mode', '')}: {', '.join(parts)}" if parts else data.get("mode", "")
