"""Rate cards: entries matched by endpoint, method and model patterns, first match wins, each
measure priced once in its entry's unit, ladders across keys, allowances in the card's order,
unpriced usage listed (never free), minimum and fee after; amounts rounded once a line."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from invoices.ladders import Ladder, Step
from invoices.pricing import Plan
from invoices.rate_cards import Entry, LineUsage, card_problems, price_rate_card

USD = Plan(currency="USD", rate_per_hour=D(0))


def per(price: str) -> Ladder:
    return Ladder("unit", unit_price=D(price))


NOVA_STREAMING = Entry(
    "Nova-3, streaming", "audio_minutes", per("0.0060"), "listen", "streaming", "nova-3*"
)
AURA = Entry("Aura-2 text to speech", "characters_1k", per("0.030"), "speak", "*", "aura-2*")
AGENT = Entry("Voice agent", "agent_hours", per("4.50"), "agent")
CATCH_ALL = Entry("Speech to text", "audio_minutes", per("0.0100"))
CARD = (NOVA_STREAMING, AURA, AGENT, CATCH_ALL)


def row(key, endpoint, method, model, **units) -> LineUsage:
    return LineUsage(
        key,
        f"key-{key}",
        endpoint,
        method,
        model,
        **{k: D(v) if "hours" in k else v for k, v in units.items()},
    )


MONTH = [
    row(1, "listen", "streaming", "nova-3", hours="20.575", total_hours="20.575"),  # 1,234.5 min
    row(1, "speak", "sync", "aura-2-thalia-en", tts_characters=2_345_678),
    row(2, "agent", "streaming", "voice-agent", agent_hours="12.4"),
    row(2, "listen", "sync", "whisper-large", hours="1", total_hours="1.5"),
]


def amounts(pricing) -> dict[str, D]:
    return {line.description: line.amount for line in pricing.lines}


def test_each_line_item_is_priced_in_its_own_unit():
    pricing = price_rate_card(USD, CARD, MONTH, "October 2026")

    assert amounts(pricing) == {
        "Nova-3, streaming, key key-1 (min)": D("7.41"),  # 1,234.5 min x 0.0060 = 7.407
        "Aura-2 text to speech, key key-1 (k characters)": D("70.37"),  # 2,345.678 x 0.030
        "Voice agent, key key-2 (agent h)": D("55.80"),
        "Speech to text, key key-2 (min)": D("0.60"),  # the catch-all: 60 min x 0.0100
    }
    quantities = {line.description: line.quantity for line in pricing.lines}
    assert quantities["Aura-2 text to speech, key key-1 (k characters)"] == D("2345.678")
    assert pricing.unpriced == []


def test_the_first_matching_entry_wins_in_the_order_finance_sets():
    pricing = price_rate_card(USD, (CATCH_ALL, NOVA_STREAMING, AURA, AGENT), MONTH, "October 2026")

    assert amounts(pricing)["Speech to text, key key-1 (min)"] == D("12.35")  # 1,234.5 x 0.01
    assert not any(line.description.startswith("Nova-3") for line in pricing.lines)


def test_an_audio_entry_never_prices_characters_and_nothing_is_free_by_accident():
    tokens = row(3, "read", "sync", "", tokens_in=1_500_000, tokens_out=20_000)

    pricing = price_rate_card(USD, (CATCH_ALL,), [*MONTH, tokens], "October 2026")

    assert {(u.key_label, u.endpoint, u.measure) for u in pricing.unpriced} == {
        ("key-1", "speak", "characters"),
        ("key-2", "agent", "agent"),
        ("key-3", "read", "tokens_in"),
        ("key-3", "read", "tokens_out"),
    }
    assert "priced by no entry" in pricing.notes[-1]
    assert str(pricing.unpriced[0]).startswith("speak / sync / aura-2-thalia-en (characters)")


def test_a_rate_of_zero_is_free_and_priced():
    free = Entry("Whisper", "audio_minutes", per("0"), "listen", model="whisper*")

    pricing = price_rate_card(USD, (free, CATCH_ALL), MONTH[3:], "October 2026")

    # The line says the usage is free: a rate of 0 is never "use the default".
    assert amounts(pricing) == {"Whisper, key key-2 (min), free": D("0.00")}
    assert pricing.unpriced == []


def test_tokens_in_and_out_are_each_priced_once():
    tokens = [row(3, "read", "sync", "", tokens_in=1_500_000, tokens_out=250_000)]
    card = (
        Entry("Tokens in", "tokens_in_1m", per("1.00"), "read"),
        Entry("Tokens", "tokens_1m", per("4.00"), "read"),
    )

    pricing = price_rate_card(USD, card, tokens, "October 2026")

    assert amounts(pricing) == {
        "Tokens in, key key-3 (M tokens in)": D("1.50"),
        "Tokens, key key-3 (M tokens)": D("1.00"),  # only the 0.25 M out were left
    }


def test_a_ladder_counts_the_customers_usage_across_keys():
    ladder = Ladder("graduated", steps=(Step(D(600), D("0.01")), Step(None, D("0.005"))))
    entry = Entry("Nova-3", "audio_minutes", ladder, "listen")
    usage = [
        row(1, "listen", "sync", "nova-3", hours="5"),  # 300 min
        row(2, "listen", "streaming", "nova-3", hours="8.333333"),  # 499.99998 min
    ]

    pricing = price_rate_card(USD, (entry,), usage, "October 2026")

    assert [(line.kind, line.quantity, line.amount) for line in pricing.lines] == [
        ("usage", D(300), D(0)),
        ("usage", D("499.99998"), D(0)),
        ("tier", D(600), D("6.00")),
        ("tier", D("199.99998"), D("1.00")),
    ]
    assert pricing.lines[3].description == "Nova-3: above 600 min"


def test_volume_and_packages_on_a_card():
    usage = [row(1, "speak", "sync", "aura-2", tts_characters=121_000)]
    packages = Entry(
        "Aura-2", "characters_1k", Ladder("package", unit_price=D(2), package_size=D(10)), "speak"
    )
    volume = Entry(
        "Aura-2",
        "characters_1k",
        Ladder("volume", steps=(Step(D(100), D("0.03"), D(1)), Step(None, D("0.02"), D(5)))),
        "speak",
    )

    assert amounts(price_rate_card(USD, (packages,), usage, "Oct"))[
        "Aura-2: 13 packages of 10 k characters"
    ] == D(26)
    by_volume = amounts(price_rate_card(USD, (volume,), usage, "Oct"))
    assert by_volume["Aura-2: above 100 k characters"] == D("2.42")  # 121 x 0.02
    assert by_volume["Aura-2: above 100 k characters, flat amount"] == D(5)


def test_allowances_come_off_in_the_cards_order_in_each_entrys_unit():
    card = (NOVA_STREAMING, CATCH_ALL)
    usage = [
        row(1, "listen", "streaming", "nova-3", hours="5"),  # 300 min at 0.0060
        row(1, "listen", "sync", "nova-2", hours="10"),  # 600 min at 0.0100
    ]

    pricing = price_rate_card(USD, card, usage, "October 2026", allowances={"audio": D(8)})

    assert [(line.description, line.quantity, line.amount) for line in pricing.lines] == [
        ("Nova-3, streaming, key key-1 (min)", D(300), D("1.80")),
        ("Nova-3, streaming: included (300 min)", D(-300), D("-1.80")),
        ("Speech to text, key key-1 (min)", D(600), D("6.00")),
        ("Speech to text: included (180 min)", D(-180), D("-1.80")),  # the 3 h left of 8
    ]


def test_allowances_of_characters_agent_hours_and_tokens_each_come_off_their_own_entries():
    tokens = Entry("Audio intelligence", "tokens_1m", per("2.00"), "read")
    card = (NOVA_STREAMING, AURA, AGENT, tokens)
    usage = [
        row(1, "speak", "sync", "aura-2", tts_characters=2_345_678),
        row(2, "agent", "streaming", "voice-agent", agent_hours="12.4"),
        row(2, "read", "sync", "", tokens_in=1_500_000, tokens_out=250_000),
    ]
    allowances = {"audio": D(5), "characters": D(1_000_000), "agent": D(2), "tokens": D(500_000)}

    pricing = price_rate_card(USD, card, usage, "October 2026", allowances=allowances)

    assert [(line.description, line.quantity, line.amount) for line in pricing.lines] == [
        ("Aura-2 text to speech, key key-1 (k characters)", D("2345.678"), D("70.37")),
        # 1,000,000 characters are 1,000 k at 0.030: 30.00 off.
        ("Aura-2 text to speech: included (1,000 k characters)", D(-1000), D("-30.00")),
        ("Voice agent, key key-2 (agent h)", D("12.4"), D("55.80")),
        ("Voice agent: included (2 agent h)", D(-2), D("-9.00")),  # 2 h at 4.50
        ("Audio intelligence, key key-2 (M tokens)", D("1.75"), D("3.50")),
        ("Audio intelligence: included (0.5 M tokens)", D("-0.5"), D("-1.00")),
    ]
    # No audio was used: its 5 free hours credit nothing, and no other measure takes them.
    assert sum(line.amount for line in pricing.lines) == D("89.67")  # 40.37 + 46.80 + 2.50


def test_minimum_and_fee_apply_after_the_card():
    plan = Plan(currency="USD", rate_per_hour=D(0), monthly_minimum=D(200), platform_fee=D(25))

    pricing = price_rate_card(plan, CARD, MONTH, "October 2026")

    assert [(line.kind, line.amount) for line in pricing.lines[-2:]] == [
        ("minimum", D("65.82")),  # the card came to 134.18
        ("platform_fee", D(25)),
    ]
    assert sum(line.amount for line in pricing.lines) == D(225)


def test_yen_round_to_whole_yen_once_a_line():
    plan = Plan(currency="JPY", rate_per_hour=D(0))
    entry = Entry("Nova-3", "audio_minutes", per("0.9"), "listen")

    pricing = price_rate_card(plan, (entry,), MONTH[:1], "October 2026")

    assert pricing.lines[0].amount == D(1111)  # 1,234.5 min x 0.9 = 1,111.05 yen


def test_a_three_decimal_currency_rounds_to_its_fils_once_a_line():
    plan = Plan(currency="KWD", rate_per_hour=D(0))
    entry = Entry("Nova-3", "audio_minutes", per("0.0019"), "listen")

    pricing = price_rate_card(plan, (entry,), MONTH[:1], "October 2026")

    assert pricing.lines[0].amount == D("2.346")  # 1,234.5 min x 0.0019 = 2.34555 KWD


def test_a_card_with_a_bad_entry_says_which():
    bad = (
        Entry("Old", "furlongs", per("1")),
        Entry("Aura", "characters_1k", Ladder("package", unit_price=D(1), package_size=D(0))),
    )

    problems = card_problems(bad)

    assert problems[0].startswith("Entry 1 (Old) has an unknown unit")
    assert problems[1].startswith("Entry 2 (Aura)'s package size is 0")


rows = st.lists(
    st.builds(
        row,
        st.integers(1, 4),
        st.sampled_from(["listen", "speak", "agent"]),
        st.sampled_from(["sync", "streaming"]),
        st.sampled_from(["nova-3", "aura-2", "voice-agent"]),
        hours=st.decimals(0, 100, places=6).map(str),
        tts_characters=st.integers(0, 10**7),
        agent_hours=st.decimals(0, 100, places=6).map(str),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(rows, st.permutations(range(3)))
def test_entries_of_disjoint_usage_give_the_same_total_in_any_order(usage, order):
    disjoint = (NOVA_STREAMING, AURA, AGENT)
    card = tuple(disjoint[i] for i in order)

    totals = {
        sum((line.amount for line in price_rate_card(USD, c, usage, "Oct").lines), D(0))
        for c in (disjoint, card)
    }

    assert len(totals) == 1
