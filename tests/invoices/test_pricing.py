from decimal import Decimal as D

import pytest

from invoices.money import quantize_money
from invoices.pricing import Plan, Tier, Usage, price_usage, tax_of


def usage(*quantities, method="all"):
    return [
        Usage(key_pk=n, key_label=f"key-{n}", method=method, quantity=D(q))
        for n, q in enumerate(quantities, start=1)
    ]


def amounts(lines):
    return [(line.kind, line.quantity, line.unit_price, line.amount) for line in lines]


def test_it_prices_each_key_at_the_rate():
    lines, _ = price_usage(
        Plan(currency="USD", rate_per_hour=D("0.258000")),
        usage("10.500000", "2.000001"),
        "October 2026",
    )

    assert amounts(lines) == [
        ("usage", D("10.500000"), D("0.258000"), D("2.71")),
        ("usage", D("2.000001"), D("0.258000"), D("0.52")),
    ]


def test_it_prices_methods_at_their_own_rates():
    plan = Plan(
        currency="USD",
        rate_per_hour=D("0.30"),
        method_rates={"streaming": D("0.462"), "async": D("0.258")},
    )
    lines, _ = price_usage(
        plan,
        usage("1", method="streaming") + usage("1", method="async") + usage("1", method="sync"),
        "October 2026",
    )

    assert sorted(line.unit_price for line in lines) == [D("0.258"), D("0.30"), D("0.462")]


def test_it_rounds_sub_cent_prices_half_up_once_per_line():
    lines, _ = price_usage(
        Plan(currency="USD", rate_per_hour=D("0.004300")),
        usage("1.000000", "1.000000", "1.000000"),
        "October 2026",
    )

    # Each line is 0.0043 -> 0.00; the sum of stored lines is what is billed, not 0.0129.
    assert [line.amount for line in lines] == [D("0.00")] * 3


def test_it_credits_included_hours_against_the_dearest_usage_first():
    plan = Plan(
        currency="USD",
        rate_per_hour=D("0.50"),
        included_hours=D("5"),
        method_rates={"streaming": D("0.80")},
    )
    lines, _ = price_usage(plan, usage("3", method="streaming") + usage("4"), "October 2026")

    credits = [
        (line.quantity, line.unit_price, line.amount) for line in lines if line.kind == "free_hours"
    ]
    assert credits == [
        (D("-3.000000"), D("0.80"), D("-2.40")),
        (D("-2.000000"), D("0.50"), D("-1.00")),
    ]
    assert sum(line.amount for line in lines) == D("1.00")


def test_it_never_credits_more_hours_than_were_used():
    plan = Plan(currency="USD", rate_per_hour=D("0.50"), included_hours=D("100"))
    lines, _ = price_usage(plan, usage("3"), "October 2026")

    assert sum(line.amount for line in lines) == D("0.00")


TIERED = Plan(
    currency="EUR",
    rate_per_hour=D("0"),
    tiers=(Tier(D("100"), D("0.500000")), Tier(D("500"), D("0.400000")), Tier(None, D("0.250000"))),
)


@pytest.mark.parametrize(
    ("hours", "bands", "total"),
    [
        ("99.999999", [("99.999999", "0.500000", "50.00")], "50.00"),
        ("100", [("100.000000", "0.500000", "50.00")], "50.00"),
        (
            "100.000001",
            [("100.000000", "0.500000", "50.00"), ("0.000001", "0.400000", "0.00")],
            "50.00",
        ),
        (
            "650",
            [
                ("100.000000", "0.500000", "50.00"),
                ("400.000000", "0.400000", "160.00"),
                ("150.000000", "0.250000", "37.50"),
            ],
            "247.50",
        ),
    ],
)
def test_it_prices_graduated_tiers_across_boundaries(hours, bands, total):
    lines, notes = price_usage(TIERED, usage(hours), "October 2026")

    tiers = [
        (str(line.quantity), str(line.unit_price), str(line.amount))
        for line in lines
        if line.kind == "tier"
    ]
    assert tiers == bands
    assert sum(line.amount for line in lines) == D(total)
    assert all(line.amount == 0 for line in lines if line.kind == "usage")
    assert any("in the tier" in note for note in notes)


def test_it_takes_included_hours_before_the_tiers():
    plan = Plan(currency="EUR", rate_per_hour=D("0"), included_hours=D("50"), tiers=TIERED.tiers)
    lines, _ = price_usage(plan, usage("160"), "October 2026")

    tiers = [(line.quantity, line.amount) for line in lines if line.kind == "tier"]
    assert tiers == [(D("100.000000"), D("50.00")), (D("10.000000"), D("4.00"))]


def test_it_tops_up_to_the_monthly_minimum():
    plan = Plan(currency="GBP", rate_per_hour=D("0.50"), monthly_minimum=D("25.00"))
    lines, notes = price_usage(plan, usage("10"), "October 2026")

    assert amounts(lines)[-1] == ("minimum", D("1.000000"), D("20.00"), D("20.00"))
    assert sum(line.amount for line in lines) == D("25.00")
    assert "below the monthly minimum" in notes[-1]


def test_it_bills_the_platform_fee_apart_even_without_usage():
    plan = Plan(currency="USD", rate_per_hour=D("0.50"), platform_fee=D("49.00"))
    lines, _ = price_usage(plan, [], "October 2026")

    assert amounts(lines) == [("platform_fee", D("1.000000"), D("49.00"), D("49.00"))]


def test_it_computes_tax_once_on_the_subtotal():
    assert tax_of(D("0.05"), D("20.00"), "GBP") == D("0.01")
    assert tax_of(D("247.50"), D("19.00"), "EUR") == D("47.03")


def test_it_rounds_to_the_currency_minor_unit():
    assert quantize_money(D("2.345"), "USD") == D("2.35")
    assert quantize_money(D("2.5"), "JPY") == D("3")
    assert quantize_money(D("1.2345"), "KWD") == D("1.235")
    with pytest.raises(TypeError):
        quantize_money(2.345, "USD")
