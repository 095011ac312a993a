"""Deepgram's dollars per key and month, kept summed (`MonthlyCost`), so that a month of
thousands of keys (the Margin page, its chart) is read without summing its millions of daily
rows on every view.

Rules:
- A month's sums hold every daily cost row changed before its `CostMonth.summed_at`. A read
  first sums again the keys with a row of the month changed since (found by the
  `changed_at` index), then reads the sums: one query when nothing changed.
- `summed_at` is set a few minutes before the moment the sums were read (`SETTLE`), so a
  sync transaction that took its time before it committed is still seen on the next read.
- Rows moved in from unassigned usage keep their own `changed_at`: the months from the move
  on are forgotten (`forget_key`) and summed again, whole, on their next read.
- Kept warm: a finished sync has the worker read the current and the previous month once the
  sync's rows have settled (`sum_synced_months`, `SETTLE` and a minute after the sync), so
  that finance's first view of the Margin page after a sync sums nothing again.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .models import CostMonth, DailyCost, MonthlyCost
from .selectors import month_bounds

__all__ = ["NEVER", "SETTLE", "forget_key", "month_costs", "sum_synced_months"]

SETTLE = timedelta(minutes=5)
NEVER = datetime(2000, 1, 1, tzinfo=UTC)  # a month not summed yet: every row is newer


def month_costs(first: date, last: date) -> dict[int, Decimal]:
    """Deepgram's dollars of every key with cost in the month (`first` to `last`), by key pk.
    Reads are serialised on the month's `CostMonth` row; a month read first is summed whole."""
    with transaction.atomic():
        began = timezone.now()
        CostMonth.objects.get_or_create(month=first, defaults={"summed_at": NEVER})
        state = CostMonth.objects.select_for_update().get(month=first)
        rows = DailyCost.objects.filter(day__range=(first, last))
        if state.summed_at == NEVER:
            MonthlyCost.objects.filter(month=first).delete()
            _add_sums(first, rows)
        else:
            changed = list(
                rows.filter(changed_at__gte=state.summed_at)
                .values_list("api_key_id", flat=True)
                .order_by()
                .distinct()
            )
            if changed:
                MonthlyCost.objects.filter(month=first, api_key_id__ids_in=changed).delete()
                _add_sums(first, rows.filter(api_key_id__ids_in=changed))
        state.summed_at = began - SETTLE
        state.save(update_fields=["summed_at"])
        return dict(MonthlyCost.objects.filter(month=first).values_list("api_key_id", "dollars"))


def _add_sums(first: date, rows) -> None:
    sums = rows.values_list("api_key_id").annotate(s=Sum("dollars")).order_by()
    MonthlyCost.objects.bulk_create(
        (MonthlyCost(api_key_id=key, month=first, dollars=dollars) for key, dollars in sums),
        batch_size=5000,
    )


def forget_key(key_pk: int, from_day: date) -> None:
    """The months from `from_day`'s on are summed again, whole, on their next read (rows
    moved in from unassigned usage keep their older `changed_at`)."""
    CostMonth.objects.filter(month__gte=from_day.replace(day=1)).update(summed_at=NEVER)


def sum_synced_months(today: date | None = None) -> dict[str, int]:
    """Bring the kept sums of the current and the previous month up to date (what the Margin
    page reads); how many keys have cost, by month."""
    today = today or timezone.now().date()
    previous = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return {
        f"{first:%Y-%m}": len(month_costs(*month_bounds(first)))
        for first in (previous, today.replace(day=1))
    }
