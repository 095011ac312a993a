import io
from datetime import date

import pytest
import time_machine
from django.core.management import CommandError, call_command

from invoices.models import Invoice


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_invoices", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@time_machine.travel("2026-11-23 10:00Z", tick=False)
def test_it_generates_a_months_drafts(acme, key_of, put_usage):
    put_usage(key_of(acme), date(2026, 10, 5), "4.000000")

    out, _ = run("--period", "2026-10")
    again, _ = run("--period", "2026-10")

    assert "created         1" in out
    assert "unchanged       1" in again
    assert Invoice.objects.get().period == date(2026, 10, 1)


@time_machine.travel("2026-11-23 10:00Z", tick=False)
def test_it_warns_that_the_current_month_is_a_preview(acme):
    _, err = run("--period", "2026-11")

    assert "not over yet" in err


@time_machine.travel("2026-11-23 10:00Z", tick=False)
@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-1", "must be a month as YYYY-MM"),  # once read as January
        ("2026-001", "must be a month as YYYY-MM"),
        ("2026-13", "must be a month as YYYY-MM"),
        ("2026-00", "must be a month as YYYY-MM"),
        ("0000-01", "must be a month as YYYY-MM"),
        ("26-10", "must be a month as YYYY-MM"),
        ("2026-10-01", "must be a month as YYYY-MM"),
        (" 2026-10", "must be a month as YYYY-MM"),
        ("\uff12\uff10\uff12\uff16-10", "must be a month as YYYY-MM"),  # full-width digits
        ("October", "must be a month as YYYY-MM"),
        ("", "must be a month as YYYY-MM"),
        ("2026-12", "in the future"),
        ("2027-01", "in the future"),
    ],
)
def test_it_refuses_a_bad_or_future_period_with_exit_2(acme, key_of, put_usage, period, message):
    put_usage(key_of(acme), date(2026, 1, 5), "4.000000")

    with pytest.raises(CommandError, match=message) as caught:
        run("--period", period)

    assert caught.value.returncode == 2
    assert not Invoice.objects.exists()


@time_machine.travel("2026-12-01 00:00Z", tick=False)
def test_it_takes_the_month_that_just_began_in_utc_as_the_current_one(acme):
    _, err = run("--period", "2026-12")

    assert "not over yet" in err
