"""The dashboard's estimate card: this month's charge so far as the draft would price it,
by key name, saying what it is (an estimate, its tax) or why there is none; its queries do
not grow with the keys."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse

from invoices.models import CustomerPlan, ExchangeRate, PricePlan
from usage.models import DailyCost

HOME = reverse("portal:home")


def test_it_shows_this_months_estimate_by_key_name(client, customer_a_user, acme, key_of,
                                                   put_usage):  # fmt: skip
    put_usage(key_of(acme, "acme-key-1", comment="Call centre"), date(2026, 11, 3), "10.000000")
    client.force_login(customer_a_user)

    response = client.get(HOME)

    [estimate] = response.context["estimates"]
    assert estimate.total == D("15.10")  # 10 h at 0.258 = 2.58 and the fee 10.00, 20 % tax
    page = response.content.decode()
    assert "Estimated charge for November 2026 so far" in page
    assert '<span class="estimate-total">15.10</span> USD' in page
    assert "An estimate, not an invoice, including 20 % tax." in page
    assert "Call centre" in page and "Platform subscription, November 2026" in page
    card = page[page.index('id="estimate-2026-11"') : page.index("Balance due")]
    assert "acme-key-1" not in card


def test_without_a_plan_it_says_so_instead_of_a_number(client, customer_a_user, customer_a):
    client.force_login(customer_a_user)

    page = client.get(HOME).content.decode()

    assert "There is no price plan for November 2026 on your account yet" in page
    assert "estimate-total" not in page


@pytest.mark.parametrize("mode", ["hourly", "rate_card", "cost_plus"])
def test_its_query_count_does_not_grow_with_the_keys(
    mode, client, customer_a_user, customer_a, key_of, put_usage, django_assert_num_queries
):
    plan = PricePlan.objects.create(name=mode, currency="EUR", mode=mode, rate_per_hour=D("1"))
    if mode == "rate_card":
        plan.card_entries.create(position=0, name="Audio", unit="audio_minutes",
                                 unit_price=D("0.01"))  # fmt: skip
    CustomerPlan.objects.create(customer=customer_a, plan=plan, effective_from=date(2026, 1, 1))
    ExchangeRate.objects.create(day=date(2026, 11, 2), currency="EUR", per_usd=D("0.9"))
    now = datetime.now(UTC)

    def more_keys(n):
        for _ in range(n):
            key = key_of(customer_a)
            put_usage(key, date(2026, 11, 3), "1.000000", method="streaming")
            DailyCost.objects.create(api_key=key, day=date(2026, 11, 3), line_item="x::y",
                                     dollars=D("1"), first_seen_at=now, changed_at=now)  # fmt: skip

    client.force_login(customer_a_user)
    more_keys(1)
    # The page's 10 (tests/portal/test_dashboard.py) and the draft's inputs for one customer:
    # plans and tiers, terms, invoices, keys, usage (and the rate card; the cost and rates)
    queries = {"hourly": 17, "rate_card": 19, "cost_plus": 21}[mode]
    with django_assert_num_queries(queries):
        response = client.get(HOME)
    assert response.context["estimates"][0].has_total

    more_keys(9)
    with django_assert_num_queries(queries):
        response = client.get(HOME)
    assert len(response.context["estimates"][0].groups) == 10  # a group a key
