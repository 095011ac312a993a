"""Reliability matrix, bad command input: every bad argument of `generate_invoices`,
`sync_usage` and `deepgram_sandbox`, run as the real command, exits 2 with a message naming
the argument and changes no table; run as a process, it exits 2 with the message on stderr."""

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.core.management import CommandError, call_command

from invoices.models import PricePlan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOW = "2026-11-05 09:00Z"  # so 2026-12 and 2026-11-06 are in the future

ARABIC_2026_10 = "\u0662\u0660\u0662\u0666-\u0661\u0660"  # digits, but not ASCII ones

BAD_INPUT = {
    # generate_invoices: a period is exactly YYYY-MM, not after this UTC month.
    "period without its leading zero": (["generate_invoices", "--period", "2026-1"], "YYYY-MM"),
    "period with three digits": (["generate_invoices", "--period", "2026-010"], "YYYY-MM"),
    "period month 13": (["generate_invoices", "--period", "2026-13"], "YYYY-MM"),
    "period month 00": (["generate_invoices", "--period", "2026-00"], "YYYY-MM"),
    "period year 0000": (["generate_invoices", "--period", "0000-10"], "YYYY-MM"),
    "period a day": (["generate_invoices", "--period", "2026-10-01"], "YYYY-MM"),
    "period in words": (["generate_invoices", "--period", "October"], "YYYY-MM"),
    "period padded": (["generate_invoices", "--period", "2026-10 "], "YYYY-MM"),
    "period in other digits": (
        ["generate_invoices", "--period", "\u0662\u0660\u0662\u0666-\u0661\u0660"],
        "YYYY-MM",
    ),
    "period next month": (["generate_invoices", "--period", "2026-12"], "in the future"),
    # sync_usage: real days, not in the future, in order; selections that match.
    "start no date": (["sync_usage", "--start", "2026-02-30"], "--start must be a real day"),
    "start basic format": (["sync_usage", "--start", "20261005"], "--start must be a real day"),
    "start week date": (["sync_usage", "--start", "2026-W41-1"], "--start must be a real day"),
    "start future": (["sync_usage", "--start", "2027-01-01"], "--start 2027-01-01 is in the"),
    "end future": (["sync_usage", "--end", "2026-11-06"], "--end 2026-11-06 is in the future"),
    "end no date": (["sync_usage", "--end", "2026-10-32"], "--end must be a real day"),
    "end before start": (
        ["sync_usage", "--start", "2026-10-05", "--end", "2026-10-01"],
        "--end 2026-10-01 is before --start",
    ),
    "unknown customer": (["sync_usage", "--customer", "Nobody Ltd"], "matches no customer"),
    "empty customer": (["sync_usage", "--customer", ""], "matches no customer"),
    "unknown customer id": (["sync_usage", "--customer", "999999"], "matches no customer"),
    "keyless customer": (["sync_usage", "--customer", "Keyless Ltd"], "has no keys to sync"),
    "unknown key": (["sync_usage", "--key", "no-such-key"], "matches no key"),
    "empty key": (["sync_usage", "--key", ""], "matches no key"),
    "another customer's key": (
        ["sync_usage", "--customer", "Acme Voice Ltd", "--key", "globex-key-1"],
        "--key globex-key-1 is not a key of Acme Voice Ltd",
    ),
    "zero concurrency": (["sync_usage", "--concurrency", "0"], "--concurrency must be"),
    "word concurrency": (["sync_usage", "--concurrency", "many"], "--concurrency must be"),
    # deepgram_sandbox: checked before anything listens.
    "port too high": (["deepgram_sandbox", "--port", "65536"], "--port must be a whole"),
    "port negative": (["deepgram_sandbox", "--port", "-1"], "--port must be a whole"),
    "latency negative": (["deepgram_sandbox", "--latency-ms", "-5"], "--latency-ms must not"),
    "latency nan": (["deepgram_sandbox", "--latency-ms", "nan"], "--latency-ms must be a"),
    "fault rate above 1": (["deepgram_sandbox", "--fault-rate", "2"], "--fault-rate must be"),
    "fault rate nan": (["deepgram_sandbox", "--fault-rate", "nan"], "--fault-rate must be"),
    "unknown host": (["deepgram_sandbox", "--host", "nowhere.invalid"], "--host 'nowhere"),
    "state a directory": (["deepgram_sandbox", "--port", "0", "--state", "/"], "--state must"),
}


@pytest.fixture
def billable(make_customer, with_october_usage, finance_user):
    """What a bad command could touch: Acme and Globex on a plan with a key and October usage
    each (drafts could be made, keys synced), and a customer without keys."""
    plan = PricePlan.objects.create(
        name="Standard", currency="USD", rate_per_hour=D("0.258000"), platform_fee=D("10.00")
    )
    for name in ("Acme Voice Ltd", "Globex Transcripts"):
        with_october_usage(make_customer(name), plan)
    make_customer("Keyless Ltd")


@pytest.mark.parametrize("case", BAD_INPUT)
def test_it_refuses_bad_command_input_and_changes_nothing(billable, stored_state, case):
    args, message = BAD_INPUT[case]
    before = stored_state()

    with time_machine.travel(NOW, tick=False), pytest.raises(CommandError) as caught:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())

    assert caught.value.returncode == 2
    assert message in str(caught.value)
    assert stored_state() == before


def _future(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


PROCESS_CASES = {
    "generate_invoices": (["--period", "2026-1"], "--period must be a month as YYYY-MM"),
    "sync_usage": (["--start", _future(400)], "is in the future (UTC)"),
    "deepgram_sandbox": (["--port", "70000"], "--port must be a whole number"),
}


@pytest.mark.parametrize("command", PROCESS_CASES)
def test_it_exits_2_with_the_message_on_stderr(tmp_path, command):
    args, message = PROCESS_CASES[command]
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DEEPGRAM_", "DATABASE_URL", "REDIS_URL", "CELERY_"))
    }
    # A database of its own: were the input accepted, nothing shared could be written.
    env.update(DJANGO_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    result = subprocess.run(
        [sys.executable, "manage.py", command, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
