"""Price ladders against the published test cases of Lago's charge models (graduated, volume,
package) and hand-computed ones, and the ladders finance cannot save (overlapping or open-less
tiers, negative or zero-width packages)."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoices.ladders import Ladder, Step, ladder_amount, ladder_charges, ladder_problems
from invoices.money import quantize_money

# Lago's GraduatedService spec: 0-10 at 10 with a flat 2, 11 and above at 5 with a flat 3.
LAGO_GRADUATED = Ladder("graduated", steps=(Step(D(10), D(10), D(2)), Step(None, D(5), D(3))))
# Lago's VolumeService spec: 0-100 at 2 (flat 10), 101-200 at 1, 201 and above at 0.5 (flat 50).
LAGO_VOLUME = Ladder(
    "volume",
    steps=(Step(D(100), D(2), D(10)), Step(D(200), D(1)), Step(None, D("0.5"), D(50))),
)


@pytest.mark.parametrize(
    ("units", "amount"),
    [(0, 0), (1, 12), (10, 102), (11, 110), (12, 115)],
)
def test_graduated_as_lagos_spec(units, amount):
    assert ladder_amount(LAGO_GRADUATED, D(units)) == amount


@pytest.mark.parametrize(
    ("units", "amount"),
    [(0, 0), (1, 12), (100, 210), (101, 101), (200, 200), (300, 200)],
)
def test_volume_as_lagos_spec(units, amount):
    assert ladder_amount(LAGO_VOLUME, D(units)) == amount


@pytest.mark.parametrize(
    ("units", "amount"),
    [(0, 0), (1, 100), (10, 100), (111, 1200), (121, 1300)],  # Lago's PackageService: 121 -> 1300
)
def test_packages_round_the_last_block_up_as_lagos_spec(units, amount):
    assert (
        ladder_amount(Ladder("package", unit_price=D(100), package_size=D(10)), D(units)) == amount
    )


def test_graduated_bands_name_their_units():
    ladder = Ladder(
        "graduated",
        steps=(Step(D(100), D("1.00")), Step(D(485), D("0.80")), Step(None, D("0.50"))),
    )

    charges = ladder_charges(ladder, D("489.3343"))

    assert [(c.span, c.quantity, c.unit_price) for c in charges] == [
        ("0 to 100", D(100), D("1.00")),
        ("100 to 485", D(385), D("0.80")),
        ("above 485", D("4.3343"), D("0.50")),
    ]
    assert ladder_amount(ladder, D("489.3343")) == D("410.16715")
    # The month priced again after a late decrease of 10 h: 6.70 less, not 10 x 0.50.
    billed, now = (
        quantize_money(ladder_amount(ladder, D(h)), "USD") for h in ("489.3343", "479.3343")
    )
    assert (billed, now, billed - now) == (D("410.17"), D("403.47"), D("6.70"))


def test_fractional_quantities_and_a_free_first_tier():
    ladder = Ladder("graduated", steps=(Step(D("0.5"), D(0)), Step(None, D("0.0043"))))

    assert ladder_amount(ladder, D("0.4")) == 0
    assert ladder_amount(ladder, D("1234.5")) == D("1234.0") * D("0.0043")


def test_a_unit_price_of_zero_is_free_not_missing():
    assert ladder_amount(Ladder("unit", unit_price=D(0)), D(1000)) == 0
    assert ladder_problems(Ladder("unit", unit_price=D(0))) == []


@pytest.mark.parametrize(
    ("ladder", "problem"),
    [
        (Ladder("graduated"), "has no tiers"),
        (Ladder("volume", steps=(Step(D(10), D(1)),)), "must be open"),
        (Ladder("graduated", steps=(Step(None, D(1)), Step(None, D(2)))), "not the last"),
        (
            Ladder("graduated", steps=(Step(D(10), D(1)), Step(D(10), D(1)), Step(None, D(1)))),
            "overlap",
        ),
        (
            Ladder("volume", steps=(Step(D(20), D(1)), Step(D(10), D(1)), Step(None, D(1)))),
            "rise strictly",
        ),
        (Ladder("graduated", steps=(Step(D(0), D(1)), Step(None, D(1)))), "above 0"),
        (Ladder("graduated", steps=(Step(D(10), D(-1)), Step(None, D(1)))), "negative"),
        (Ladder("volume", steps=(Step(None, D(1), D(-5)),)), "negative"),
        (Ladder("package", unit_price=D(5), package_size=D(0)), "more than 0 units"),
        (Ladder("package", unit_price=D(5), package_size=D(-10)), "more than 0 units"),
        (Ladder("package", unit_price=D(-5), package_size=D(10)), "negative"),
        (Ladder("unit", unit_price=D("-0.01")), "negative"),
        (Ladder("stairs"), "unknown model"),
    ],
)
def test_it_refuses_ladders_that_cannot_price(ladder, problem):
    problems = ladder_problems(ladder, "Entry 1")

    assert problems and any(problem in text for text in problems)
    assert all(text.startswith("Entry 1") for text in problems)


quantities = st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False)
bounds = st.lists(
    st.decimals(min_value="0.000001", max_value=10**5, places=6),
    min_size=1,
    max_size=5,
    unique=True,
)
prices = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False)


@given(quantities, bounds, prices)
def test_one_graduated_step_is_a_unit_price(quantity, _, price):
    assert (
        ladder_amount(Ladder("graduated", steps=(Step(None, price),)), quantity) == quantity * price
    )


@given(quantities, bounds, st.lists(prices, min_size=6, max_size=6))
def test_graduated_bands_add_up_to_the_quantity(quantity, ups, step_prices):
    steps = tuple(Step(up, price) for up, price in zip(sorted(ups), step_prices, strict=False))
    ladder = Ladder("graduated", steps=(*steps, Step(None, step_prices[-1])))

    assert sum((c.quantity for c in ladder_charges(ladder, quantity)), D(0)) == quantity
    assert ladder_amount(ladder, quantity) >= 0


@given(quantities, quantities, bounds, st.lists(prices, min_size=6, max_size=6))
def test_graduated_never_bills_less_for_more(a, b, ups, step_prices):
    steps = tuple(Step(up, price) for up, price in zip(sorted(ups), step_prices, strict=False))
    ladder = Ladder("graduated", steps=(*steps, Step(None, step_prices[-1])))
    low, high = sorted((a, b))

    assert ladder_amount(ladder, low) <= ladder_amount(ladder, high)


# Kill Bill's consumable in-arrear tiers (TestContiguousIntervalConsumableInArrear): tier 1 of
# 10 units at 1.5, tier 2 of 100 at 1, tier 3 at 0.5; 111 units.
KILL_BILL_STEPS = (Step(D(10), D("1.5")), Step(D(110), D(1)), Step(None, D("0.5")))


def test_graduated_as_kill_bills_all_tiers():
    charges = ladder_charges(Ladder("graduated", steps=KILL_BILL_STEPS), D(111))

    assert [c.amount for c in charges] == [D("15.0"), D("100"), D("0.5")]  # 115.5


def test_volume_as_kill_bills_top_tier():
    assert ladder_amount(Ladder("volume", steps=KILL_BILL_STEPS), D(111)) == D("55.5")
