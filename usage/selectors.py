"""Reads of the usage app."""

from datetime import date, timedelta

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from customers.models import ApiKey, Customer

from .models import DailyUsage, KeySyncState, SyncRun


def keys_to_sync(
    *, customer: Customer | None = None, key: ApiKey | None = None, include_settled: bool = False
) -> QuerySet:
    """Keys whose usage may still change: all but revoked keys past their settlement window
    and synced since (unless `include_settled`, for backfills)."""
    keys = ApiKey.objects.all()
    if customer is not None:
        keys = keys.filter(customer=customer)
    if key is not None:
        keys = keys.filter(pk=key.pk)
    if include_settled:
        return keys
    return keys.exclude(status=ApiKey.Status.REVOKED, sync_state__settled=True)


def stale_key_states(*, hours: int = 24) -> QuerySet:
    """Sync states of keys still being synced whose last success is older than `hours`."""
    cutoff = timezone.now() - timedelta(hours=hours)
    return KeySyncState.objects.exclude(api_key__status=ApiKey.Status.REVOKED).filter(
        Q(last_success_at__lt=cutoff) | Q(last_success_at__isnull=True, last_error_at__isnull=False)
    )


def daily_hours(*, customer: Customer, start: date, end: date) -> dict[date, object]:
    """Total billed-quantity hours per UTC day for a customer's keys (all methods summed)."""
    rows = (
        DailyUsage.objects.filter(api_key__customer=customer, day__range=(start, end))
        .values("day")
        .annotate(hours=Sum("total_hours"))
    )
    return {row["day"]: row["hours"] for row in rows}


def running_sync() -> SyncRun | None:
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING).first()
