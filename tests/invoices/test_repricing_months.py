"""Late usage of an hourly month, priced again as a whole (invoices.services.repricing): the
four cases the old per-day deltas got wrong, the void and re-bill path, and the property that
any sequence of late changes and issues bills, in total, the month priced once."""

from datetime import date
from decimal import Decimal as D

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from invoices import pricing
from invoices.models import CustomerPlan, Invoice, InvoiceLine, PricePlan, PriceTier
from invoices.services import invoice_approve, invoice_generate_drafts, invoice_void
from invoices.services.repricing import BILLED_KINDS

from .conftest import no_tax_terms

SEPTEMBER, OCTOBER, NOVEMBER = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


def hourly_plan(rate="1.000000", tiers=(), included="0", minimum="0", fee="0"):
    plan = PricePlan.objects.create(
        name=f"Plan {PricePlan.objects.count() + 1}",
        currency="USD",
        rate_per_hour=D(rate),
        included_hours=D(included),
        monthly_minimum=D(minimum),
        platform_fee=D(fee),
    )
    for up_to, price in tiers:
        PriceTier.objects.create(
            plan=plan, up_to_hours=None if up_to is None else D(up_to), rate_per_hour=D(price)
        )
    return plan


def customer_on(make_customer, plan):
    customer = make_customer()
    CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2026, 1, 1))
    no_tax_terms(customer)
    return customer


def issue(customer, period, actor) -> Invoice | None:
    report = invoice_generate_drafts(period=period, customers=[customer])
    drafts = report.created + report.refreshed + report.unchanged
    return invoice_approve(invoice=drafts[0], actor=actor) if drafts else None


def adjustments_of(invoice) -> list[InvoiceLine]:
    return list(invoice.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).order_by("position"))


def billed_for(customer, month) -> D:
    """What live issued documents billed for the month's usage: its invoice's computed lines
    and every adjustment correcting an invoice of the month."""
    lines = InvoiceLine.objects.filter(invoice__customer=customer).exclude(
        invoice__status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID]
    )
    own = lines.filter(invoice__period=month, kind__in=BILLED_KINDS)
    corrections = lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT, corrects__period=month)
    return sum((line.amount for line in [*own, *corrections]), D(0))


def test_a_late_decrease_under_tiers_is_credited_across_the_tiers_it_leaves(
    make_customer, key_of, put_usage, finance_user
):
    # (a) tiers 100 @ 1.00, 485 @ 0.80, above @ 0.50; 489.3343 h billed; 10 h taken back.
    plan = hourly_plan(tiers=[("100", "1.00"), ("485", "0.80"), (None, "0.50")])
    customer = customer_on(make_customer, plan)
    key = key_of(customer)
    put_usage(key, date(2026, 10, 3), "479.334300")
    put_usage(key, date(2026, 10, 4), "10.000000")
    october = issue(customer, OCTOBER, finance_user)
    assert october.subtotal == D("410.17")  # 100.00 + 308.00 + 2.17
    put_usage(key, date(2026, 10, 4), "0.000000")

    november = invoice_generate_drafts(period=NOVEMBER, customers=[customer]).created[0]

    [line] = adjustments_of(november)
    # 479.3343 h are 100.00 + 303.47: 6.70 less, not 10 h at the top rate (5.00).
    assert line.amount == D("-6.70")
    assert line.description == (
        f"Re-priced October 2026 (days 4), tiers: usage changed after {october.number}"
    )
    assert line.corrects == october


def test_late_hours_fill_the_included_hours_left_before_they_are_billed(
    make_customer, key_of, put_usage, finance_user
):
    # (b) 437 h included, 436.3405 h used at 1.20; 3 h more: 2.3405 h billable, 2.81.
    customer = customer_on(make_customer, hourly_plan(rate="1.200000", included="437"))
    key = key_of(customer)
    put_usage(key, date(2026, 10, 3), "436.340500")
    october = issue(customer, OCTOBER, finance_user)
    assert october.subtotal == D("0.00")
    put_usage(key, date(2026, 10, 20), "3.000000")

    november = invoice_generate_drafts(period=NOVEMBER, customers=[customer]).created[0]

    usage, included = adjustments_of(november)
    assert (usage.quantity, usage.unit_price, usage.amount) == (D(3), D("1.2"), D("3.60"))
    assert usage.api_key == key and "(days 20)" in usage.description
    assert included.amount == D("-0.79")  # the 0.6595 h of allowance left, at 1.20
    assert "(days 20), included usage: usage changed after" in included.description
    assert usage.amount + included.amount == D("2.81")


def test_late_usage_of_a_tier_month_inside_its_included_hours_is_priced_by_the_tiers(
    make_customer, key_of, put_usage, finance_user
):
    # (c) 100 h included, 99 h used, so October billed nothing; 3 h more: 2 h in tier 1.
    plan = hourly_plan(included="100", tiers=[("1000", "1.13"), (None, "0.90")])
    customer = customer_on(make_customer, plan)
    key = key_of(customer)
    put_usage(key, date(2026, 10, 3), "99.000000")
    october = issue(customer, OCTOBER, finance_user)
    assert october.subtotal == D("0.00")
    put_usage(key, date(2026, 10, 31), "3.000000")

    november = invoice_generate_drafts(period=NOVEMBER, customers=[customer]).created[0]

    assert sum(line.amount for line in adjustments_of(november)) == D("2.26")


def test_a_voided_month_is_billed_by_its_new_invoice_less_what_adjustments_billed(
    make_customer, key_of, put_usage, finance_user
):
    # (d) September issued, its late day billed on October's invoice, then September voided.
    customer = customer_on(make_customer, hourly_plan(rate="1.180000"))
    key = key_of(customer)
    put_usage(key, date(2026, 9, 10), "5.000000")
    september = issue(customer, SEPTEMBER, finance_user)
    put_usage(key, date(2026, 9, 12), "3.000000")
    put_usage(key, date(2026, 10, 2), "1.000000")
    october = issue(customer, OCTOBER, finance_user)
    [late] = adjustments_of(october)
    assert late.amount == D("3.54") and late.corrects == september
    invoice_void(invoice=september, actor=finance_user, reason="Wrong buyer address")
    put_usage(key, date(2026, 9, 12), "3.500000")  # and Deepgram corrects the day again

    # Not billed again while September waits for its new invoice, nor taken back later.
    november = invoice_generate_drafts(period=NOVEMBER, customers=[customer]).created
    assert all(not adjustments_of(draft) for draft in november)

    rebilled = invoice_generate_drafts(period=SEPTEMBER, customers=[customer]).created[0]
    [usage] = rebilled.lines.filter(kind=InvoiceLine.Kind.USAGE)
    [taken_off] = adjustments_of(rebilled)
    assert usage.amount == D("10.03")  # 8.5 h at 1.18: the month whole
    assert taken_off.amount == D("-3.54")
    assert taken_off.description == (
        f"Already billed for September 2026 by adjustments on {october.number}: re-billed "
        f"after void of {september.number}"
    )
    invoice_approve(invoice=rebilled, actor=finance_user)
    assert billed_for(customer, SEPTEMBER) == D("10.03")  # billed once
    assert all(not adjustments_of(d) for d in invoice_generate_drafts(period=NOVEMBER).created)


def test_a_month_re_priced_once_is_not_billed_again(make_customer, key_of, put_usage, finance_user):
    customer = customer_on(make_customer, hourly_plan(rate="0.500000", minimum="20.00"))
    key = key_of(customer)
    put_usage(key, date(2026, 9, 3), "10.000000")
    september = issue(customer, SEPTEMBER, finance_user)
    assert september.subtotal == D("20.00")  # 5.00 of usage, topped up to the minimum
    put_usage(key, date(2026, 9, 3), "50.000000")
    october = issue(customer, OCTOBER, finance_user)

    usage, minimum = adjustments_of(october)
    assert (usage.amount, minimum.amount) == (D("20.00"), D("-15.00"))
    assert "monthly minimum: usage changed" in minimum.description
    assert billed_for(customer, SEPTEMBER) == D("25.00")
    [november] = invoice_generate_drafts(period=NOVEMBER, customers=[customer]).created
    assert adjustments_of(november) == []  # its own minimum only


PLANS = st.sampled_from(
    [
        {"rate": "0.258000", "fee": "10.00"},
        {"rate": "1.200000", "included": "6"},
        {"tiers": [("5", "1.00"), ("12", "0.80"), (None, "0.50")]},
        {"tiers": [("4", "1.13"), (None, "0.90")], "included": "3", "minimum": "9.00"},
    ]
)
HOURS = st.decimals(min_value=0, max_value=9, places=4)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("change"), st.integers(0, 1), st.integers(1, 4), HOURS),
        st.tuples(st.just("issue")),
        st.tuples(st.just("void and re-bill")),
    ),
    max_size=7,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(shape=PLANS, steps=STEPS)
# Hand-picked as well as drawn: a late day billed and then its month voided and re-billed; a
# late decrease with nothing new (a credit note); a change after the re-bill.
@example(
    shape={"tiers": [("5", "1.00"), ("12", "0.80"), (None, "0.50")]},
    steps=[("change", 0, 3, D("4")), ("issue",), ("void and re-bill",)],
)
@example(
    shape={"rate": "1.200000", "included": "6"},
    steps=[("change", 1, 1, D("0")), ("change", 0, 2, D("9")), ("issue",)],
)
@example(
    shape={"rate": "1.200000", "included": "6"},
    steps=[("change", 0, 1, D("8")), ("issue",), ("change", 0, 1, D("0")), ("issue",)],
)
@example(
    shape={"tiers": [("4", "1.13"), (None, "0.90")], "included": "3", "minimum": "9.00"},
    steps=[
        ("change", 1, 4, D("7.5")),
        ("issue",),
        ("void and re-bill",),
        ("change", 1, 4, D("0.25")),
        ("issue",),
        ("void and re-bill",),
        ("issue",),
    ],
)
def test_any_sequence_of_late_changes_bills_the_month_priced_once(
    make_customer, key_of, put_usage, finance_user, shape, steps
):
    plan = hourly_plan(**shape)
    customer = customer_on(make_customer, plan)
    keys = [key_of(customer), key_of(customer)]
    hours = {(k, day): D("2.5") for k in (0, 1) for day in (1, 2)}
    for (k, day), quantity in hours.items():
        put_usage(keys[k], date(2026, 6, day), str(quantity))
    issue(customer, date(2026, 6, 1), finance_user)
    months = [date(2026, m, 1) for m in (11, 10, 9, 8, 7)]  # the last one is kept for the end
    for step in steps:
        if step[0] == "change":
            _, k, day, quantity = step
            hours[(k, day)] = quantity
            put_usage(keys[k], date(2026, 6, day), str(quantity))
        elif step[0] == "issue" and len(months) > 1:
            issue(customer, months.pop(), finance_user)
        else:
            june = Invoice.objects.issued_invoices().get(customer=customer, period="2026-06-01")
            if not june.credit_notes.exists():
                invoice_void(invoice=june, actor=finance_user, reason="Re-bill")
                issue(customer, june.period, finance_user)
    issue(customer, months.pop(), finance_user)  # what is still pending

    usage = [
        pricing.Usage(keys[k].pk, keys[k].key_id, "all", sum(q for (kk, _), q in hours.items()
                                                           if kk == k))
        for k in (0, 1)
    ]  # fmt: skip
    lines, _ = pricing.price_usage(
        pricing.Plan(
            "USD",
            D(shape.get("rate", "0")),
            tiers=tuple(
                pricing.Tier(None if u is None else D(u), D(r)) for u, r in shape.get("tiers", ())
            ),
            included_hours=D(shape.get("included", "0")),
            monthly_minimum=D(shape.get("minimum", "0")),
            platform_fee=D(shape.get("fee", "0")),
        ),
        usage,
        "June 2026",
    )
    assert billed_for(customer, date(2026, 6, 1)) == sum((line.amount for line in lines), D(0))


def test_late_credits_with_nothing_new_are_issued_as_a_credit_note(
    make_customer, key_of, put_usage, finance_user
):
    customer = customer_on(make_customer, hourly_plan(rate="2.000000"))
    key = key_of(customer)
    put_usage(key, date(2026, 9, 3), "10.000000")
    september = issue(customer, SEPTEMBER, finance_user)
    put_usage(key, date(2026, 9, 3), "4.000000")  # Deepgram takes 6 h back

    note = issue(customer, OCTOBER, finance_user)

    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.number.startswith("CN-")
    assert (note.total, note.credits, note.due_on) == (D("-12.00"), september, None)
    assert not Invoice.objects.live_invoices().filter(customer=customer, period=OCTOBER).exists()
    assert billed_for(customer, SEPTEMBER) == D("8.00")
    assert invoice_generate_drafts(period=NOVEMBER, customers=[customer]).created == []


def test_late_credits_larger_than_the_month_go_on_a_credit_note_beside_the_invoice(
    make_customer, key_of, put_usage, finance_user
):
    customer = customer_on(make_customer, hourly_plan(rate="2.000000", fee="5.00"))
    key = key_of(customer)
    put_usage(key, date(2026, 9, 3), "10.000000")
    september = issue(customer, SEPTEMBER, finance_user)
    put_usage(key, date(2026, 9, 3), "0.000000")

    october = issue(customer, OCTOBER, finance_user)

    assert (october.kind, october.total) == (Invoice.Kind.INVOICE, D("5.00"))  # its own fee
    assert adjustments_of(october) == []
    note = Invoice.objects.get(customer=customer, kind=Invoice.Kind.CREDIT_NOTE)
    assert (note.total, note.credits, note.period) == (D("-20.00"), september, OCTOBER)
    assert billed_for(customer, SEPTEMBER) == D("5.00")  # the fee only, as priced now


def test_late_hourly_adjustments_and_late_credit_notes_count_in_the_month_they_correct(
    make_customer, key_of, put_usage, finance_user
):
    from invoices.margin import month_margin

    customer = customer_on(make_customer, hourly_plan(rate="2.000000"))
    key = key_of(customer)
    put_usage(key, date(2026, 8, 3), "10.000000")
    issue(customer, date(2026, 8, 1), finance_user)
    put_usage(key, date(2026, 8, 3), "12.000000")
    put_usage(key, date(2026, 9, 3), "1.000000")
    issue(customer, SEPTEMBER, finance_user)  # 2.00 of its own, 4.00 for August
    put_usage(key, date(2026, 8, 3), "7.000000")
    issue(customer, OCTOBER, finance_user)  # nothing of its own: a credit note of -10.00

    def revenue(month):
        return {row.customer_pk: row.revenue for row in month_margin(month).rows}[customer.pk]

    assert revenue(date(2026, 8, 1)) == D("14.00") == billed_for(customer, date(2026, 8, 1))
    assert revenue(SEPTEMBER) == D("2.00")
