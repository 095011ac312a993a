"""The monthly usage CSV: one row per key, day and method, hours exactly as stored, only the
customer's own keys, and 404 for a month that is malformed or still to come."""

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from django.urls import reverse

from usage.models import DailyUsage

HEADER = ["day", "key_id", "key_comment", "method", "hours", "total_hours", "requests"]


def csv_url(month: str) -> str:
    return reverse("portal:usage_csv", args=[month])


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


@pytest.fixture
def october_usage(acme, globex, key_of, put_usage):
    """Acme: a split key (three methods) and an unsplit one, across October and a day of
    September and November; Globex: a key of its own in October."""
    split = key_of(acme, "acme-split", comment="Call centre")
    plain = key_of(acme, "acme-plain", comment="")
    for day in (date(2026, 10, 1), date(2026, 10, 15), date(2026, 10, 31)):
        put_usage(split, day, "1.123456", "sync", hours="1.000001", requests=3)
        put_usage(split, day, "2.000002", "async", hours="2.000002", requests=4)
        put_usage(split, day, "0.333333", "streaming", hours="0.111111", requests=5)
        put_usage(plain, day, "7.654321", hours="3.827160", requests=11)
    put_usage(plain, date(2026, 9, 30), "99.000000")
    put_usage(plain, date(2026, 11, 1), "88.000000")
    put_usage(key_of(globex, "globex-key-1"), date(2026, 10, 15), "5.000000")
    return {"split": split, "plain": plain}


def test_it_downloads_a_months_csv_as_an_attachment(client, customer_a_user, october_usage):
    client.force_login(customer_a_user)

    response = client.get(csv_url("2026-10"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == 'attachment; filename="usage-acme-voice-ltd-2026-10.csv"'
    )
    assert rows_of(response)[0] == HEADER


def test_it_has_a_row_per_key_day_and_method_sorted(client, customer_a_user, october_usage):
    client.force_login(customer_a_user)

    rows = rows_of(client.get(csv_url("2026-10")))[1:]

    assert len(rows) == 12
    assert [r[:4] for r in rows[:4]] == [
        ["2026-10-01", "acme-plain", "", "all"],
        ["2026-10-01", "acme-split", "Call centre", "async"],
        ["2026-10-01", "acme-split", "Call centre", "streaming"],
        ["2026-10-01", "acme-split", "Call centre", "sync"],
    ]
    assert rows[3][4:] == ["1.000001", "1.123456", "3"]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_its_sums_equal_the_stored_usage_exactly(client, customer_a_user, acme, october_usage):
    client.force_login(customer_a_user)

    rows = rows_of(client.get(csv_url("2026-10")))
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]

    stored = DailyUsage.objects.filter(
        api_key__customer=acme, day__range=(date(2026, 10, 1), date(2026, 10, 31))
    ).aggregate(hours=Sum("hours"), total_hours=Sum("total_hours"), requests=Sum("requests"))
    assert sum(D(r["hours"]) for r in body) == stored["hours"] == D("20.814822")
    assert sum(D(r["total_hours"]) for r in body) == stored["total_hours"] == D("33.333336")
    assert sum(int(r["requests"]) for r in body) == stored["requests"] == 69
    assert all(len(r["hours"].split(".")[1]) == 6 for r in body)


def test_it_holds_only_the_users_customer(client, customer_b_user, october_usage):
    client.force_login(customer_b_user)

    rows = rows_of(client.get(csv_url("2026-10")))

    globex_row = [
        "2026-10-15",
        "globex-key-1",
        "Globex Transcripts",
        "all",
        "5.000000",
        "5.000000",
        "10",
    ]
    assert rows == [HEADER, globex_row]


def test_it_answers_a_month_without_usage_with_the_header_only(
    client, customer_a_user, october_usage
):
    client.force_login(customer_a_user)

    rows = rows_of(client.get(csv_url("2025-01")))

    assert rows == [HEADER]


def test_it_serves_the_current_month_so_far(client, customer_a_user, october_usage):
    client.force_login(customer_a_user)

    rows = rows_of(client.get(csv_url("2026-11")))

    assert [r[:2] for r in rows[1:]] == [["2026-11-01", "acme-plain"]]


@pytest.mark.parametrize(
    "month", ["2026-12", "2027-01", "2026-13", "2026-00", "0000-01", "2026-1", "26-10", "2026-1x"]
)
def test_it_gives_404_for_a_malformed_or_future_month(client, customer_a_user, acme, month):
    client.force_login(customer_a_user)

    response = client.get(f"/portal/usage/{month}.csv")

    assert response.status_code == 404


def test_it_keeps_a_comment_from_running_as_a_formula(
    client, customer_a_user, acme, key_of, put_usage
):
    put_usage(key_of(acme, "acme-x", comment="=HYPERLINK(1)"), date(2026, 10, 2), "1.000000")
    client.force_login(customer_a_user)

    rows = rows_of(client.get(csv_url("2026-10")))

    assert rows[1][2] == "'=HYPERLINK(1)"


@pytest.mark.parametrize(
    "comment", ["=1+1", " =1+1", "\t=1+1", "\r\n=1", "\uff1d1+1", "+1", "-1", "@A1", "|calc"]
)
def test_it_neutralises_every_formula_start_in_a_comment(
    client, customer_a_user, acme, key_of, put_usage, comment
):
    put_usage(key_of(acme, "acme-x", comment=comment), date(2026, 10, 2), "1.500000")
    client.force_login(customer_a_user)

    [_, row] = rows_of(client.get(csv_url("2026-10")))

    assert row[2] == f"'{comment}"
    assert row[4:] == ["1.500000", "1.500000", "10"]
