"""Reads of the usage app."""

import calendar
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from customers.models import ApiKey, Customer

from .line_items import NOT_REPORTED, LineItemMapping
from .models import (
    HOUR_UNITS,
    UNITS,
    DailyUsage,
    KeySyncState,
    SyncRun,
    UnassignedAccessor,
    UnassignedCost,
    UnassignedUsage,
)

UNMAPPED = "unmapped"  # the line item filter's value for rows no rule maps


def month_bounds(day: date) -> tuple[date, date]:
    """First and last UTC day of the month containing `day`."""
    first = day.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


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


def sync_health(*, stale_hours: int = 24) -> dict:
    """How the usage sync is doing, for /healthz: when the last run closed (finished, however
    it went; ISO 8601 UTC) and how long ago, in seconds; how many keys have not synced for
    `stale_hours` (`stale_key_states`); and a status: "failed" when that run failed (a held
    run too), else "stale" when no run closed within `stale_hours` or a key is stale, else
    "ok". Reading it fails only when the database does."""
    closed = [SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL, SyncRun.Status.FAILED]
    last = SyncRun.objects.filter(status__in=closed).order_by("-finished_at").first()
    stale_keys = stale_key_states(hours=stale_hours).count()
    age = (timezone.now() - last.finished_at).total_seconds() if last else None
    if last is not None and last.status == SyncRun.Status.FAILED:
        status = "failed"
    elif age is None or age > stale_hours * 3600 or stale_keys:
        status = "stale"
    else:
        status = "ok"
    return {
        "last_run_finished_at": last.finished_at.isoformat() if last else None,
        "age_seconds": round(age) if age is not None else None,
        "stale_keys": stale_keys,
        "status": status,
    }


def daily_hours(
    *, customer: Customer, start: date, end: date, quantity: str = "total_hours"
) -> dict[date, object]:
    """A unit per UTC day for a customer's keys (every endpoint, method and model summed), in
    `quantity`: `total_hours` (every channel, the default billed quantity), `hours`, or any
    other unit of usage (agent hours, TTS characters, tokens in or out, requests)."""
    if quantity not in UNITS:
        raise ValueError(f"Unknown quantity {quantity!r}")
    rows = (
        DailyUsage.objects.filter(api_key__customer=customer, day__range=(start, end))
        .values("day")
        .annotate(hours=Sum(quantity))
        .order_by()
    )
    return {row["day"]: row["hours"] for row in rows}


def running_sync() -> SyncRun | None:
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING).first()


def held_sync_run() -> SyncRun | None:
    """The latest closed run when it was held (stopped before it wrote a mass cut of usage)
    and ops have not accepted it; None once a later run closed or ops accepted it."""
    last = SyncRun.objects.exclude(status=SyncRun.Status.RUNNING).first()
    return last if last and last.held_reason and not last.accepted_at else None


# --- The customer portal's reads ------------------------------------------------------------


def hours_by_key(*, customer: Customer, start: date, end: date) -> list[dict]:
    """Per key of a customer, between two UTC days: its key id and comment, summed total
    hours, audio hours and requests (all methods); keys without usage are left out. Sorted by
    key id."""
    return list(
        DailyUsage.objects.filter(api_key__customer=customer, day__range=(start, end))
        .values(key_id=F("api_key__key_id"), comment=F("api_key__comment"))
        .annotate(total_hours=Sum("total_hours"), requests=Sum("requests"))
        .order_by("key_id")
    )


def hours_by_method(*, customer: Customer, start: date, end: date) -> list[dict]:
    """Per method between two UTC days, summed over a customer's keys: total hours, audio
    hours and requests. Keys synced without a split count under `all`. Sorted by method."""
    return list(
        DailyUsage.objects.filter(api_key__customer=customer, day__range=(start, end))
        .values("method")
        .annotate(total_hours=Sum("total_hours"), requests=Sum("requests"))
        .order_by("method")
    )


def usage_months(*, customer: Customer) -> list[dict]:
    """The months (first day) in which a customer has stored usage, newest first, each with
    its summed total hours, audio hours and requests."""
    return list(
        DailyUsage.objects.filter(api_key__customer=customer)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(total_hours=Sum("total_hours"), requests=Sum("requests"))
        .order_by("-month")
    )


def usage_rows(*, customer: Customer, start: date, end: date) -> QuerySet:
    """A customer's stored rows between two UTC days, one per key, day and method, as dicts
    (day, key_id, key_comment, method, hours, total_hours, requests), sorted by day, key id
    and method."""
    return (
        DailyUsage.objects.filter(api_key__customer=customer, day__range=(start, end))
        .values(
            "day",
            "method",
            "hours",
            "total_hours",
            "requests",
            key_id=F("api_key__key_id"),
            key_comment=F("api_key__comment"),
        )
        .order_by("day", "api_key__key_id", "method")
    )


# --- Usage by line item, and unassigned usage (the admin's reads) ---------------------------


def usage_totals(rows: QuerySet) -> dict:
    """The number of `rows` (`rows`) and the sum of every unit over them, in one query; 0 for
    no rows."""
    totals = rows.aggregate(rows=Count("pk"), **{unit: Sum(unit) for unit in UNITS})
    zero = {unit: Decimal(0) if unit in HOUR_UNITS else 0 for unit in UNITS}
    return {name: zero.get(name, 0) if value is None else value for name, value in totals.items()}


def reported_models() -> list[str]:
    """Every model name stored, as Deepgram spelled it, sorted; "" (not reported) left out."""
    models = DailyUsage.objects.exclude(model="").values_list("model", flat=True)
    return list(models.distinct().order_by("model"))


def rows_of_line_item(rows: QuerySet, mapping: LineItemMapping, code: str) -> QuerySet:
    """The usage `rows` that `mapping` maps to line item `code` (`UNMAPPED`: to none): the
    distinct (endpoint, method, model) of `rows` are mapped in memory, one query."""
    if code == NOT_REPORTED:
        return rows.filter(model="")
    wanted = None if code == UNMAPPED else code
    matching = Q(pk__in=[])
    dimensions = rows.exclude(model="").values_list("endpoint", "method", "model")
    for endpoint, method, model in dimensions.distinct().order_by():
        item = mapping.of(endpoint, method, model)
        if (item.code if item else None) == wanted:
            matching |= Q(endpoint=endpoint, method=method, model=model)
    return rows.filter(matching)


def unassigned_months() -> list[date]:
    """The months (first days) with unassigned usage or cost, newest first. One query."""
    usage, cost = (
        rows.objects.annotate(month=TruncMonth("day")).values_list("month").order_by()
        for rows in (UnassignedUsage, UnassignedCost)
    )
    return sorted({month for (month,) in usage.union(cost)}, reverse=True)


def unassigned_by_month(accessors: QuerySet, month: date | None = None) -> QuerySet:
    """The `accessors` with usage or cost in `month` (all time when None), each annotated
    with every unit summed over it and Deepgram's `dollars`."""
    usage = UnassignedUsage.objects.filter(accessor=OuterRef("pk"))
    cost = UnassignedCost.objects.filter(accessor=OuterRef("pk"))
    if month is not None:
        usage, cost = (rows.filter(day__range=month_bounds(month)) for rows in (usage, cost))

    def summed(rows, name):
        return Subquery(rows.values("accessor").annotate(total=Sum(name)).values("total"))

    return accessors.filter(Exists(usage) | Exists(cost)).annotate(
        **{unit: summed(usage, unit) for unit in UNITS}, dollars=summed(cost, "dollars")
    )


def assigned_from(key_pks) -> dict[int, date]:
    """For the keys whose usage was unassigned before (`accessor_assign`), the first day that
    is theirs: a sync must not read a key's days before it (they stay unassigned)."""
    rows = UnassignedAccessor.objects.filter(assigned_key_id__in=key_pks)
    return dict(rows.values_list("assigned_key_id", "assigned_from"))
