import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command

from customers.models import ApiKey
from usage.models import DailyUsage, KeySyncState, SyncRun

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


def test_the_summary_counts_the_calls_by_endpoint(keys, settings):
    settings.USAGE_SYNC_KEY_DAYS_PER_CALL = 2  # two keys: a day a range

    out, err = run("--start", "2026-10-01", "--end", "2026-10-04")

    # Non-interactive output: a line every 5 s, and the last one.
    assert err.strip().splitlines()[-1].startswith("[" + "#" * 30 + "] 2/2 keys")
    calls = "billing/breakdown: 8, usage/breakdown: 8, billing/fields: 1"
    assert f"API calls  17 (0 retries): {calls}" in out


def test_progress_counts_each_written_range_share_of_its_chunk():
    from io import StringIO

    from usage.management.commands.sync_usage import Progress

    stream = StringIO()
    progress = Progress(10, stream, interactive=True)
    progress.range_step(10, 3, 4)
    progress.show(progress.began + 1)

    assert " 7/10 keys " in stream.getvalue().splitlines()[-1].split("\r")[-1]


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
    # One answer covers the project's keys: its failure fails them all.
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


BAD_INPUT = [
    (["--start", "2026-13-01"], "--start must be a real day"),
    (["--start", "2026-02-30"], "--start must be a real day"),
    (["--start", "20261005"], "--start must be a real day"),
    (["--start", "2026-W41-1"], "--start must be a real day"),
    (["--start", "2026-10-5"], "--start must be a real day"),
    (["--end", "yesterday"], "--end must be a real day"),
    (["--start", "2027-01-01"], "--start 2027-01-01 is in the future"),
    (["--end", "2026-11-06"], "--end 2026-11-06 is in the future"),
    (["--start", "2026-10-05", "--end", "2026-10-01"], "--end 2026-10-01 is before --start"),
    (["--customer", "Nobody Ltd"], "matches no customer"),
    (["--customer", ""], "matches no customer"),
    (["--customer", "999999"], "matches no customer"),
    (["--customer", "00000000-0000-4000-8000-000000000000"], "matches no customer"),
    (["--key", "no-such-key"], "matches no key"),
    (["--key", ""], "matches no key"),
    (["--concurrency", "0"], "--concurrency must be a whole number"),
    (["--concurrency", "-3"], "--concurrency must be a whole number"),
    (["--concurrency", "two"], "--concurrency must be a whole number"),
]


@time_machine.travel("2026-11-05 23:59Z", tick=False)
@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_it_refuses_bad_input_with_exit_2(keys, args, message):
    with pytest.raises(CommandError, match=message) as caught:
        run(*args)

    assert caught.value.returncode == 2
    assert not SyncRun.objects.exists()
    assert not DailyUsage.objects.exists()


def test_it_refuses_a_key_of_another_customer(keys, customer_a):
    with pytest.raises(CommandError, match="is not a key of Acme") as caught:
        run("--customer", customer_a.name, "--key", keys[1].key_id)

    assert caught.value.returncode == 2
    assert not SyncRun.objects.exists()


def test_it_refuses_a_customer_with_no_key_to_sync(keys, make_customer):
    with pytest.raises(CommandError, match="has no keys to sync") as caught:
        run("--customer", make_customer("Keyless Ltd").name)

    assert caught.value.returncode == 2


def test_it_refuses_a_settled_key_without_a_backfill(keys):
    ApiKey.objects.filter(pk=keys[0].pk).update(
        status=ApiKey.Status.REVOKED, revoked_at=datetime(2026, 10, 2, tzinfo=UTC)
    )
    KeySyncState.objects.update_or_create(api_key=keys[0], defaults={"settled": True})

    with pytest.raises(CommandError, match="revoked and settled") as caught:
        run("--key", keys[0].key_id)

    assert caught.value.returncode == 2
    assert not SyncRun.objects.exists()


def test_it_takes_today_utc_as_the_last_day(keys):
    today = datetime.now(UTC).date().isoformat()

    out, _ = run("--key", keys[0].key_id, "--start", today, "--end", today)

    assert "1 (1 ok, 0 failed)" in out


def test_it_says_when_a_sync_is_already_running(keys):
    SyncRun.objects.create(trigger=SyncRun.Trigger.BEAT, started_at=datetime.now(UTC))

    with pytest.raises(CommandError, match="already running") as caught:
        run()

    assert caught.value.returncode == 1
