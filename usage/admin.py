from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.shortcuts import redirect
from django.urls import path

from billing_portal.admin_mixins import ReadOnlyAdminMixin
from customers.models import Customer

from . import selectors, services
from .models import DailyUsage, KeySyncState, SyncRun, UsageCorrection
from .services import utc_today
from .tasks import sync_run_start


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


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnlyAdmin):
    """Filter by customer, method and period; `?day__gte=…&day__lte=…` for any range; search by
    key id. The totals of the filtered rows show above the list."""

    list_display = [
        "day",
        "customer",
        "key",
        "method",
        "hours",
        "total_hours",
        "requests",
        "changed_at",
    ]
    list_filter = [CustomerFilter, "method", PeriodFilter]
    list_select_related = ["api_key__customer"]
    search_fields = ["api_key__key_id"]
    date_hierarchy = "day"
    change_list_template = "admin/usage/dailyusage/change_list.html"

    @admin.display(description="Customer", ordering="api_key__customer__name")
    def customer(self, obj):
        return obj.api_key.customer.name

    @admin.display(description="Key", ordering="api_key__key_id")
    def key(self, obj):
        return obj.api_key.key_id

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            response.context_data["totals"] = changelist.queryset.aggregate(
                hours=Sum("hours"), total_hours=Sum("total_hours"), requests=Sum("requests")
            )
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
        "retries",
        "rows_created",
        "rows_changed",
        "errors",
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
