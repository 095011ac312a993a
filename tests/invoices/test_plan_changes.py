"""Price changes scheduled ahead: finance copies a plan as its customers' new prices from a
coming month, edits the copy before then, and the months before keep the plan's own prices
(drafted late, re-priced late, estimated: all of them)."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from invoices.exceptions import InvoicesError
from invoices.models import (
    CustomerPlan,
    PlanVersion,
    PricePlan,
    PriceTier,
    RateCardEntry,
    RateCardStep,
)
from invoices.services.plan_changes import cancel_price_change, schedule_price_change
from invoices.services.plans import plan_for, plans_for

from .test_repricing_months import customer_on, hourly_plan, issue

SEPTEMBER, OCTOBER, NOVEMBER, DECEMBER = (date(2026, m, 1) for m in (9, 10, 11, 12))
IN_SEPTEMBER = date(2026, 9, 15)


def scheduled(plan, month=OCTOBER, today=IN_SEPTEMBER) -> PricePlan:
    return schedule_price_change(plan, month, today=today)


def test_scheduling_copies_the_plan_for_its_customers_from_that_month(db):
    plan = hourly_plan(rate="1.000000", tiers=[("10", "1.00"), (None, "0.50")], fee="5")
    edited_at = plan.updated_at
    entry = RateCardEntry.objects.create(
        plan=plan, name="Aura-2", endpoint="speak", unit="characters_1k", ladder="graduated"
    )
    RateCardStep.objects.create(entry=entry, up_to=D("100"), unit_price=D("0.03"), flat=D("1"))
    RateCardStep.objects.create(entry=entry, up_to=None, unit_price=D("0.02"))

    copy = scheduled(plan)

    plan.refresh_from_db()
    assert copy.name == f"{plan.name} from October 2026"
    assert (plan.replaced_by, plan.replaced_from) == (copy, OCTOBER)
    assert plan.updated_at == edited_at  # its own prices did not change: no draft goes stale
    assert (copy.rate_per_hour, copy.platform_fee, copy.currency) == (D("1"), D("5"), "USD")
    assert [(t.up_to_hours, t.rate_per_hour) for t in copy.tiers.all()] == [
        (D("10"), D("1.00")),
        (None, D("0.50")),
    ]
    [twin] = copy.card_entries.all()
    assert (twin.name, twin.endpoint, twin.unit, twin.ladder) == (
        "Aura-2",
        "speak",
        "characters_1k",
        "graduated",
    )
    assert [(s.up_to, s.unit_price, s.flat) for s in twin.steps.all()] == [
        (D("100"), D("0.03"), D("1")),
        (None, D("0.02"), D("0")),
    ]
    assert copy.replaced_by is None and copy.replaces == plan
    assert PriceTier.objects.filter(plan=plan).count() == 2  # the plan keeps its own


@pytest.mark.parametrize(
    ("month", "reason"),
    [
        (SEPTEMBER, r"scheduled for a coming month \(after September 2026\)"),
        (date(2026, 8, 1), "scheduled for a coming month"),
        (date(2026, 10, 2), "starts on the first day of a month"),
    ],
)
def test_a_change_is_for_the_first_day_of_a_coming_month(db, month, reason):
    plan = hourly_plan()

    with pytest.raises(InvoicesError, match=reason):
        scheduled(plan, month)

    plan.refresh_from_db()
    assert plan.replaced_by is None and PricePlan.objects.count() == 1


def test_a_plan_has_one_scheduled_change_and_a_copy_changes_after_it_starts(db):
    plan = hourly_plan()
    copy = scheduled(plan)

    with pytest.raises(InvoicesError, match="already changes on 1 October 2026"):
        scheduled(plan, NOVEMBER)
    with pytest.raises(InvoicesError, match="itself starts in October 2026"):
        scheduled(copy, OCTOBER, today=IN_SEPTEMBER)
    later = scheduled(copy, NOVEMBER)

    assert later.name == f"{copy.name} from November 2026"
    assert PricePlan.objects.count() == 3


def test_a_name_taken_already_is_refused(db):
    plan = hourly_plan()
    PricePlan.objects.create(name=f"{plan.name} from October 2026")

    with pytest.raises(InvoicesError, match="exists already"):
        scheduled(plan)


def test_the_months_before_keep_the_plan_and_the_change_prices_from_its_month(
    make_customer, key_of, put_usage, finance_user, django_assert_num_queries
):
    plan = hourly_plan(rate="1.000000")
    customer = customer_on(make_customer, plan)
    copy = scheduled(plan)
    copy.rate_per_hour = D("2.000000")  # the new prices, set in September for October
    copy.save()
    key = key_of(customer)
    for month in (SEPTEMBER, OCTOBER, NOVEMBER):
        put_usage(key, month.replace(day=5), "3.000000")

    assert plan_for(customer, SEPTEMBER) == plan
    assert plan_for(customer, OCTOBER) == plan_for(customer, NOVEMBER) == copy
    assert plans_for([customer.pk], SEPTEMBER)[customer.pk] == plan
    assert plans_for([customer.pk], NOVEMBER)[customer.pk] == copy

    # September is drafted after the change came into force: still the plan's prices.
    september = issue(customer, SEPTEMBER, finance_user)
    october = issue(customer, OCTOBER, finance_user)

    assert september.subtotal == D("3.00")  # 3 h at 1.00
    assert october.subtotal == D("6.00")  # 3 h at 2.00
    assert september.plan_version.plan == plan and october.plan_version.plan == copy
    assert PlanVersion.objects.get(plan=copy).effective_from == OCTOBER

    # Late September usage is re-priced with September's own version, on November's draft.
    put_usage(key, date(2026, 9, 30), "1.000000")
    november = issue(customer, NOVEMBER, finance_user)
    assert november.subtotal == D("7.00")  # 3 h at 2.00, and 1 late September h at 1.00


def test_finding_the_plans_costs_no_query_more_without_a_change_in_force(
    make_customer, django_assert_num_queries
):
    plan = hourly_plan()
    customer = customer_on(make_customer, plan)
    copy = scheduled(plan, NOVEMBER)
    later = scheduled(copy, DECEMBER)

    with django_assert_num_queries(3):  # the assignments, the plans, their tiers
        assert plans_for([customer.pk], OCTOBER)[customer.pk] == plan
    with django_assert_num_queries(5):  # and the copy, with its tiers
        assert plans_for([customer.pk], NOVEMBER)[customer.pk] == copy
    assert plans_for([customer.pk], date(2027, 1, 1))[customer.pk] == later  # a chain
    assert plan_for(customer, DECEMBER) == later


def test_a_customer_given_its_own_plan_from_that_month_keeps_it(make_customer, db):
    plan, own = hourly_plan(), hourly_plan(rate="3.000000")
    customer = customer_on(make_customer, plan)
    CustomerPlan.objects.create(customer=customer, plan=own, effective_from=NOVEMBER)
    copy = scheduled(plan)

    assert plan_for(customer, OCTOBER) == copy
    assert plan_for(customer, NOVEMBER) == own


def test_cancelling_deletes_the_copy_while_it_billed_nothing(
    make_customer, key_of, put_usage, finance_user
):
    plan = hourly_plan()
    copy = scheduled(plan)

    assert cancel_price_change(plan) == copy.name

    plan.refresh_from_db()
    assert (plan.replaced_by, plan.replaced_from) == (None, None)
    assert not PricePlan.objects.filter(pk=copy.pk).exists()
    with pytest.raises(InvoicesError, match="has no scheduled price change"):
        cancel_price_change(plan)

    customer = customer_on(make_customer, plan)
    copy = scheduled(plan)
    put_usage(key_of(customer), date(2026, 10, 5), "1.000000")
    issue(customer, OCTOBER, finance_user)  # the copy billed October: it is kept
    with pytest.raises(InvoicesError, match="has billed a month"):
        cancel_price_change(plan)
    plan.refresh_from_db()
    assert plan.replaced_by == copy


# --- The admin ------------------------------------------------------------------------------


def _schedule_url(plan):
    return reverse("admin:invoices_priceplan_schedule_change", args=[plan.pk])


def test_finance_schedules_a_change_from_the_plans_page(finance, db):
    plan = hourly_plan()
    page = reverse("admin:invoices_priceplan_change", args=[plan.pk])

    with time_machine.travel("2026-09-15 10:00Z", tick=False):
        assert _schedule_url(plan) in finance.get(page).content.decode()
        form = finance.get(_schedule_url(plan)).content.decode()
        response = finance.post(_schedule_url(plan), {"month": "2026-10-01"})

    assert '<option value="2026-10-01">1 October 2026</option>' in form
    assert "2026-09-01" not in form  # this month is edited in place, not scheduled
    copy = PricePlan.objects.get(replaces=plan)
    assert response.url == reverse("admin:invoices_priceplan_change", args=[copy.pk])
    assert list(LogEntry.objects.order_by("pk").values_list("change_message", flat=True)) == [
        f"Copied from {plan.name} for October 2026",
        f"Prices change on 1 October 2026: {copy.name}",
    ]
    copy_page = finance.get(response.url).content.decode()
    assert f'Prices the customers of <a href="{page}">{plan.name}</a> from 1 October 2026.' in (
        copy_page
    )
    plan_page = finance.get(page).content.decode()
    assert "From 1 October 2026 its customers are priced by" in plan_page
    assert "Cancel the price change of 1 October 2026" in plan_page


def test_a_month_not_offered_is_refused_with_the_form(finance, db):
    plan = hourly_plan()

    with time_machine.travel("2026-09-15 10:00Z", tick=False):
        response = finance.post(_schedule_url(plan), {"month": "2026-09-01"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not PricePlan.objects.filter(replaces=plan).exists()


def test_a_refusal_of_the_service_is_shown_on_the_form(finance, db):
    plan = hourly_plan()
    with time_machine.travel("2026-09-15 10:00Z", tick=False):
        scheduled(plan)
        response = finance.post(_schedule_url(plan), {"month": "2026-11-01"})

    assert "already changes on 1 October 2026" in response.content.decode()


def test_finance_cancels_the_change(finance, db):
    plan = hourly_plan()
    copy = scheduled(plan)
    url = reverse("admin:invoices_priceplan_cancel_change", args=[plan.pk])

    assert finance.get(url).status_code == 302  # a GET changes nothing
    assert PricePlan.objects.filter(pk=copy.pk).exists()
    response = finance.post(url, follow=True)

    assert f"Cancelled: {plan.name} keeps its prices; {copy.name} is deleted." in (
        response.content.decode()
    )
    assert not PricePlan.objects.filter(pk=copy.pk).exists()


def test_support_may_not_schedule_nor_cancel(support, db):
    plan = hourly_plan()
    scheduled(plan)

    assert support.get(_schedule_url(plan)).status_code == 403
    cancel = reverse("admin:invoices_priceplan_cancel_change", args=[plan.pk])
    assert support.post(cancel).status_code == 403
    assert PricePlan.objects.filter(replaces=plan).exists()


def test_the_customer_page_shows_the_change_and_when_it_is_in_force(
    client, finance_user, make_customer
):
    plan = hourly_plan()
    customer = customer_on(make_customer, plan)
    copy = scheduled(plan, DECEMBER, today=NOVEMBER)
    page = reverse("admin:customers_customer_change", args=[customer.pk])

    with time_machine.travel("2026-11-20 10:00Z", tick=False):
        client.force_login(finance_user)
        before = client.get(page).content.decode()
    with time_machine.travel("2026-12-20 10:00Z", tick=False):
        client.force_login(finance_user)
        after = client.get(page).content.decode()

    change = "From 1 December 2026: new prices, <a href="
    assert change in before and f"{copy.name}</a>, instead of {plan.name}</li>" in before
    assert "(in force)" not in before
    assert f"{copy.name}</a>, instead of {plan.name} <strong>(in force)</strong>" in after


def test_the_plans_list_says_which_plan_changes_and_which_starts(finance, db):
    plan = hourly_plan()
    scheduled(plan)

    page = finance.get(reverse("admin:invoices_priceplan_changelist")).content.decode()

    assert "changes 1 Oct 2026" in page and "starts 1 Oct 2026" in page
