"""The reliability matrix, row "mass zero": a run whose answers would zero, or cut by more than
90 %, the stored usage of most of a project's keys is held before it writes (FAILED, with the
reason, raised on the admin index) until ops accept it; a late correction of a few keys, or a
smaller cut, applies at once. Each compares every table before and after (`stored_state`)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from usage.models import UNITS, DailyUsage, SyncRun, UsageCorrection
from usage.services import usage_sync_run, utc_today

from .conftest import changed_tables

CREATED = datetime(2026, 11, 24, tzinfo=UTC)
METHODS = ("sync", "async", "streaming")


@pytest.fixture
def keys(imported_keys):
    """Five keys on the sandbox since CREATED, each with a first sync stored."""
    made = imported_keys(5, created=CREATED, id_prefix="3c3c3c3c")
    first = sync([key.pk for key in made])
    assert first.status == SyncRun.Status.SUCCEEDED and DailyUsage.objects.exists()
    return made


def sync(key_ids):
    return usage_sync_run(trigger=SyncRun.Trigger.COMMAND, key_ids=key_ids)


def answer(sandbox, key, share: Decimal) -> None:
    """From now on the sandbox reports `share` of each stored day's speech to text of the key
    (0: none), spread over the methods; its other products stay as they were."""
    days = (
        DailyUsage.objects.filter(api_key=key, endpoint="listen")
        .values("day")
        .annotate(total=Sum("total_hours"))
        .order_by()
    )
    for day in days:
        for method in METHODS:
            hours = (day["total"] * share / len(METHODS)).quantize(Decimal("0.000001"))
            requests = 1 if share else 0  # a day without requests is not reported at all
            sandbox.set_usage(key.key_id, day["day"], hours=hours, requests=requests, method=method)


def read_again(settings):
    """The stored rows a sync reads again: its settlement window."""
    return DailyUsage.objects.filter(
        day__gte=utc_today() - timedelta(days=settings.USAGE_SETTLEMENT_DAYS)
    )


@pytest.mark.parametrize("share", [Decimal(0), Decimal("0.05")], ids=["zeroed", "cut-95%"])
def test_a_run_that_would_wipe_out_most_keys_is_held_before_it_writes(
    keys, sandbox, stored_state, share, support
):
    for key in keys[:4]:
        answer(sandbox, key, share)
    before = stored_state()

    run = sync([key.pk for key in keys])

    assert run.status == SyncRun.Status.FAILED
    assert "4 of the 5 keys" in run.held_reason and "nothing was written" in run.held_reason
    assert run.errors_by_kind == {"MassCut": 5}
    assert changed_tables(before, stored_state()) == {"usage.SyncRun"}
    page = support.get(reverse("admin:index")).content.decode()
    assert "was stopped before it wrote" in page and "4 of the 5 keys" in page


def test_ops_accept_a_held_cut_and_the_next_run_applies_it(
    keys, sandbox, support, celery_eager, django_capture_on_commit_callbacks, settings
):
    for key in keys:
        answer(sandbox, key, Decimal(0))
    held = sync([key.pk for key in keys])
    # The sandbox's other products of a key come only on days it used speech to text.
    zeroed_rows = read_again(settings).exclude(**{unit: 0 for unit in UNITS}).count()

    with django_capture_on_commit_callbacks(execute=True):
        response = support.post(
            reverse("admin:usage_syncrun_changelist"),
            {"action": "accept_cut", "_selected_action": [held.pk]},
        )

    assert response.status_code == 302
    held.refresh_from_db()
    assert held.accepted_at is not None and held.accepted_by.username == "support"
    applied = SyncRun.objects.first()  # queued by the action, run by Celery (eager)
    assert (applied.trigger, applied.status, applied.allow_mass_cut) == (
        SyncRun.Trigger.ADMIN,
        SyncRun.Status.SUCCEEDED,
        True,
    )
    assert not read_again(settings).exclude(total_hours=0).exists()
    assert UsageCorrection.objects.filter(run=applied).count() == zeroed_rows
    assert "was stopped before it wrote" not in support.get(reverse("admin:index")).content.decode()
    # Accepted once: a later run is guarded again.
    assert sync([key.pk for key in keys]).allow_mass_cut is False


@pytest.mark.parametrize(
    ("cut_keys", "share"),
    [(1, Decimal(0)), (2, Decimal(0)), (5, Decimal("0.5"))],
    ids=["one-key-zeroed", "two-keys-zeroed", "every-key-halved"],
)
def test_an_ordinary_correction_applies_at_once(keys, sandbox, stored_state, cut_keys, share):
    # (Days before the settlement window are not read again, so their answers do not matter.)
    for key in keys[:cut_keys]:
        answer(sandbox, key, share)
    before = stored_state()

    run = sync([key.pk for key in keys])

    assert (run.status, run.held_reason) == (SyncRun.Status.SUCCEEDED, "")
    assert run.rows_changed > 0
    assert UsageCorrection.objects.filter(run=run).count() == run.rows_changed
    assert changed_tables(before, stored_state()) == {
        "usage.DailyUsage",
        "usage.DailyCost",
        "usage.MonthlyChange",
        "usage.KeySyncState",
        "usage.SyncRun",
        "usage.UsageCorrection",
        "usage.CostCorrection",
    }


def test_a_project_with_too_few_keys_with_usage_is_not_judged(keys, sandbox, settings):
    settings.SYNC_MASS_CUT_MIN_KEYS = 6
    for key in keys:
        answer(sandbox, key, Decimal(0))

    run = sync([key.pk for key in keys])

    assert run.status == SyncRun.Status.SUCCEEDED
    assert not read_again(settings).exclude(total_hours=0).exists()
