"""Exchange rates: the ECB's file and rows per USD read exactly (converted through the euro,
rounded once to 10 decimals), bad files refused whole with their line, the import's counts,
the month's rate (the last on or before its last day), the command and the admin form."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from invoices.fx_files import RateFileError, read_rates
from invoices.models import ExchangeRate
from invoices.services.fx import month_rate, rate_on, rates_on
from invoices.services.fx_import import fx_import_rates

# The ECB's history layout: newest first, a trailing comma, N/A on a holiday, a retired code.
ECB_HISTORY = """Date,USD,JPY,GBP,CYP,KWD,
2026-11-27,1.0500,160.00,0.8400,N/A,0.3228,
2026-11-26,1.0400,N/A,0.8320,N/A,0.3200,
2026-11-25,N/A,N/A,N/A,N/A,N/A,
2001-01-02,0.9423,108.90,0.63470,0.57690,N/A,
"""
# The ECB's daily file: one day, spaces after the commas, the date in words.
ECB_DAILY = "Date, USD, JPY, GBP, \n 27 November 2026, 1.0500, 160.00, 0.8400, \n"


def test_it_converts_the_ecbs_rates_through_the_euro():
    read = read_rates(io.StringIO(ECB_HISTORY))

    rates = {(r.day, r.currency): r.per_usd for r in read.rates}
    day = date(2026, 11, 27)
    assert rates[(day, "JPY")] == Decimal("152.3809523810")  # 160 / 1.05, half up
    assert rates[(day, "GBP")] == Decimal("0.8000000000")  # 0.84 / 1.05, exact
    assert rates[(day, "EUR")] == Decimal("0.9523809524")  # 1 / 1.05
    assert rates[(day, "KWD")] == Decimal("0.3074285714")  # a 3-decimal currency has rates too
    assert rates[(date(2026, 11, 26), "GBP")] == Decimal("0.8000000000")
    assert (date(2026, 11, 26), "JPY") not in rates  # N/A: no rate that day, none made up
    assert "USD" not in {r.currency for r in read.rates}
    assert read.unknown_codes == {"CYP": 1} and read.days_without_usd == 1


def test_the_daily_file_reads_as_the_history_does():
    daily = {(r.day, r.currency): r.per_usd for r in read_rates(io.StringIO(ECB_DAILY)).rates}
    history = {(r.day, r.currency): r.per_usd for r in read_rates(io.StringIO(ECB_HISTORY)).rates}

    assert daily == {
        k: v for k, v in history.items() if k[0] == date(2026, 11, 27) and k[1] != "KWD"
    }


def test_it_reads_rates_already_per_usd():
    text = "date,currency,per_usd\n2026-11-30,eur,0.91\n2026-11-30,USD,1\n2026-11-30,JPY,N/A\n"

    read = read_rates(io.StringIO(text))

    assert [(r.day, r.currency, r.per_usd) for r in read.rates] == [
        (date(2026, 11, 30), "EUR", Decimal("0.9100000000"))
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("day,rate\n2026-11-30,1\n", "Line 1: the header"),
        ("Date,JPY\n2026-11-30,160\n", "need a USD column"),
        ("Date,USD,JPY\n2026-11-30,1.05,abc\n", "Line 2: the JPY rate 'abc'"),
        ("Date,USD,JPY\n2026-11-30,1.05,160\n2026-11-29,1.05,-1\n", "Line 3: the JPY rate '-1'"),
        ("Date,USD,JPY\n2026-11-30,0,160\n", "the USD rate '0'"),
        ("Date,USD,JPY\n2026-11-30,1.05,Infinity\n", "not a positive number"),
        ("Date,USD\n30/11/2026,1.05\n", "Line 2: '30/11/2026' is not a date"),
        ("date,currency,per_usd\n2026-11-30,EUR\n", "Line 2: expected"),
        ("date,currency,per_usd\n2026-11-30,USD,1.1\n", "1 USD is 1 USD"),
        ("date,currency,per_usd\n2026-11-30,EUR,0.00000000001\n", "rounds to zero"),
        ("date,currency,per_usd\n2026-11-30,EUR,99999999999\n", "beyond"),
    ],
)
def test_it_refuses_a_file_it_cannot_read_naming_the_line(text, message):
    with pytest.raises(RateFileError, match=message):
        read_rates(io.StringIO(text))


# --- stored rates --------------------------------------------------------------------------


def _rates(*rows):
    return read_rates(
        io.StringIO("date,currency,per_usd\n" + "".join(f"{r}\n" for r in rows))
    ).rates


@pytest.mark.django_db
def test_an_import_adds_changes_and_leaves_alone_and_says_which():
    first = fx_import_rates(_rates("2026-11-27,EUR,0.95", "2026-11-27,GBP,0.80"), source="a")
    again = fx_import_rates(
        _rates("2026-11-27,EUR,0.95", "2026-11-27,GBP,0.81", "2026-11-30,GBP,0.79"), source="b"
    )

    assert (first.added, first.changed, first.unchanged) == (2, 0, 0)
    assert (again.added, again.changed, again.unchanged) == (1, 1, 1)
    stored = {(r.currency, r.day): (r.per_usd, r.source) for r in ExchangeRate.objects.all()}
    assert stored == {
        ("EUR", date(2026, 11, 27)): (Decimal("0.95"), "a"),
        ("GBP", date(2026, 11, 27)): (Decimal("0.81"), "b"),
        ("GBP", date(2026, 11, 30)): (Decimal("0.79"), "b"),
    }


@pytest.mark.django_db
def test_a_dry_run_counts_and_writes_nothing():
    counts = fx_import_rates(_rates("2026-11-27,EUR,0.95"), source="a", dry_run=True)

    assert counts.added == 1 and not ExchangeRate.objects.exists()


@pytest.mark.django_db
def test_a_month_uses_the_last_rate_on_or_before_its_last_day():
    fx_import_rates(
        _rates("2026-10-29,EUR,0.93", "2026-10-30,EUR,0.94", "2026-11-02,EUR,0.99"), source="a"
    )

    october = month_rate("EUR", date(2026, 10, 1))
    assert (october.per_usd, october.day) == (Decimal("0.94"), date(2026, 10, 30))
    assert rate_on("EUR", date(2026, 10, 29)).per_usd == Decimal("0.93")
    assert month_rate("EUR", date(2026, 9, 1)) is None  # no rate yet: none guessed
    assert month_rate("GBP", date(2026, 10, 1)) is None
    assert month_rate("USD", date(2026, 10, 1)).per_usd == 1
    assert str(october) == "1 USD = 0.94 EUR (rate of 30 Oct 2026)"


@pytest.mark.django_db
def test_rates_for_several_currencies_take_two_queries(django_assert_num_queries):
    fx_import_rates(
        _rates("2026-10-29,EUR,0.93", "2026-10-30,GBP,0.8", "2026-10-28,GBP,0.7"), source="a"
    )

    with django_assert_num_queries(2):
        rates = rates_on(["EUR", "GBP", "USD", "JPY"], date(2026, 10, 31))

    assert {c: r.per_usd for c, r in rates.items()} == {
        "EUR": Decimal("0.93"),
        "GBP": Decimal("0.8"),
        "USD": Decimal(1),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("currency", "per_usd", "field"),
    [
        ("USD", "1", "currency"),
        ("XYZ", "1", "currency"),
        ("EUR", "0", "per_usd"),
        ("EUR", "-1", "per_usd"),
    ],
)
def test_a_typed_rate_must_be_a_currency_and_above_zero(currency, per_usd, field):
    rate = ExchangeRate(day=date(2026, 11, 30), currency=currency, per_usd=Decimal(per_usd))

    with pytest.raises(ValidationError) as raised:
        rate.full_clean()

    assert field in raised.value.message_dict


# --- the command ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_imports_the_ecbs_file_and_reports(tmp_path):
    path = tmp_path / "eurofxref-hist.csv"
    path.write_text(ECB_HISTORY)
    out = io.StringIO()

    call_command("import_fx_rates", str(path), stdout=out)

    text = out.getvalue()
    assert "10 rates (ECB reference rates (per EUR), converted through EUR)" in text
    assert "10 rates were added, 0 changed" in text
    assert "Skipped 1 rates of codes that are no current ISO 4217 currency: CYP." in text
    assert "Skipped 1 days without a USD rate" in text
    assert ExchangeRate.objects.count() == 10
    assert set(ExchangeRate.objects.values_list("source", flat=True)) == {
        "import_fx_rates eurofxref-hist.csv"
    }


@pytest.mark.django_db
def test_the_command_imports_nothing_from_a_bad_file(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("Date,USD,JPY\n2026-11-30,1.05,160\n2026-11-29,1.05,oops\n")

    with pytest.raises(
        CommandError,
        match=r"Line 3: the JPY rate 'oops' is not a positive number\. Nothing was imported",
    ):
        call_command("import_fx_rates", str(path), stdout=io.StringIO())

    assert not ExchangeRate.objects.exists()


@pytest.mark.django_db
def test_the_command_says_when_the_file_is_not_there(tmp_path):
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("import_fx_rates", str(tmp_path / "missing.csv"))


@pytest.mark.django_db
def test_the_command_shows_progress_on_a_long_file(tmp_path):
    days = [date.fromordinal(date(2000, 1, 3).toordinal() + n) for n in range(3_000)]
    path = tmp_path / "long.csv"
    path.write_text("Date,USD,JPY,GBP\n" + "".join(f"{d},1.1,130,0.7\n" for d in days))
    out = io.StringIO()

    call_command("import_fx_rates", str(path), "--dry-run", stdout=out)

    assert "5,000 of 9,000 (55 %)" in out.getvalue()
    assert "9,000 rates would be added" in out.getvalue()
    assert not ExchangeRate.objects.exists()


# --- the admin -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_finance_types_a_rate_in_the_admin(finance):
    response = finance.post(
        reverse("admin:invoices_exchangerate_add"),
        {"day": "2026-11-30", "currency": "eur", "per_usd": "0.9123", "source": "typed"},
    )

    assert response.status_code == 302
    rate = ExchangeRate.objects.get()
    assert (rate.currency, rate.per_usd, rate.day) == ("EUR", Decimal("0.9123"), date(2026, 11, 30))
    listing = finance.get(reverse("admin:invoices_exchangerate_changelist"))
    assert b"0.9123" in listing.content


@pytest.mark.django_db
def test_the_admin_refuses_a_second_rate_for_the_same_day(finance):
    ExchangeRate.objects.create(day=date(2026, 11, 30), currency="EUR", per_usd="0.9")

    response = finance.post(
        reverse("admin:invoices_exchangerate_add"),
        {"day": "2026-11-30", "currency": "EUR", "per_usd": "0.95", "source": ""},
    )

    assert response.status_code == 200
    assert ExchangeRate.objects.get().per_usd == Decimal("0.9")
