"""A month of usage in the portal per line item (models, text to speech, voice agent), with
a chart per unit; only the customer's own keys, in a bounded number of queries."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

from django.urls import reverse

from usage.line_items import seed_line_items
from usage.models import DailyUsage

USAGE = reverse("portal:usage")


def use(key, day, *, endpoint, method, model, **units):
    now = datetime.now(UTC)
    return DailyUsage.objects.create(
        api_key=key, day=day, endpoint=endpoint, method=method, model=model,
        first_seen_at=now, changed_at=now, requests=1, **units,
    )  # fmt: skip


def test_a_month_per_line_item_with_a_chart_per_unit(
    client, customer_a_user, acme, globex, key_of, django_assert_num_queries
):
    key = key_of(acme, "acme-key-1")
    use(key, date(2026, 11, 3), endpoint="listen", method="streaming", model="nova-3",
        hours=D("2"), total_hours=D("2.5"))  # fmt: skip
    use(key, date(2026, 11, 4), endpoint="speak", method="sync", model="aura-2",
        tts_characters=12_345)  # fmt: skip
    use(key, date(2026, 11, 5), endpoint="agent", method="streaming", model="voice-agent",
        agent_hours=D("1.25"))  # fmt: skip
    use(key_of(globex, "globex-key-1"), date(2026, 11, 3), endpoint="listen",
        method="streaming", model="nova-3", hours=D("9"), total_hours=D("9"))  # fmt: skip
    client.force_login(customer_a_user)

    # The session, the user, the customer; the rows per day and line item, the mapping.
    with django_assert_num_queries(5):
        response = client.get(USAGE, {"month": "2026-11"})

    page = response.content.decode()
    units = [u["unit"] for u in response.context["units"]]
    assert units == ["total_hours", "agent_hours", "tts_characters"]
    audio, agent, speech = response.context["units"]
    assert [quantity for _, quantity in audio["items"]] == [D("2.5")]  # not Globex's 9 h
    assert audio["chart"].total == D("2.5") and len(audio["chart"].bars) == 1
    assert [quantity for _, quantity in agent["items"]] == [D("1.25")]
    assert [quantity for _, quantity in speech["items"]] == [12_345]
    assert "Usage in November 2026" in page and "12,345" in page and "2.50 h" in page
    assert 'id="unit-tts_characters"' in page
    assert "Text-to-speech characters per day and line item" in page


def test_each_unit_has_a_series_per_line_item(client, customer_a_user, acme, key_of):
    seed_line_items({"streaming::nova-3": "Nova-3 (Stream)", "streaming::nova-2": "Nova-2 (Str)"})
    key = key_of(acme, "acme-key-1")
    for day, model, hours in ((3, "nova-3", "2"), (3, "nova-2", "1"), (4, "nova-2", "4")):
        use(key, date(2026, 11, day), endpoint="listen", method="streaming", model=model,
            hours=D(hours), total_hours=D(hours))  # fmt: skip
    client.force_login(customer_a_user)

    [audio] = client.get(USAGE, {"month": "2026-11"}).context["units"]

    chart = audio["chart"]
    assert [(s.label, s.total) for s in chart.series] == [  # the largest first
        ("Nova-2 (Str)", D("5")),
        ("Nova-3 (Stream)", D("2")),
    ]
    assert len({s.colour for s in chart.series}) == 2
    third, fourth = chart.bars
    assert [(seg.series.total, seg.value) for seg in third.segments] == [
        (D("5"), D("1")),
        (D("2"), D("2")),
    ]
    assert (fourth.total, chart.peak) == (D("4"), D("4"))


def test_the_month_list_links_each_month(client, customer_a_user, acme, key_of, put_usage):
    put_usage(key_of(acme, "acme-key-1"), date(2026, 10, 1), "2.000000")
    client.force_login(customer_a_user)

    page = client.get(USAGE).content.decode()

    assert 'href="/portal/usage/?month=2026-10"' in page


def test_a_month_without_usage_says_so_and_a_bad_month_is_not_found(client, customer_a_user, acme):
    client.force_login(customer_a_user)

    assert "No usage recorded in October 2026" in client.get(USAGE, {"month": "2026-10"}).text
    for bad in ("2026-13", "next", "2027-01"):  # no such month, or not begun
        assert client.get(USAGE, {"month": bad}).status_code == 404
