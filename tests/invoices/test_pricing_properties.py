"""Properties of pricing that must hold for any usage (hypothesis)."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from invoices.money import minor_unit, quantize_money
from invoices.pricing import Plan, Tier, Usage, price_usage, tax_of

hours = st.decimals(min_value=0, max_value=100_000, places=6, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=0, max_value=5, places=6, allow_nan=False, allow_infinity=False)
money = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def plans(draw):
    bounds = sorted(set(draw(st.lists(hours.filter(lambda h: h > 0), max_size=3))))
    tier_rates = draw(st.lists(rates, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    tiers = tuple(Tier(b, r) for b, r in zip([*bounds, None], tier_rates, strict=True))
    currency = draw(st.sampled_from(["USD", "EUR", "JPY", "KWD"]))
    return Plan(
        currency=currency,
        rate_per_hour=draw(rates),
        method_rates=draw(
            st.dictionaries(st.sampled_from(["sync", "async", "streaming"]), rates, max_size=3)
        ),
        tiers=tiers if draw(st.booleans()) else (),
        included_hours=draw(hours),
        # Plans state money in their currency's minor unit (no cents in yen).
        monthly_minimum=quantize_money(draw(money), currency),
        platform_fee=quantize_money(draw(money), currency),
    )


usages = st.lists(
    st.builds(
        Usage,
        key_pk=st.integers(1, 5),
        key_label=st.text("abc", min_size=1, max_size=3),
        method=st.sampled_from(["all", "sync", "async", "streaming"]),
        quantity=hours,
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(plans(), usages, st.decimals(min_value=0, max_value=30, places=2))
def test_it_bills_exactly_the_sum_of_its_lines_plus_tax(plan, usage, tax_rate):
    lines, _ = price_usage(plan, usage, "October 2026")

    subtotal = sum((line.amount for line in lines), D(0))
    for line in lines:
        assert line.amount == quantize_money(line.quantity * line.unit_price, plan.currency)
    assert subtotal >= plan.monthly_minimum + plan.platform_fee
    assert subtotal + tax_of(subtotal, tax_rate, plan.currency) == subtotal + quantize_money(
        subtotal * tax_rate / 100, plan.currency
    )


@settings(max_examples=300, deadline=None)
@given(plans(), usages)
def test_it_never_charges_tiers_above_the_highest_rate(plan, usage):
    lines, _ = price_usage(plan, usage, "October 2026")

    tier_lines = [line for line in lines if line.kind == "tier"]
    if plan.tiers:
        top = max(t.rate_per_hour for t in plan.tiers)
        billed = sum((line.quantity for line in tier_lines), D(0))
        tier_amount = sum((line.amount for line in tier_lines), D(0))
        slack = len(tier_lines) * minor_unit(plan.currency) / 2  # half-up, once per line
        assert tier_amount <= billed * top + slack
        total = sum((u.quantity for u in usage), D(0))
        assert billed == max(D(0), total - min(total, plan.included_hours)).quantize(D("0.000001"))


@settings(max_examples=200, deadline=None)
@given(plans(), usages)
def test_it_prices_the_same_usage_the_same_way(plan, usage):
    assert price_usage(plan, usage, "October 2026") == price_usage(
        plan, list(usage), "October 2026"
    )
