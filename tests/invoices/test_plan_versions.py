"""Plan versions: each form of a plan that billed a month is numbered and recorded on its
invoices, and a billed month is re-priced with its own version, never the plan as it is now
(hourly plans too: the invoice keeps the rates and tiers it was priced by)."""

from datetime import date
from decimal import Decimal as D

from django.urls import reverse

from invoices.models import InvoiceLine, PlanVersion

from .test_repricing_months import customer_on, hourly_plan, issue

AUGUST, SEPTEMBER, OCTOBER, NOVEMBER = (date(2026, m, 1) for m in (8, 9, 10, 11))


def test_an_edit_after_a_billed_month_is_a_new_version_from_the_next_month_it_bills(
    make_customer, key_of, put_usage, finance_user
):
    plan = hourly_plan(rate="1.000000")
    customer = customer_on(make_customer, plan)
    key = key_of(customer)
    for month in (AUGUST, SEPTEMBER, OCTOBER):
        put_usage(key, month.replace(day=5), "2.000000")
    august = issue(customer, AUGUST, finance_user)
    september = issue(customer, SEPTEMBER, finance_user)
    plan.rate_per_hour = D("1.500000")  # finance raises the rate after September is billed
    plan.save()
    october = issue(customer, OCTOBER, finance_user)

    first, second = PlanVersion.objects.filter(plan=plan)
    assert (first.number, first.effective_from, second.number, second.effective_from) == (
        1,
        AUGUST,
        2,
        OCTOBER,
    )
    assert august.plan_version == september.plan_version == first
    assert october.plan_version == second and october.subtotal == D("3.00")
    assert second.snapshot["rate_per_hour"] == "1.500000"

    plan.rate_per_hour = D("1.000000")  # and back: the first form again, its version again
    plan.save()
    put_usage(key, date(2026, 11, 5), "1.000000")
    assert issue(customer, NOVEMBER, finance_user).plan_version == first
    assert PlanVersion.objects.filter(plan=plan).count() == 2


def test_a_billed_hourly_month_is_re_priced_with_its_own_version(
    make_customer, key_of, put_usage, finance_user
):
    plan = hourly_plan(rate="1.000000", tiers=[("10", "1.00"), (None, "0.50")])
    customer = customer_on(make_customer, plan)
    key = key_of(customer)
    put_usage(key, date(2026, 9, 5), "8.000000")
    september = issue(customer, SEPTEMBER, finance_user)
    tier = plan.tiers.get(up_to_hours=None)
    tier.rate_per_hour = D("0.90")  # the tiers change after September is billed
    tier.save()
    put_usage(key, date(2026, 9, 30), "4.000000")  # and Deepgram settles 30 September late

    october = issue(customer, OCTOBER, finance_user)

    [line] = october.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT)
    # 12 h under September's tiers: 10.00 + 2 h at 0.50; 8.00 billed. Not at today's 0.90.
    assert line.amount == D("3.00") and line.corrects == september
    assert september.pricing_snapshot["tiers"] == [["10.000000", "1.000000"], [None, "0.500000"]]


def test_finance_sees_the_versions_on_the_plan_and_the_invoice(
    make_customer, key_of, put_usage, finance_user, finance
):
    plan = hourly_plan(rate="1.000000", fee="5.00")
    customer = customer_on(make_customer, plan)
    put_usage(key_of(customer), date(2026, 9, 5), "2.000000")
    september = issue(customer, SEPTEMBER, finance_user)

    page = finance.get(reverse("admin:invoices_priceplan_change", args=[plan.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Months already billed keep the version they were billed by" in text
    assert "<td>1</td><td>September 2026</td><td>1</td>" in text
    assert "hourly: 1.000000/h, fee 5.00" in text
    invoice_page = finance.get(reverse("admin:invoices_invoice_change", args=[september.pk]))
    assert f"{plan.name}, version 1 (from September 2026)" in invoice_page.content.decode()


def test_a_rate_card_entry_edited_after_a_billed_month_is_a_new_version(
    make_customer, key_of, finance_user
):
    from .test_repricing_line_item_properties import put, rate_card_plan

    plan = rate_card_plan()
    customer = customer_on(make_customer, plan)
    key = key_of(customer)
    put(key, 5, "agent", D("2"), month=SEPTEMBER)
    september = issue(customer, SEPTEMBER, finance_user)
    entry = plan.card_entries.get(name="Voice agent")
    entry.unit_price = D("6.00")  # the agent gets dearer after September is billed
    entry.save()
    put(key, 5, "agent", D("2"), month=OCTOBER)
    october = issue(customer, OCTOBER, finance_user)

    first, second = PlanVersion.objects.filter(plan=plan)
    assert (first.number, first.effective_from, second.number, second.effective_from) == (
        1,
        SEPTEMBER,
        2,
        OCTOBER,
    )
    assert (september.plan_version, october.plan_version) == (first, second)
    agent = {
        invoice.period: invoice.lines.get(item="Voice agent").amount
        for invoice in (september, october)
    }
    assert agent == {SEPTEMBER: D("9.00"), OCTOBER: D("12.00")}  # 2 h at 4.50, then at 6.00
    prices = {e["name"]: e["unit_price"] for e in second.snapshot["card"]}
    assert prices["Voice agent"] == "6.000000"
