import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from usage.models import DailyUsage, SyncRun

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_usage", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def keys(make_key, customer_a, customer_b):
    created = datetime(2026, 10, 1, tzinfo=UTC)
    return make_key(customer_a, created=created), make_key(customer_b, created=created)


def test_it_syncs_every_key_with_progress_and_a_summary(keys):
    out, err = run("--concurrency", "2")

    assert "2/2 keys" in err and "keys/s" in err and "ETA" in err
    assert "Succeeded" in out
    assert "2 (2 ok, 0 failed)" in out
    assert DailyUsage.objects.filter(api_key=keys[0]).exists()
    assert SyncRun.objects.get().trigger == SyncRun.Trigger.COMMAND


def test_it_syncs_one_customer(keys, customer_b):
    run("--customer", customer_b.name)

    assert not DailyUsage.objects.filter(api_key=keys[0]).exists()
    assert DailyUsage.objects.filter(api_key=keys[1]).exists()


def test_it_backfills_one_key_between_two_days(keys):
    out, _ = run("--key", keys[0].key_id, "--start", "2026-10-05", "--end", "2026-10-07")

    days = set(DailyUsage.objects.values_list("day", flat=True))
    assert days <= {datetime(2026, 10, d).date() for d in (5, 6, 7)}
    assert "1 (1 ok, 0 failed)" in out


def test_it_exits_1_when_a_key_failed(keys, sandbox, settings):
    settings.DEEPGRAM_MAX_RETRIES = 0
    sandbox.queue_fault("error", status=401, path="/usage")

    with pytest.raises(CommandError) as caught:
        run("--concurrency", "1")

    assert caught.value.returncode == 1
    assert SyncRun.objects.get().status == SyncRun.Status.PARTIAL


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-13-01"], "Not a date"),
        (["--start", "2026-10-05", "--end", "2026-10-01"], "--end is before --start"),
        (["--customer", "Nobody Ltd"], "No such customer"),
        (["--key", "no-such-key"], "No such key"),
        (["--concurrency", "0"], "at least 1"),
    ],
)
def test_it_refuses_bad_input_with_exit_2(db, args, message):
    with pytest.raises(CommandError, match=message) as caught:
        run(*args)

    assert caught.value.returncode == 2
    assert not SyncRun.objects.exists()


def test_it_says_when_a_sync_is_already_running(keys):
    SyncRun.objects.create(trigger=SyncRun.Trigger.BEAT, started_at=datetime.now(UTC))

    with pytest.raises(CommandError, match="already running") as caught:
        run()

    assert caught.value.returncode == 1
