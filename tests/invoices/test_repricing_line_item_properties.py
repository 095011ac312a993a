"""Billed once, in the line-item modes: any sequence of late changes to a month's usage (rate
card) or Deepgram's cost (cost plus), issues, voids and re-bills bills, in total, exactly the
month priced once with its final usage, line item by line item and customer-wide (a ladder
across keys, an allowance, the minimum, the fee)."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from invoices.cost_plus import CostUsage, price_cost_plus
from invoices.models import Invoice, PricePlan, RateCardEntry, RateCardStep
from invoices.rate_cards import LineUsage, price_rate_card
from invoices.services import invoice_void
from invoices.services.plans import allowances_of, card_of, cost_rule_of, pricing_plan_of
from usage.models import DailyCost, DailyUsage

from .test_repricing_months import billed_for, customer_on, issue

JUNE = date(2026, 6, 1)
# What each key used on a day: (endpoint, method, model), its unit and the cost's line item.
LINES = {
    "nova": (("listen", "streaming", "nova-3"), "total_hours", "streaming::nova-3"),
    "aura": (("speak", "sync", "aura-2"), "tts_characters", "sync::aura-2"),
    "agent": (("agent", "all", "voice-agent"), "agent_hours", "agent::voice-agent"),
}
START = {"nova": D("2.5"), "aura": D("40000"), "agent": D("1.25")}


def rate_card_plan() -> PricePlan:
    """Per-key prices for audio and the agent, a graduated ladder across keys for text to
    speech, 20,000 characters included, a minimum and a fee."""
    plan = PricePlan.objects.create(
        name=f"Card {PricePlan.objects.count() + 1}", currency="USD", mode=PricePlan.Mode.RATE_CARD,
        included_characters=20_000, monthly_minimum=D("9.00"), platform_fee=D("5.00"),
    )  # fmt: skip
    RateCardEntry.objects.create(
        plan=plan, position=0, name="Nova-3, streaming", endpoint="listen",
        method="streaming", model="nova-3*", unit="audio_minutes", unit_price=D("0.0060"),
    )  # fmt: skip
    aura = RateCardEntry.objects.create(
        plan=plan, position=1, name="Aura", endpoint="speak", model="aura*",
        unit="characters_1k", ladder="graduated",
    )  # fmt: skip
    RateCardStep.objects.create(entry=aura, up_to=D(100), unit_price=D("0.030"))
    RateCardStep.objects.create(entry=aura, up_to=None, unit_price=D("0.020"))
    RateCardEntry.objects.create(
        plan=plan, position=2, name="Voice agent", endpoint="agent", unit="agent_hours",
        unit_price=D("4.50"),
    )  # fmt: skip
    return plan


def cost_plus_plan() -> PricePlan:
    return PricePlan.objects.create(
        name=f"Cost plus {PricePlan.objects.count() + 1}", currency="USD",
        mode=PricePlan.Mode.COST_PLUS,
        markup_percent=D("17.5"), monthly_minimum=D("4.00"), platform_fee=D("2.50"),
    )  # fmt: skip


def put(key, day: int, line: str, amount: D, month: date = JUNE) -> None:
    """Store a key's day of one line as the sync would: its usage (rate card) and Deepgram's
    cost of it (cost plus; a dollar a unit of usage, so cost follows usage)."""
    now = datetime.now(UTC)
    (endpoint, method, model), unit, item = LINES[line]
    DailyUsage.objects.update_or_create(
        api_key=key, day=month.replace(day=day), endpoint=endpoint, method=method, model=model,
        defaults={unit: amount, "requests": 1, "first_seen_at": now, "changed_at": now},
    )  # fmt: skip
    DailyCost.objects.update_or_create(
        api_key=key, day=month.replace(day=day), line_item=item,
        defaults={"dollars": amount / 1000 if line == "aura" else amount,
                  "first_seen_at": now, "changed_at": now},
    )  # fmt: skip


def priced_once(plan: PricePlan, keys, used: dict) -> D:
    """The month priced once with its final usage (or cost)."""
    pure = pricing_plan_of(plan)
    if plan.mode == PricePlan.Mode.RATE_CARD:
        rows = []
        for k, key in enumerate(keys):
            for line, ((endpoint, method, model), unit, _) in LINES.items():
                total = sum(q for (kk, _, ll), q in used.items() if kk == k and ll == line)
                total = int(total) if unit == "tts_characters" else total
                rows.append(LineUsage(key.pk, key.key_id, endpoint, method, model, **{unit: total}))
        priced = price_rate_card(pure, card_of(plan), rows, "June 2026", allowances_of(plan))
        assert priced.unpriced == []
        lines = priced.lines
    else:
        costs = [
            CostUsage(key.pk, key.key_id, item, item, sum(
                (q / 1000 if line == "aura" else q)
                for (kk, _, ll), q in used.items() if kk == k and ll == line
            ))
            for k, key in enumerate(keys)
            for line, (_, _, item) in LINES.items()
        ]  # fmt: skip
        lines, _ = price_cost_plus(pure, cost_rule_of(plan), costs, D(1), "June 2026")
    return sum((line.amount for line in lines), D(0))


MODES = st.sampled_from(["rate_card", "cost_plus"])
CHANGE = st.tuples(
    st.just("change"),
    st.integers(0, 1),
    st.integers(1, 2),
    st.sampled_from(sorted(LINES)),
    st.decimals(min_value=0, max_value=90, places=3),
)
STEPS = st.lists(
    st.one_of(CHANGE, st.tuples(st.just("issue")), st.tuples(st.just("void and re-bill"))),
    max_size=6,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mode=MODES, steps=STEPS)
# Hand-picked as well: the ladder across keys and the allowance moved by one key's late day,
# then the month voided and re-billed; a late decrease with nothing new; a cost taken back.
@example(
    mode="rate_card",
    steps=[("change", 1, 2, "aura", D("90")), ("issue",), ("void and re-bill",), ("issue",)],
)
@example(mode="rate_card", steps=[("change", 0, 1, "nova", D("0")), ("issue",)])
@example(
    mode="cost_plus",
    steps=[("change", 0, 1, "agent", D("0")), ("issue",), ("change", 1, 2, "nova", D("7.5"))],
)
def test_any_sequence_of_late_changes_bills_the_month_priced_once(
    make_customer, key_of, finance_user, mode, steps
):
    plan = rate_card_plan() if mode == "rate_card" else cost_plus_plan()
    customer = customer_on(make_customer, plan)
    keys = [key_of(customer), key_of(customer)]
    # Characters by the thousand in the usage (and the cost's dollars by the thousand too).
    used = {
        (k, day, line): START[line] * (1000 if line == "aura" else 1)
        for k in (0, 1) for day in (1, 2) for line in LINES
    }  # fmt: skip
    for (k, day, line), amount in used.items():
        put(keys[k], day, line, amount)
    issue(customer, JUNE, finance_user)
    months = [date(2026, m, 1) for m in (11, 10, 9, 8, 7)]  # the last one is kept for the end
    for step in steps:
        if step[0] == "change":
            _, k, day, line, amount = step
            amount = amount * 1000 if line == "aura" else amount
            used[(k, day, line)] = amount
            put(keys[k], day, line, amount)
        elif step[0] == "issue" and len(months) > 1:
            issue(customer, months.pop(), finance_user)
        else:
            june = Invoice.objects.issued_invoices().get(customer=customer, period=JUNE)
            if not june.credit_notes.exists():
                invoice_void(invoice=june, actor=finance_user, reason="Re-bill")
                issue(customer, JUNE, finance_user)
    issue(customer, months.pop(), finance_user)  # what is still pending

    assert billed_for(customer, JUNE) == priced_once(plan, keys, used)
