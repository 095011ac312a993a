"""The portal's estimate of a month so far (`invoices.estimates`): the draft's inputs through
the draft's pricing, saving nothing, shown with the keys' names and never Deepgram's cost or
the markup; no number where it would be wrong."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices.estimates import dashboard_estimates, month_estimate
from invoices.models import (
    BillingTerms,
    CustomerPlan,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    PricePlan,
    RateCardEntry,
)
from invoices.services import (
    invoice_add_manual_line,
    invoice_approve,
    invoice_generate_drafts,
)
from usage.models import DailyCost, DailyUsage

OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)
TODAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-20 09:00Z", tick=False):
        yield


def use(key, day, *, endpoint="listen", method="streaming", model="nova-3", **units):
    now = datetime.now(UTC)
    units.setdefault("requests", 3)
    if "total_hours" in units:
        units.setdefault("hours", units["total_hours"])
    return DailyUsage.objects.create(
        api_key=key,
        day=day,
        endpoint=endpoint,
        method=method,
        model=model,
        first_seen_at=now,
        changed_at=now,
        **{k: D(v) if isinstance(v, str) else v for k, v in units.items()},
    )


def cost(key, day, line_item, dollars):
    now = datetime.now(UTC)
    DailyCost.objects.create(
        api_key=key,
        day=day,
        line_item=line_item,
        dollars=D(dollars),
        first_seen_at=now,
        changed_at=now,
    )


def on_plan(customer, plan, *, tax="20.00", **terms):
    CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2026, 1, 1))
    if tax is not None:
        BillingTerms.objects.create(
            customer=customer, tax_rate=D(tax), payment_terms_days=14, **terms
        )
    return customer


def draft_of(customer, period=NOVEMBER) -> Invoice:
    invoice_generate_drafts(period=period, customers=[customer])
    return Invoice.objects.get(customer=customer, period=period, status=Invoice.Status.DRAFT)


def lines_of(estimate) -> list[tuple[str, str, D]]:
    return [
        (group.title, line.description, line.amount)
        for group in estimate.groups
        for line in group.lines
    ]


def texts_of(estimate) -> str:
    return " ".join(f"{title} {description}" for title, description, _ in lines_of(estimate))


@pytest.fixture
def hourly(db):
    return PricePlan.objects.create(
        name="Hourly",
        currency="USD",
        rate_per_hour=D("0.258000"),
        rate_streaming=D("0.462000"),
        platform_fee=D("10.00"),
    )


@pytest.fixture
def acme(customer_a, hourly, key_of):
    on_plan(customer_a, hourly)
    use(key_of(customer_a, "acme-k1", comment="Call centre"), date(2026, 11, 3), total_hours="10")
    use(
        key_of(customer_a, "acme-k2", comment="Night shift"),
        date(2026, 11, 19),
        method="sync",
        total_hours="2.5",
    )
    return customer_a


def test_it_equals_the_draft_generated_for_the_same_days(acme):
    estimate = month_estimate(acme, NOVEMBER, TODAY)

    draft = draft_of(acme)
    assert (estimate.subtotal, estimate.tax, estimate.total) == (
        draft.subtotal,
        draft.tax,
        draft.total,
    )
    # Billed quantity total_hours at 0.258, line by key: 10 h 2.58, 2.5 h 0.645 -> 0.65; the
    # fee 10.00: 13.23, and 20 % tax 2.65.
    assert (estimate.subtotal, estimate.total) == (D("13.23"), D("15.88"))
    assert sorted(amount for *_, amount in lines_of(estimate)) == sorted(
        line.amount for line in draft.lines.all()
    )


def test_it_shows_keys_by_name_never_by_id(acme):
    estimate = month_estimate(acme, NOVEMBER, TODAY)

    assert lines_of(estimate) == [
        ("Call centre", "Speech usage", D("2.58")),
        ("Night shift", "Speech usage", D("0.65")),
        ("", "Platform subscription, November 2026", D("10.00")),
    ]
    assert "acme-k" not in texts_of(estimate)
    [first, second, charges] = estimate.groups
    assert second.title == "Night shift" and second.lines[0].quantity == D("2.500000")
    assert (first.lines[0].quantity, first.lines[0].hours) == (D("10.000000"), True)
    assert charges.lines[0].quantity is None  # a fee: its amount alone


def test_it_saves_nothing(acme):
    with CaptureQueriesContext(connection) as queries:
        dashboard_estimates(acme, TODAY)

    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()


def test_it_applies_the_minimum_and_the_fee_as_the_draft_will(customer_a, hourly, key_of):
    hourly.monthly_minimum = D("50.00")
    hourly.save()
    on_plan(customer_a, hourly)
    use(key_of(customer_a), date(2026, 11, 2), total_hours="1")

    estimate = month_estimate(customer_a, NOVEMBER, TODAY)

    assert [description for _, description, _ in lines_of(estimate)][1:] == [
        "Monthly minimum of 50.00 USD (usage came to 0.26)",  # 1 h at 0.258
        "Platform subscription, November 2026",
    ]
    assert estimate.tops_up and estimate.minimum == D("50.00")
    assert estimate.subtotal == D("60.00") == draft_of(customer_a).subtotal


def test_it_is_before_tax_without_terms_and_says_a_reverse_charge(
    customer_a, customer_b, hourly, key_of
):
    on_plan(customer_a, hourly, tax=None)
    on_plan(customer_b, hourly, tax="19.00", reverse_charge=True)

    untaxed, reverse = (month_estimate(c, NOVEMBER, TODAY) for c in (customer_a, customer_b))

    assert untaxed.before_tax and untaxed.total == untaxed.subtotal == D("10.00")
    assert not reverse.before_tax and reverse.tax == 0 and reverse.total == D("10.00")
    assert reverse.tax_note.startswith("Reverse charge")


def test_it_leaves_out_finances_manual_lines(acme, finance_user):
    draft = draft_of(acme)
    invoice_add_manual_line(
        invoice=draft, actor=finance_user, description="Goodwill", quantity=D(1),
        unit_price=D("-5.00"),
    )  # fmt: skip

    estimate = month_estimate(acme, NOVEMBER, TODAY)

    assert "Goodwill" not in texts_of(estimate)
    assert estimate.subtotal == D("13.23")
    draft.refresh_from_db()
    assert draft.subtotal == D("8.23")  # finance's line is the draft's alone


def test_it_carries_the_late_adjustments_the_draft_will(acme, finance_user, key_of):
    key = acme.api_keys.get(key_id="acme-k1")
    use(key, date(2026, 10, 5), total_hours="1")
    october = draft_of(acme, OCTOBER)
    invoice_approve(invoice=october, actor=finance_user)
    later = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # an hour after the approval
    DailyUsage.objects.filter(api_key=key, day=date(2026, 10, 5)).update(
        total_hours=D("3"),
        hours=D("3"),
        changed_at=later,  # as a sync corrects it
    )

    with time_machine.travel(later, tick=False):
        estimate = month_estimate(acme, NOVEMBER, TODAY)

    adjustment = [line for _, line, _ in lines_of(estimate) if line.startswith("Re-priced")]
    assert adjustment == [
        f"Re-priced October 2026 (days 5) (3.000000 h now, 1.000000 h billed): "
        f"usage changed after {Invoice.objects.get(pk=october.pk).number}"
    ]
    with time_machine.travel(later, tick=False):
        assert estimate.total == draft_of(acme).total


def test_it_says_when_there_is_no_plan(customer_a):
    [estimate] = dashboard_estimates(customer_a, TODAY)

    assert not estimate.has_total
    assert "no price plan for November 2026" in estimate.problem


def test_it_gives_no_number_on_an_invalid_plan(acme, hourly):
    PricePlan.objects.filter(pk=hourly.pk).update(currency="ZZZ")  # not through a form

    estimate = month_estimate(acme, NOVEMBER, TODAY)

    assert not estimate.has_total and "being corrected" in estimate.problem


# --- Rate cards -----------------------------------------------------------------------------


@pytest.fixture
def card(db):
    plan = PricePlan.objects.create(
        name="Card", currency="USD", mode=PricePlan.Mode.RATE_CARD, platform_fee=D("25.00")
    )
    rows = [
        ("Nova-3, streaming", "listen", "streaming", "nova-3*", "audio_minutes", "0.006"),
        ("Aura text to speech", "speak", "*", "aura*", "characters_1k", "0.030"),
        ("Voice agent", "agent", "*", "*", "agent_hours", "4.50"),
    ]
    for position, (name, endpoint, method, model, unit, price) in enumerate(rows):
        RateCardEntry.objects.create(
            plan=plan, position=position, name=name, endpoint=endpoint, method=method,
            model=model, unit=unit, unit_price=D(price),
        )  # fmt: skip
    return plan


@pytest.fixture
def globex(customer_b, card, key_of):
    on_plan(customer_b, card)
    key = key_of(customer_b, "globex-k1", comment="Support bot")
    use(key, date(2026, 11, 4), total_hours="20.575")
    use(key, date(2026, 11, 4), endpoint="speak", method="sync", model="aura-2",
        tts_characters=2_345_678)  # fmt: skip
    use(key, date(2026, 11, 5), endpoint="agent", method="streaming", model="voice-agent",
        agent_hours=D("12.4"))  # fmt: skip
    return customer_b


def test_a_rate_card_estimate_equals_its_draft_in_human_units(globex):
    estimate = month_estimate(globex, NOVEMBER, TODAY)

    # 1,234.5 min at 0.006 = 7.41; 2,345.678 k characters at 0.030 = 70.37; 12.4 agent h at
    # 4.50 = 55.80; the fee 25.00: 158.58, and 20 % tax 31.72.
    draft = draft_of(globex)
    assert (estimate.subtotal, estimate.total) == (D("158.58"), D("190.30"))
    assert (estimate.subtotal, estimate.tax, estimate.total) == (
        draft.subtotal,
        draft.tax,
        draft.total,
    )
    [key, _charges] = estimate.groups
    assert key.title == "Support bot"
    assert [(line.description, line.quantity, line.unit) for line in key.lines] == [
        ("Nova-3, streaming (min)", D("1234.5"), "min"),
        ("Aura text to speech (k characters)", D("2345678"), "characters"),
        ("Voice agent (agent h)", D("12.4"), "agent h"),
    ]


def test_usage_no_entry_prices_gives_no_number(globex, key_of):
    use(globex.api_keys.get(), date(2026, 11, 6), model="whisper-large", method="sync",
        total_hours="1")  # fmt: skip

    estimate = month_estimate(globex, NOVEMBER, TODAY)

    assert not estimate.has_total
    assert "has no price on your plan yet" in estimate.problem
    assert draft_of(globex).pricing_blockers  # the draft is blocked as well


# --- Cost plus ------------------------------------------------------------------------------


@pytest.fixture
def initech(make_customer, key_of):
    plan = PricePlan.objects.create(
        name="Cost plus",
        currency="EUR",
        mode=PricePlan.Mode.COST_PLUS,
        markup_percent=D("25"),
        show_markup=True,
    )
    customer = on_plan(make_customer("Initech"), plan)
    key = key_of(customer, "initech-k1", comment="Transcripts")
    cost(key, date(2026, 11, 2), "streaming::nova-3", "12.345678")
    cost(key, date(2026, 11, 3), "sync::aura-2", "3.000000")
    return customer


def test_a_cost_plus_estimate_shows_amounts_never_the_cost_or_the_markup(initech):
    ExchangeRate.objects.create(day=date(2026, 11, 18), currency="EUR", per_usd=D("0.9"))

    estimate = month_estimate(initech, NOVEMBER, TODAY)

    draft = draft_of(initech)
    assert estimate.total == draft.total
    assert "plus 25" in " ".join(draft.lines.values_list("description", flat=True))
    assert [(line.description, line.quantity) for line in estimate.groups[0].lines] == [
        ("streaming::nova-3", None),  # the line item's name (no label stored) and its amount
        ("sync::aura-2", None),
    ]
    assert [line.amount for line in estimate.groups[0].lines] == [D("13.89"), D("3.38")]
    assert "25" not in texts_of(estimate) and "12.3" not in texts_of(estimate)
    assert not estimate.has_quantities  # no quantity column: Deepgram's cost is no quantity
    assert (estimate.rate.per_usd, estimate.rate.day, estimate.rate_is_fallback) == (
        D("0.9"),
        date(2026, 11, 18),
        False,
    )


def test_without_the_months_rate_it_takes_the_latest_known_and_says_so(initech):
    """On 3 December, November's rate is not known (none on or before 30 November): the
    estimate converts at the latest known; the draft waits for the month's."""
    ExchangeRate.objects.create(day=date(2026, 12, 2), currency="EUR", per_usd=D("0.8"))
    with time_machine.travel("2026-12-03 09:00Z", tick=False):
        [december, november] = dashboard_estimates(initech, date(2026, 12, 3))

    assert november.period == NOVEMBER and november.month_over
    assert november.rate_is_fallback and november.rate.day == date(2026, 12, 2)
    # 12.345678 x 0.8 x 1.25 = 12.35 and 3 x 0.8 x 1.25 = 3.00: 15.35, and 20 % tax 3.07
    assert november.total == D("18.42")
    assert not december.groups and december.total == 0


def test_without_any_rate_it_gives_no_number(initech):
    estimate = month_estimate(initech, NOVEMBER, TODAY)

    assert not estimate.has_total
    assert "No exchange rate for EUR is known yet" in estimate.problem


# --- The last full month --------------------------------------------------------------------


def test_the_first_days_show_the_last_month_until_it_is_issued(acme, finance_user):
    with time_machine.travel("2026-12-07 09:00Z", tick=False):
        shown = [e.period for e in dashboard_estimates(acme, date(2026, 12, 7))]
        assert shown == [date(2026, 12, 1), NOVEMBER]
        november = dashboard_estimates(acme, date(2026, 12, 7))[1]
        assert november.through == date(2026, 11, 30) and november.total == D("15.88")

        invoice_approve(invoice=draft_of(acme), actor=finance_user)
        assert [e.period for e in dashboard_estimates(acme, date(2026, 12, 7))] == [
            date(2026, 12, 1)
        ]
    with time_machine.travel("2026-12-08 09:00Z", tick=False):
        assert len(dashboard_estimates(acme, date(2026, 12, 8))) == 1


def test_the_last_month_without_a_plan_is_not_shown(customer_a, hourly):
    CustomerPlan.objects.create(customer=customer_a, plan=hourly, effective_from=date(2026, 12, 1))

    shown = dashboard_estimates(customer_a, date(2026, 12, 2))

    assert [e.period for e in shown] == [date(2026, 12, 1)]


def test_a_plan_that_hides_the_markup_reads_the_same(initech):
    PricePlan.objects.filter(name="Cost plus").update(show_markup=False)
    ExchangeRate.objects.create(day=date(2026, 11, 18), currency="EUR", per_usd=D("0.9"))

    estimate = month_estimate(initech, NOVEMBER, TODAY)

    assert [line.description for line in estimate.groups[0].lines] == [
        "streaming::nova-3",
        "sync::aura-2",
    ]
    assert estimate.total == draft_of(initech).total


def test_quantities_read_to_a_tenth_of_a_minute(globex):
    use(globex.api_keys.get(), date(2026, 11, 7), total_hours="0.123456")

    [key, _] = month_estimate(globex, NOVEMBER, TODAY).groups

    assert key.lines[0].quantity == D("1241.9")  # 20.698456 h = 1,241.90736 min
