"""Cost plus: Deepgram's cost per key and line item, converted at the month's rate, times
(1 + markup), at least a minimum per unit; exact pass-through at markup 0."""

from decimal import ROUND_HALF_UP
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from invoices.cost_plus import CostPlus, CostUsage, price_cost_plus
from invoices.money import minor_unit
from invoices.pricing import Plan

COSTS = [
    CostUsage(1, "key-1", "streaming::nova-3", "Nova-3, streaming", D("9.505650"), D("1234.5")),
    CostUsage(1, "key-1", "sync::aura-2", "Aura-2 text to speech", D("70.370340")),
    CostUsage(2, "key-2", "agent::voice-agent", "Voice agent", D("55.800000"), D("744")),
]


def plan(currency="USD", **more) -> Plan:
    return Plan(currency=currency, rate_per_hour=D(0), **more)


def test_markup_on_deepgrams_cost_in_dollars():
    lines, notes = price_cost_plus(plan(), CostPlus(markup_percent=D(20)), COSTS, D(1), "Oct")

    assert [(line.description, line.amount) for line in lines] == [
        ("Nova-3, streaming, key key-1: Deepgram's cost in USD plus 20 %", D("11.41")),
        ("Aura-2 text to speech, key key-1: Deepgram's cost in USD plus 20 %", D("84.44")),
        ("Voice agent, key key-2: Deepgram's cost in USD plus 20 %", D("66.96")),
    ]
    assert notes[0] == "Deepgram's cost of each key and line item in Oct plus 20 %."


def test_converted_at_the_months_rate_in_euros_and_yen():
    euro, _ = price_cost_plus(plan("EUR"), CostPlus(), COSTS[:1], D("0.9523809524"), "Oct")
    yen, notes = price_cost_plus(
        plan("JPY"), CostPlus(D(10)), COSTS[:1], D("152.3809523810"), "Oct"
    )

    assert euro[0].amount == D("9.05")  # 9.50565 / 1.05 = 9.0530
    assert yen[0].amount == D(1593)  # 9.50565 x 152.38095 x 1.1 = 1,593.34
    assert "at 1 USD = 152.3809523810 JPY plus 10 %" in notes[0]


def test_a_three_decimal_currency_rounds_to_its_fils():
    # Pure pricing rounds to any ISO minor unit; a KWD invoice end to end (stored, printed,
    # paid, exported in fils) is in test_three_decimal_currencies.
    [line], _ = price_cost_plus(plan("KWD"), CostPlus(D(15)), COSTS[:1], D("0.3074285714"), "Oct")

    assert line.amount == D("3.361")  # 9.50565 x 0.30742857 x 1.15 = 3.36063


def test_a_minimum_per_unit_bills_at_least_the_usage_times_it():
    rule = CostPlus(markup_percent=D(0), minimum_per_unit=D("0.010"), unit="min")

    lines, _ = price_cost_plus(plan(), rule, COSTS, D(1), "Oct")

    by_label = {line.description.split(",")[0]: line for line in lines}
    nova = by_label["Nova-3"]
    assert (nova.quantity, nova.unit_price, nova.amount) == (D("1234.5"), D("0.010"), D("12.35"))
    assert nova.description.endswith(": 1,234.5 min at the minimum of 0.010/min")
    assert by_label["Aura-2 text to speech"].amount == D("70.37")  # no usage in minutes
    assert by_label["Voice agent"].amount == D("55.80")  # 744 x 0.01 = 7.44 < its cost


def test_the_markup_can_be_kept_off_the_document():
    lines, notes = price_cost_plus(
        plan(), CostPlus(D(20), show_markup=False), COSTS[:1], D(1), "Oct"
    )

    assert lines[0].description == "Nova-3, streaming, key key-1: at Deepgram's cost"
    assert (lines[0].quantity, lines[0].unit_price, lines[0].amount) == (1, D("11.41"), D("11.41"))
    assert "%" not in notes[0] and "%" not in lines[0].description


def test_minimum_and_fee_after():
    lines, _ = price_cost_plus(
        plan(monthly_minimum=D(200), platform_fee=D(10)), CostPlus(), COSTS, D(1), "Oct"
    )

    assert [(line.kind, line.amount) for line in lines[-2:]] == [
        ("minimum", D("64.32")),  # the cost came to 135.68
        ("platform_fee", D(10)),
    ]


dollars = st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False)
rates = st.decimals(min_value="0.0001", max_value=20_000, places=10, allow_nan=False)


@given(
    st.lists(dollars, min_size=1, max_size=8),
    rates,
    st.sampled_from(["USD", "EUR", "JPY", "GBP", "KWD"]),
)
def test_markup_zero_is_deepgrams_cost_converted_within_half_a_minor_unit_a_line(
    amounts, rate, currency
):
    costs = [CostUsage(n, f"k{n}", "sync::nova-3", "Nova-3", d) for n, d in enumerate(amounts)]

    lines, _ = price_cost_plus(plan(currency), CostPlus(), costs, rate, "Oct")

    half = minor_unit(currency) / 2
    exact = {f"k{n}": d * rate for n, d in enumerate(amounts) if d}
    assert len(lines) == len(exact)
    for line in lines:
        key = line.description.split("key ")[1].split(":")[0]
        assert abs(line.amount - exact[key]) <= half
        assert line.amount == exact[key].quantize(minor_unit(currency), ROUND_HALF_UP)


MEASURED = [  # the same month with each line item's usage by allowance measure
    CostUsage(1, "key-1", "streaming::nova-3", "Nova-3, streaming", D("9.505650"), None,
              (("audio", D("20.575")),)),
    CostUsage(1, "key-1", "sync::aura-2", "Aura-2 text to speech", D("70.370340"), None,
              (("characters", D("2345678")),)),
    CostUsage(2, "key-2", "agent::voice-agent", "Voice agent", D("55.800000"), None,
              (("agent", D("12.4")),)),
    CostUsage(2, "key-2", "streaming::nova-2", "Nova-2, streaming", D("2.000000"), None,
              (("audio", D("10")),)),
]  # fmt: skip


def test_allowances_are_credited_against_their_own_measure_dearest_first():
    allowances = {"audio": D("25"), "characters": D("1000000"), "agent": D(0), "tokens": D(0)}

    lines, notes = price_cost_plus(plan(), CostPlus(D(20)), MEASURED, D(1), "Oct", allowances)

    credits = [(line.description, line.amount) for line in lines if line.kind == "free_hours"]
    # Audio: Nova-3 at 11.41 / 20.575 h = 0.5546/h is dearer than Nova-2 at 2.40 / 10 h =
    # 0.24/h: its 20.575 h go whole (-11.41), then 4.425 h of Nova-2: 2.40 x 0.4425 = 1.062.
    # Characters: 1,000,000 of Aura-2's 2,345,678 at 84.44: 84.44 x 0.42631... = 35.998.
    assert credits == [
        ("Included audio hours: 20.575 h of Nova-3, streaming, key key-1", D("-11.41")),
        ("Included audio hours: 4.425 h of Nova-2, streaming, key key-2", D("-1.06")),
        ("Included text-to-speech characters: 1,000,000 characters of Aura-2 text to speech, "
         "key key-1", D("-36.00")),
    ]  # fmt: skip
    assert "25 of 25 included audio hours credited, dearest per unit first." in notes
    usage = sum(line.amount for line in lines if line.kind == "usage")
    assert sum(line.amount for line in lines) == usage - D("11.41") - D("1.06") - D("36.00")


def test_an_allowance_larger_than_the_usage_credits_it_whole_then_the_minimum_applies():
    allowances = {"audio": D(0), "characters": D(0), "agent": D("100"), "tokens": D(0)}
    minimum = plan(monthly_minimum=D("150.00"))

    lines, notes = price_cost_plus(minimum, CostPlus(D(20)), MEASURED, D(1), "Oct", allowances)

    [credit] = [line for line in lines if line.kind == "free_hours"]
    assert credit.amount == D("-66.96")  # the agent line whole, never below zero
    assert "12.4 of 100 included voice agent hours credited" in " ".join(notes)
    # Usage 11.41 + 84.44 + 66.96 + 2.40 = 165.21, less 66.96 = 98.25: topped up to 150.
    [top_up] = [line for line in lines if line.kind == "minimum"]
    assert top_up.amount == D("51.75")
    assert sum(line.amount for line in lines) == D("150.00")


def test_without_allowances_nothing_is_credited_and_usage_unmeasured_is_never_credited():
    none = {"audio": D(0), "characters": D(0), "agent": D(0), "tokens": D(0)}
    lines, _ = price_cost_plus(plan(), CostPlus(D(20)), MEASURED, D(1), "Oct", none)
    assert not [line for line in lines if line.kind == "free_hours"]

    # Tokens allowed, but no line item here is measured in tokens: nothing to credit.
    tokens = {**none, "tokens": D("1000000")}
    lines, _ = price_cost_plus(plan(), CostPlus(D(20)), MEASURED, D(1), "Oct", tokens)
    assert not [line for line in lines if line.kind == "free_hours"]


def test_one_included_agent_hour_is_credited_at_the_agent_lines_price_an_hour():
    # The README's worked example: 66.96 for 12.4 agent hours, 1 h included: 5.40 off.
    allowances = {"audio": D(0), "characters": D(0), "agent": D("1"), "tokens": D(0)}

    lines, _ = price_cost_plus(plan(), CostPlus(D(20)), MEASURED, D(1), "Oct", allowances)

    [credit] = [line for line in lines if line.kind == "free_hours"]
    assert (credit.description, credit.amount) == (
        "Included voice agent hours: 1 h of Voice agent, key key-2",
        D("-5.40"),
    )
