"""A key's admin page shows its last sync and its usage this month, per line item and unit
(`usage.templatetags.key_tags`), in a fixed number of queries."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from usage.line_items import seed_line_items
from usage.models import DailyCost, DailyUsage, KeySyncState
from usage.templatetags.key_tags import key_sync_and_usage

NOW = datetime(2026, 10, 20, 9, 30, tzinfo=UTC)
OCTOBER_5 = date(2026, 10, 5)
TAG = Template("{% load key_tags %}{% key_sync_and_usage key %}")
# The tag alone: the key's sync state, its usage rows, the line-item mapping; and the cost.
TAG_QUERIES = 3
TAG_QUERIES_WITH_COST = 4


@pytest.fixture
def client(db):
    """The web client (the usage conftest's `client` is the Deepgram one)."""
    return Client()


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def line_items(db):
    seed_line_items({"streaming::nova-3": "Nova-3 streaming", "sync::aura-2": "Aura-2 speech"})


@pytest.fixture
def key(customer_a, key_of):
    return key_of(customer_a)


def usage(key, day, endpoint, method, model, **units):
    return DailyUsage.objects.create(
        api_key=key,
        day=day,
        endpoint=endpoint,
        method=method,
        model=model,
        first_seen_at=NOW,
        changed_at=NOW,
        **units,
    )


def cost(key, day, line_item, dollars):
    return DailyCost.objects.create(
        api_key=key,
        day=day,
        line_item=line_item,
        dollars=dollars,
        first_seen_at=NOW,
        changed_at=NOW,
    )


def key_page(client, user, key) -> str:
    client.force_login(user)
    response = client.get(reverse("admin:customers_apikey_change", args=[key.pk]))
    assert response.status_code == 200
    return response.text


@pytest.fixture
def month(key, key_of, customer_b, line_items):
    """October so far for Acme's key: Nova-3 streaming on two days, Aura-2 speech, a model
    no rule maps, and Deepgram's dollars; September's and Globex's rows are not its month."""
    usage(key, OCTOBER_5, "listen", "streaming", "nova-3", hours=D("1.5"), total_hours=D("3"),
          requests=4)  # fmt: skip
    usage(key, OCTOBER_5 + timedelta(days=1), "listen", "streaming", "nova-3",
          hours=D("0.25"), total_hours=D("0.25"), requests=1)  # fmt: skip
    usage(key, OCTOBER_5, "speak", "sync", "aura-2", tts_characters=123_456, requests=7)
    usage(key, OCTOBER_5, "listen", "sync", "whisper-x", hours=D("0.5"), total_hours=D("0.5"),
          requests=2)  # fmt: skip
    usage(key, date(2026, 9, 30), "listen", "streaming", "nova-3", hours=D(100), requests=9)
    usage(key_of(customer_b), OCTOBER_5, "listen", "streaming", "nova-3", hours=D(50))
    cost(key, OCTOBER_5, "streaming::nova-3", D("0.077000"))
    cost(key, OCTOBER_5, "sync::aura-2", D("1.851840"))
    cost(key, date(2026, 9, 30), "streaming::nova-3", D("9.000000"))
    return key


def rows_of(context) -> list[tuple]:
    return [(row["label"], [v for v, _ in row["cells"]], row["dollars"]) for row in context]


def request_of(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def render(user, key) -> dict:
    """The tag's context for `user`'s page of `key`."""
    return key_sync_and_usage({"request": request_of(user)}, key)


def test_it_shows_a_new_key_as_never_synced_with_a_link_to_its_row(client, support_user, key):
    page = key_page(client, support_user, key)

    state = KeySyncState.objects.get(api_key=key)
    assert "Never synced" in page
    assert reverse("admin:usage_keysyncstate_change", args=[state.pk]) in page
    assert "No usage stored for this key this month (it has never synced)." in page


def test_it_shows_when_the_last_sync_succeeded_and_how_far(client, support_user, key):
    KeySyncState.objects.filter(api_key=key).update(
        last_success_at=NOW - timedelta(hours=6), synced_through=date(2026, 10, 19)
    )

    page = key_page(client, support_user, key)

    assert "Succeeded 2026-10-20 03:30 UTC" in page
    assert "Mon 19 Oct 2026 (UTC)" in page
    assert "Never synced" not in page


def test_it_shows_a_failed_last_attempt_with_its_kind(client, support_user, key):
    KeySyncState.objects.filter(api_key=key).update(
        last_success_at=NOW - timedelta(days=2),
        last_error_at=NOW - timedelta(hours=1),
        last_error_kind="ServerError",
        last_error="Deepgram answered 503",
        consecutive_failures=3,
    )

    page = key_page(client, support_user, key)

    assert "Failed</span> 2026-10-20 08:30 UTC: ServerError (3 failures in a row)" in page
    assert "last success 2026-10-18 09:30 UTC" in page
    assert "Deepgram answered 503" in page


def test_a_success_after_a_failure_reads_as_succeeded(support_user, key):
    KeySyncState.objects.filter(api_key=key).update(
        last_success_at=NOW, last_error_at=NOW - timedelta(hours=1), consecutive_failures=0
    )

    last = render(support_user, key)["last"]

    assert (last.never, last.failed, last.at) == (False, False, NOW)


def test_it_sums_this_months_usage_per_line_item_and_unit(support_user, month):
    context = render(support_user, month)

    assert (context["start"], context["end"]) == (date(2026, 10, 1), date(2026, 10, 20))
    assert [label for label, _ in context["columns"]] == [
        "Billed hours (every channel)",
        "Audio hours",
        "Requests",
        "TTS characters",
    ]
    assert rows_of(context["rows"]) == [
        ("Aura-2 speech", [D(0), D(0), 7, 123_456], None),
        ("Nova-3 streaming", [D("3.25"), D("1.75"), 5, 0], None),
        ("Unmapped", [D("0.5"), D("0.5"), 2, 0], None),
    ]
    assert rows_of([context["total"]]) == [("Total", [D("3.75"), D("2.25"), 14, 123_456], None)]


def test_it_shows_deepgrams_cost_to_finance(finance_user, month):
    context = render(finance_user, month)

    assert context["with_cost"]
    dollars = {row["label"]: row["dollars"] for row in context["rows"]}
    assert dollars == {
        "Aura-2 speech": D("1.851840"),
        "Nova-3 streaming": D("0.077000"),
        "Unmapped": None,
    }
    assert context["total"]["dollars"] == D("1.928840")


def test_it_shows_support_no_cost(client, support_user, finance_user, month):
    assert "Deepgram cost (USD)" not in key_page(client, support_user, month)
    page = key_page(client, finance_user, month)
    assert "Deepgram cost (USD)" in page
    assert ">1.93</td>" in page  # the total, to the cent


def test_it_lists_cost_of_a_line_item_without_usage(finance_user, key, line_items):
    cost(key, OCTOBER_5, "agent::voice-agent", D("2.500000"))

    [row] = render(finance_user, key)["rows"]

    assert (row["label"], row["code"], row["dollars"]) == (
        "agent::voice-agent",
        "agent::voice-agent",
        D("2.500000"),
    )


def test_it_shows_the_page_figures_rounded_and_links_the_rows(client, support_user, month):
    page = key_page(client, support_user, month)

    assert "Usage this month: 1 to 20 Oct 2026 (UTC days)" in page
    assert 'title="3.250000 h">3.25</td>' in page
    assert ">123,456</td>" in page
    assert f"?period=month&amp;q={month.key_id}" in page


@pytest.mark.parametrize(
    ("user", "queries"), [("support_user", TAG_QUERIES), ("finance_user", TAG_QUERIES_WITH_COST)]
)
def test_it_reads_in_a_fixed_number_of_queries(
    request, django_assert_num_queries, month, user, queries
):
    user = request.getfixturevalue(user)
    user.has_perm("usage.view_dailycost")  # the page's permissions are read once, by the admin
    for n in range(20):
        usage(month, OCTOBER_5, "listen", "sync", f"model-{n}", hours=D(1), requests=1)

    with django_assert_num_queries(queries):
        html = TAG.render(Context({"request": request_of(user), "key": month}))

    # The head, two line items, "Unmapped" (the 20 models no rule maps, summed) and the total.
    assert html.count("<tr>") == 5


def test_the_key_page_costs_the_same_queries_with_many_rows(client, support_user, key, month):
    key_page(client, support_user, key)
    with CaptureQueriesContext(connection) as few:
        key_page(client, support_user, key)
    for n in range(30):
        usage(key, OCTOBER_5, "listen", "sync", f"model-{n}", hours=D(1), requests=1)
    with CaptureQueriesContext(connection) as many:
        key_page(client, support_user, key)

    assert len(many) == len(few)


def test_it_needs_a_user_who_may_read_keys_for_links(key):
    context = render(AnonymousUser(), key)

    assert (context["state_url"], context["usage_url"], context["with_cost"]) == ("", "", False)
