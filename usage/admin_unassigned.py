"""The admin of usage nobody is billed for: unassigned accessors by month (usage and
Deepgram's cost), their rows, their assignment to a customer, and the assignment events."""

from datetime import date
from functools import partial

from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html

from . import selectors
from .admin import DIMENSIONS, PeriodFilter, ReadOnlyAdmin, _six, unit_name
from .admin_assign import assign_view
from .models import UNITS, AccessorEvent, UnassignedAccessor, UnassignedUsage

# --- Usage nobody is billed for -------------------------------------------------------------


class MonthFilter(admin.SimpleListFilter):
    """The month whose usage and cost are summed (all time when none is chosen)."""

    title = "month"
    parameter_name = "month"

    def lookups(self, request, model_admin):
        return [(f"{m:%Y-%m}", f"{m:%B %Y}") for m in selectors.unassigned_months()]

    def queryset(self, request, queryset):
        return queryset  # the month scopes the sums: `UnassignedAdmin.get_queryset`


def _month_asked(request) -> date | None:
    try:
        return date.fromisoformat(request.GET.get("month", "") + "-01")
    except ValueError:
        return None


@admin.register(UnassignedAccessor)
class UnassignedAdmin(ReadOnlyAdmin):
    """Unassigned usage by month: accessors of a project that are no customer's key, with the
    usage and Deepgram's cost of the month chosen (all time when none). Finance and Support."""

    list_display = [
        "accessor",
        "project",
        "usage",
        "dollars",
        "assigned_key",
        "assigned_from",
        "assign",
    ]
    list_filter = [MonthFilter, "project"]
    list_select_related = ["project", "assigned_key"]
    search_fields = ["accessor"]

    def get_queryset(self, request):
        return selectors.unassigned_by_month(super().get_queryset(request), _month_asked(request))

    @admin.display(description="Usage", ordering="total_hours")
    def usage(self, obj):
        units = [(unit_name(unit), getattr(obj, unit)) for unit in UNITS]
        return ", ".join(f"{_six(value)} {name}" for name, value in units if value) or "-"

    @admin.display(description="Deepgram cost (USD)", ordering="dollars")
    def dollars(self, obj):
        return "-" if obj.dollars is None else _six(obj.dollars)

    def get_urls(self):
        view = self.admin_site.admin_view(partial(assign_view, model_admin=self))
        return [
            path("<int:accessor_id>/assign/", view, name="usage_unassignedaccessor_assign"),
            *super().get_urls(),
        ]

    @admin.display(description="Assign")
    def assign(self, obj):
        if obj.assigned_key_id:
            return "-"
        url = reverse("admin:usage_unassignedaccessor_assign", args=[obj.pk])
        return format_html('<a href="{}">Assign to a customer</a>', url)

    def changelist_view(self, request, extra_context=None):
        month = _month_asked(request)
        title = f"Unassigned usage, {month:%B %Y}" if month else "Unassigned usage, all months"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})


@admin.register(UnassignedUsage)
class UnassignedUsageAdmin(ReadOnlyAdmin):
    list_display = ["day", "accessor", *DIMENSIONS, *UNITS, "changed_at"]
    list_filter = ["endpoint", "method", PeriodFilter]
    list_select_related = ["accessor"]
    search_fields = ["accessor__accessor"]
    date_hierarchy = "day"


@admin.register(AccessorEvent)
class AccessorEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "accessor", "api_key", "actor", "detail"]
    list_select_related = ["accessor", "api_key", "actor"]
    search_fields = ["accessor__accessor", "api_key__key_id"]
