"""The usage page: the months that have usage, newest first, each with its CSV."""

from datetime import date

from django.urls import reverse

USAGE = reverse("portal:usage")


def test_it_lists_the_months_with_usage_newest_first(
    client, customer_a_user, acme, globex, key_of, put_usage
):
    key = key_of(acme, "acme-key-1")
    put_usage(key, date(2026, 8, 31), "1.500000")
    put_usage(key, date(2026, 10, 1), "2.000000")
    put_usage(key, date(2026, 10, 2), "0.250000")
    put_usage(key_of(globex, "globex-key-1"), date(2026, 9, 5), "9.000000")
    client.force_login(customer_a_user)

    response = client.get(USAGE)

    months = [row["month"] for row in response.context["months"]]
    assert months == [date(2026, 10, 1), date(2026, 8, 1)]
    page = response.content.decode()
    assert page.index("October 2026") < page.index("August 2026")
    assert "September 2026" not in page
    assert 'href="/portal/usage/2026-10.csv"' in page
    assert 'href="/portal/usage/2026-08.csv"' in page
    assert "2.25" in page and "2.250000" not in page  # to a hundredth; the CSV keeps 6


def test_it_says_when_there_is_no_usage(client, customer_a_user, acme):
    client.force_login(customer_a_user)

    response = client.get(USAGE)

    assert "No usage recorded yet" in response.content.decode()


def test_its_query_count_does_not_grow_with_months(
    client, customer_a_user, acme, key_of, put_usage, django_assert_num_queries
):
    key = key_of(acme, "acme-key-1")
    put_usage(key, date(2026, 10, 1), "1.000000")
    client.force_login(customer_a_user)
    with django_assert_num_queries(4):  # session, user, membership, months
        client.get(USAGE)

    for month in range(1, 10):
        put_usage(key, date(2026, month, 3), "1.000000")

    with django_assert_num_queries(4):
        assert len(client.get(USAGE).context["months"]) == 10
