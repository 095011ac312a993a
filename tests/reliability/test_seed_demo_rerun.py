"""Row 10: re-running `make run`'s seed_demo changes nothing that exists: no document issued,
nothing done in a person's name, nobody logged out, whatever the day of the re-run."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import call_command

from invoices.models import InvoiceEvent
from usage.services import utc_today

# A re-run syncs usage again, as every sync does: it records its run and each key's sync; a
# day later Deepgram has new days of usage, and the open draft follows them (as after any sync).
SYNC_BOOKKEEPING = {"usage.SyncRun", "usage.KeySyncState"}
NEW_USAGE = {
    "usage.DailyUsage",
    "usage.DailyCost",
    "usage.MonthlyChange",  # the months the new days are in: kept by triggers
    "usage.UnassignedAccessor",
    "usage.UnassignedUsage",
    "usage.UnassignedCost",
    "usage.LineItem",  # a model billed for the first time in the new days is seeded
    "usage.LineItemRule",
    "invoices.Invoice",
    "invoices.InvoiceLine",
    "invoices.InvoiceEvent",
}


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def without(state: dict, tables: set[str]) -> dict:
    return {table: rows for table, rows in state.items() if table not in tables}


def issued(state: dict) -> list[tuple]:
    from invoices.models import Invoice

    number = [f.attname for f in Invoice._meta.concrete_fields].index("number")
    return [row for row in state["invoices.Invoice"] if row[number] is not None]


def accounts() -> list[tuple]:
    return list(get_user_model().objects.order_by("pk").values_list("username", "password"))


@pytest.mark.django_db
@pytest.mark.parametrize("days_later", [0, 1, 31, 62])
@pytest.mark.parametrize("debug", [True, False])
def test_a_rerun_changes_nothing_that_exists(
    sandbox, client, settings, stored_state, days_later, debug
):
    settings.DEBUG = debug
    seed()
    client.force_login(get_user_model().objects.get(username="finance"))
    before, logins = stored_state(), accounts()
    sessions = Session.objects.count()

    with time_machine.travel(utc_today() + timedelta(days=days_later), tick=False):
        seed()

    after = stored_state()
    if days_later == 0:
        assert without(after, SYNC_BOOKKEEPING) == without(before, SYNC_BOOKKEEPING)
    assert without(after, SYNC_BOOKKEEPING | NEW_USAGE) == without(
        before, SYNC_BOOKKEEPING | NEW_USAGE
    )
    for table in ("usage.DailyUsage", "usage.DailyCost", "usage.UnassignedUsage"):
        assert set(before[table]) <= set(after[table])  # only new days
    assert issued(after) == issued(before)  # no document issued, none changed
    new_events = InvoiceEvent.objects.exclude(
        pk__in=[row[0] for row in before["invoices.InvoiceEvent"]]
    )
    assert {(e.action, e.actor_id) for e in new_events} <= {
        ("refreshed", None),
        ("generated", None),
    }
    assert accounts() == logins and Session.objects.count() == sessions
    assert client.get("/admin/").status_code == 200
