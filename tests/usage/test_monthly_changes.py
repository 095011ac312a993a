"""`usage.MonthlyChange`: when a key's usage and cost rows of a month last changed, kept by the
database's own triggers for every way rows are written (ORM saves, bulk updates, the sync's
COPY), on PostgreSQL and SQLite alike."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

from billing_portal.bulk import insert_rows
from usage.models import DailyCost, DailyUsage, MonthlyChange

EARLY = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
LATE = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def changes(key):
    return {
        row.month: (row.usage_changed_at, row.cost_changed_at)
        for row in MonthlyChange.objects.filter(api_key=key)
    }


def usage_row(key, day, at, hours="1.000000"):
    return DailyUsage.objects.create(
        api_key=key,
        day=day,
        method="streaming",
        hours=D(hours),
        total_hours=D(hours),
        requests=1,
        first_seen_at=at,
        changed_at=at,
    )


def test_stored_and_changed_rows_move_their_months_change_time_forward(customer_a, key_of):
    key = key_of(customer_a)
    row = usage_row(key, date(2026, 10, 30), EARLY)
    usage_row(key, date(2026, 11, 1), EARLY)
    assert changes(key) == {date(2026, 10, 1): (EARLY, None), date(2026, 11, 1): (EARLY, None)}

    row.hours, row.changed_at = D("2.000000"), LATE  # a late correction (bulk, as the sync)
    DailyUsage.objects.bulk_update([row], ["hours", "changed_at"])
    DailyCost.objects.create(
        api_key=key,
        day=date(2026, 10, 3),
        line_item="streaming::nova-3",
        dollars=D("0.5"),
        first_seen_at=EARLY,
        changed_at=EARLY,
    )

    assert changes(key)[date(2026, 10, 1)] == (LATE, EARLY)
    DailyUsage.objects.filter(pk=row.pk).update(changed_at=EARLY)  # never backwards
    assert changes(key)[date(2026, 10, 1)] == (LATE, EARLY)


def test_rows_written_in_bulk_as_the_sync_writes_them_are_seen(customer_a, key_of):
    key = key_of(customer_a)
    columns = ("api_key_id", "day", "line_item", "dollars", "first_seen_at", "changed_at")
    insert_rows(
        DailyCost._meta.db_table,
        columns,
        [(key.pk, date(2026, 9, day), "sync::nova-2", D("0.1"), LATE, LATE) for day in (1, 30)],
    )

    assert changes(key) == {date(2026, 9, 1): (None, LATE)}
