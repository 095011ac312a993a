from datetime import timedelta
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import path
from django.utils.functional import cached_property
from django.utils.html import format_html

from billing_portal.admin_mixins import ReadOnlyAdminMixin
from customers.models import Customer

from . import selectors, services
from .line_items import NOT_REPORTED, NOT_REPORTED_LABEL, LineItemMapping, finance_edited
from .models import (
    UNITS,
    CostCorrection,
    DailyCost,
    DailyUsage,
    KeySyncState,
    LineItem,
    LineItemRule,
    SyncRun,
    UsageCorrection,
)
from .services import utc_today
from .tasks import sync_run_start
from .units import quantize_hours

# The usage list totals hours, total hours and requests always, the other units when it has some.
ALWAYS_TOTALLED = {"hours", "total_hours", "requests"}
DIMENSIONS = ["endpoint", "method", "model"]


def unit_name(unit: str) -> str:
    return DailyUsage._meta.get_field(unit).verbose_name


def _six(value):
    """Hours and dollars with the 6 places they are stored with (a sum on SQLite drops them)."""
    return quantize_hours(Decimal(value)) if isinstance(value, Decimal | float) else value


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rows only the sync writes."""


class PeriodFilter(admin.SimpleListFilter):
    title = "period"
    parameter_name = "period"

    def lookups(self, request, model_admin):
        return [
            ("7", "Last 7 days"),
            ("month", "This month"),
            ("last_month", "Last month"),
            ("60", "Last 60 days"),
        ]

    def queryset(self, request, queryset):
        today = utc_today()
        first = today.replace(day=1)
        ranges = {
            "7": (today - timedelta(days=6), today),
            "60": (today - timedelta(days=59), today),
            "month": (first, today),
            "last_month": ((first - timedelta(days=1)).replace(day=1), first - timedelta(days=1)),
        }
        if self.value() in ranges:
            return queryset.filter(day__range=ranges[self.value()])
        return queryset


class CustomerFilter(admin.SimpleListFilter):
    title = "customer"
    parameter_name = "customer"

    def lookups(self, request, model_admin):
        return [(c.pk, c.name) for c in Customer.objects.only("pk", "name")]

    def queryset(self, request, queryset):
        return queryset.filter(api_key__customer=self.value()) if self.value() else queryset


def line_items_of(request) -> LineItemMapping:
    """The line-item mapping, read once per request (by the filter and the list's column)."""
    if not hasattr(request, "usage_line_items"):
        request.usage_line_items = LineItemMapping.load()
    return request.usage_line_items


class ModelFilter(admin.SimpleListFilter):
    title = "model"
    parameter_name = "model"

    def lookups(self, request, model_admin):
        return [("-", "Not reported"), *((m, m) for m in selectors.reported_models())]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(model="" if value == "-" else value)


class LineItemFilter(admin.SimpleListFilter):
    """By the line item the mapping gives a row (as finance's rules say now)."""

    title = "line item"
    parameter_name = "line_item"

    def lookups(self, request, model_admin):
        items = line_items_of(request).items.values()
        return [
            (NOT_REPORTED, NOT_REPORTED_LABEL),
            (selectors.UNMAPPED, "Unmapped"),
            *((i.code, f"{i.label} ({i.code})") for i in items if i.code != NOT_REPORTED),
        ]

    def queryset(self, request, queryset):
        code, mapping = self.value(), line_items_of(request)
        return queryset if code is None else selectors.rows_of_line_item(queryset, mapping, code)


class TotalsPaginator(Paginator):
    """Counts the rows and totals their units in the same query (`totals`)."""

    @cached_property
    def count(self):
        self.totals = selectors.usage_totals(self.object_list)
        return self.totals.pop("rows")


class UsageChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        mapping = line_items_of(request)
        for row in self.result_list:
            row.line_item_label = mapping.label_of(row.endpoint, row.method, row.model)


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnlyAdmin):
    """Filter by customer, endpoint, method, model, line item and period; `?day__gte=…&
    day__lte=…` for any range; search by key id. The totals of the filtered rows, per unit,
    show above the list (counted with them, in one query); no second count of every row."""

    list_display = ["day", "customer", "key", *DIMENSIONS, "line_item", *UNITS, "changed_at"]
    list_filter = [CustomerFilter, "endpoint", "method", ModelFilter, LineItemFilter, PeriodFilter]
    list_select_related = ["api_key__customer"]
    search_fields = ["api_key__key_id"]
    date_hierarchy = "day"
    paginator = TotalsPaginator
    show_full_result_count = False
    change_list_template = "usage/admin/dailyusage_change_list.html"

    @admin.display(description="Customer", ordering="api_key__customer__name")
    def customer(self, obj):
        return obj.api_key.customer.name

    @admin.display(description="Key", ordering="api_key__key_id")
    def key(self, obj):
        return obj.api_key.key_id

    @admin.display(description="Line item")
    def line_item(self, obj):
        return obj.line_item_label

    def get_changelist(self, request, **kwargs):
        return UsageChangeList

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            totals = changelist.paginator.totals
            shown = {u: v for u, v in totals.items() if u in ALWAYS_TOTALLED or v}
            response.context_data["totals"] = shown
            response.context_data["unit_totals"] = [
                (unit_name(unit), value, unit.endswith("hours")) for unit, value in shown.items()
            ]
        return response


@admin.register(UsageCorrection)
class UsageCorrectionAdmin(ReadOnlyAdmin):
    list_display = [
        "at",
        "usage",
        "old_total_hours",
        "new_total_hours",
        "old_requests",
        "new_requests",
        "run",
    ]
    list_select_related = ["usage__api_key", "run"]
    search_fields = ["usage__api_key__key_id"]


class FreshnessFilter(admin.SimpleListFilter):
    title = "freshness"
    parameter_name = "freshness"

    def lookups(self, request, model_admin):
        return [("stale", "No success for 24 h"), ("failing", "Last attempt failed")]

    def queryset(self, request, queryset):
        if self.value() == "stale":
            return queryset.filter(pk__in=selectors.stale_key_states().values("pk"))
        if self.value() == "failing":
            return queryset.filter(consecutive_failures__gt=0)
        return queryset


@admin.register(KeySyncState)
class KeySyncStateAdmin(ReadOnlyAdmin):
    list_display = [
        "key",
        "customer",
        "synced_through",
        "last_success_at",
        "last_error_at",
        "last_error_kind",
        "consecutive_failures",
    ]
    list_filter = [FreshnessFilter, "last_error_kind"]
    list_select_related = ["api_key__customer"]
    empty_value_display = "never"  # a new key's row, before its first sync: never synced
    search_fields = ["api_key__key_id", "api_key__customer__name"]

    @admin.display(description="Key", ordering="api_key__key_id")
    def key(self, obj):
        return obj.api_key.key_id

    @admin.display(description="Customer", ordering="api_key__customer__name")
    def customer(self, obj):
        return obj.api_key.customer.name


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "trigger",
        "status",
        "duration",
        "keys_total",
        "keys_ok",
        "keys_failed",
        "api_calls",
        "calls",
        "retries",
        "rows_created",
        "rows_changed",
        "errors",
        "mismatches",
    ]
    list_filter = ["status", "trigger"]
    change_list_template = "admin/usage/syncrun/change_list.html"
    actions = ["accept_cut"]

    @admin.action(description="Accept the usage cut of selected held runs (sync to apply it)")
    def accept_cut(self, request, queryset):
        """Ops say a held run's cut is real: the next run applies it; one is queued now."""
        if not request.user.has_perm("usage.start_syncrun"):
            raise PermissionDenied
        accepted = sum(
            services.sync_run_accept_cut(run_id=pk, user=request.user)
            for pk in queryset.values_list("pk", flat=True)
        )
        if accepted:
            transaction.on_commit(lambda: sync_run_start.delay(SyncRun.Trigger.ADMIN))
        self.message_user(
            request,
            f"{accepted} held run(s) accepted; a sync that applies the cut was queued.",
            messages.SUCCESS if accepted else messages.WARNING,
        )

    @admin.display(description="Errors by kind")
    def errors(self, obj):
        return obj.errors_text()

    @admin.display(description="Calls by endpoint")
    def calls(self, obj):
        return obj.calls_text()

    @admin.display(description="Not adding up to Deepgram's totals")
    def mismatches(self, obj):
        """The reconciliation: days whose per-key rows differ from the project's totals."""
        if not obj.differences:
            return "-"
        return format_html(
            '<span class="errornote" title="{}">{} day(s) and unit(s)</span>',
            obj.differences_text(),
            len(obj.differences),
        )

    def get_urls(self):
        return [
            path("start/", self.admin_site.admin_view(self.start_view), name="usage_syncrun_start"),
            *super().get_urls(),
        ]

    def start_view(self, request):
        """Queue a sync of every key now (POST only; the run is single-flight)."""
        if not request.user.has_perm("usage.start_syncrun"):
            raise PermissionDenied
        if request.method == "POST":
            transaction.on_commit(lambda: sync_run_start.delay(SyncRun.Trigger.ADMIN))
            self.message_user(
                request,
                "A usage sync was queued; it appears here when a worker starts it.",
                messages.SUCCESS,
            )
        return redirect("admin:usage_syncrun_changelist")


# --- Line items: the mapping finance edits --------------------------------------------------


def _fixed(item) -> bool:
    return item is not None and item.source == LineItem.Source.FIXED


class LineItemRuleInline(admin.TabularInline):
    model = LineItemRule
    fields = [
        "position",
        "endpoint",
        "method",
        "model_pattern",
        "source",
        "changed_at",
        "changed_by",
    ]
    readonly_fields = ["source", "changed_at", "changed_by"]
    extra = 0


@admin.register(LineItem)
class LineItemAdmin(admin.ModelAdmin):
    """Finance edits labels and rules (which are then finance's: seeding never touches them);
    Support reads. The fixed "model not reported" item is read-only."""

    list_display = ["code", "label", "source", "rules"]
    list_filter = ["source"]
    search_fields = ["code", "label"]
    inlines = [LineItemRuleInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(rule_count=Count("rules"))

    @admin.display(description="Rules", ordering="rule_count")
    def rules(self, obj):
        return obj.rule_count

    def get_readonly_fields(self, request, obj=None):
        return ["source", "code"] if obj else ["source"]

    def has_change_permission(self, request, obj=None):
        return not _fixed(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _fixed(obj) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change or "label" in form.changed_data:
            finance_edited(obj, user=request.user)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for rule in formset.save(commit=False):
            finance_edited(rule, user=request.user)
            rule.save()
        for rule in formset.deleted_objects:
            rule.delete()


@admin.register(DailyCost)
class DailyCostAdmin(ReadOnlyAdmin):
    """What Deepgram charged per key, day and line item (USD), as it said it. Finance only."""

    list_display = ["day", "customer", "key", "line_item", "dollars", "changed_at"]
    list_filter = [CustomerFilter, PeriodFilter]
    list_select_related = ["api_key__customer"]
    search_fields = ["api_key__key_id", "line_item"]
    date_hierarchy = "day"
    customer = DailyUsageAdmin.customer
    key = DailyUsageAdmin.key


@admin.register(CostCorrection)
class CostCorrectionAdmin(ReadOnlyAdmin):
    list_display = ["at", "cost", "old_dollars", "new_dollars", "run"]
    list_select_related = ["cost__api_key", "run"]
    search_fields = ["cost__api_key__key_id"]


from . import admin_unassigned  # noqa: E402, F401 - registers the unassigned usage admin
