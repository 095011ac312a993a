"""Generation over many customers: a fixed number of queries, batches, each customer's own
plan quantity, usage and adjustments, and the same drafts whether one customer or all are
generated."""

from datetime import date
from decimal import Decimal as D

from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan
from invoices.services import (
    drafts,
    invoice_approve,
    invoice_generate_drafts,
    invoice_refresh_draft,
    invoice_refresh_open_drafts,
)

from .conftest import OCTOBER

NOVEMBER = date(2026, 11, 1)


def queries_to_generate(period=OCTOBER):
    with CaptureQueriesContext(connection) as captured:
        invoice_generate_drafts(period=period)
    return len(captured)


def test_its_queries_do_not_grow_with_the_customers(billed_customer):
    for _ in range(2):
        billed_customer()
    few = queries_to_generate()
    Invoice.objects.all().delete()
    for _ in range(38):
        billed_customer()

    assert queries_to_generate() == few
    assert Invoice.objects.count() == 40


def test_it_generates_in_a_pinned_number_of_queries(billed_customer, django_assert_num_queries):
    for _ in range(3):
        billed_customer()
    # The month: customers, plans (2), tiers, keys, usage, terms, whether anything was billed
    # before, who has an invoice. A batch: savepoint, locked drafts, new drafts (one COPY on
    # PostgreSQL, not counted here, or INSERT) read back, lines and events (COPY or INSERT),
    # release.
    inserts = 3 if connection.vendor == "sqlite" else 0

    with django_assert_num_queries(13 + inserts):
        invoice_generate_drafts(period=OCTOBER)
    # Nothing changed: the drafts' manual lines are read instead, and nothing is written.
    with django_assert_num_queries(13):
        assert len(invoice_generate_drafts(period=OCTOBER).unchanged) == 3


def test_it_works_through_many_batches(billed_customer, monkeypatch):
    monkeypatch.setattr(drafts, "GENERATE_BATCH", 3)
    customers = [billed_customer(f"{n + 1}.000000") for n in range(8)]

    report = invoice_generate_drafts(period=OCTOBER)

    assert [d.customer for d in report.created] == customers
    assert [d.lines.get(kind="usage").quantity for d in report.created] == [
        D(n + 1) for n in range(8)
    ]
    again = invoice_generate_drafts(period=OCTOBER)
    assert len(again.unchanged) == 8 and not again.created and not again.refreshed


def test_it_bills_each_plan_in_its_own_quantity(billed_customer, put_usage):
    audio = PricePlan.objects.create(
        name="Audio hours", currency="USD", rate_per_hour=D("1"), billed_quantity="hours"
    )
    channels = PricePlan.objects.create(name="Channels", currency="USD", rate_per_hour=D("1"))
    by_audio = billed_customer(on=audio)
    by_channels = billed_customer(on=channels)
    for customer in (by_audio, by_channels):  # stereo: two channels an hour
        put_usage(customer.api_keys.get(), date(2026, 10, 4), "4.000000", hours="2.000000")

    drafts = {d.customer: d for d in invoice_generate_drafts(period=OCTOBER).created}

    assert drafts[by_audio].lines.get(kind="usage").quantity == D("3.000000")
    assert drafts[by_channels].lines.get(kind="usage").quantity == D("5.000000")
    assert (drafts[by_audio].billed_quantity, drafts[by_channels].billed_quantity) == (
        "hours",
        "total_hours",
    )


def test_it_leaves_out_customers_that_are_not_active_or_have_no_plan(
    billed_customer, make_customer, key_of
):
    billed = billed_customer()
    billed_customer(status=Customer.Status.SUSPENDED)
    billed_customer(status=Customer.Status.CLOSED)
    key_of(make_customer("No plan"))

    report = invoice_generate_drafts(period=OCTOBER)

    assert [d.customer for d in report.created] == [billed]
    assert report.no_plan == 1
    assert report.created[0].lines.get(kind="usage").quantity == D("1.000000")


def test_one_customers_refresh_matches_the_whole_generation(billed_customer):
    customers = [billed_customer("3.333333") for _ in range(3)]
    BillingTerms.objects.create(customer=customers[1], tax_rate=D("7.50"))
    invoice_generate_drafts(period=OCTOBER)

    for customer in customers:
        outcome, _ = invoice_refresh_draft(customer=customer, period=OCTOBER)

        assert outcome == "unchanged"


def test_each_customer_gets_its_own_adjustments(billed_customer, put_usage, finance_user):
    customers = [billed_customer("5.000000", terms=True) for _ in range(3)]
    for draft in invoice_generate_drafts(period=OCTOBER).created:
        invoice_approve(invoice=draft, actor=finance_user)
    put_usage(customers[0].api_keys.get(), date(2026, 10, 3), "6.000000")
    put_usage(customers[2].api_keys.get(), date(2026, 10, 3), "4.500000")

    drafts = {d.customer: d for d in invoice_generate_drafts(period=NOVEMBER).created}

    adjustments = {
        customer: [line.quantity for line in drafts[customer].lines.filter(kind="adjustment")]
        for customer in customers
    }
    assert adjustments == {
        customers[0]: [D("1.000000")],
        customers[1]: [],
        customers[2]: [D("-0.500000")],
    }


def test_refreshing_open_drafts_takes_one_generation_a_month(
    billed_customer, put_usage, finance_user
):
    customers = [billed_customer(terms=True) for _ in range(4)]
    for month in (date(2026, 9, 1), OCTOBER):
        invoice_generate_drafts(period=month)
    invoice_approve(
        invoice=Invoice.objects.get(customer=customers[1], period=OCTOBER), actor=finance_user
    )
    put_usage(customers[0].api_keys.get(), date(2026, 10, 5), "2.000000")
    CustomerPlan.objects.filter(customer=customers[3]).delete()

    with CaptureQueriesContext(connection) as captured:
        outcomes = invoice_refresh_open_drafts()

    assert outcomes == {"refreshed": 1, "unchanged": 4, "no_plan": 2}
    assert Invoice.objects.get(customer=customers[0], period=OCTOBER).subtotal == D("10.77")
    assert len(captured) < 40  # two generations, not one for each of the seven drafts


def test_refreshing_open_drafts_counts_drafts_without_terms(billed_customer):
    billed_customer(terms=True)
    billed_customer(terms=False)
    invoice_generate_drafts(period=OCTOBER)

    # Approval refuses the second one: the beat task's result says so, as the command does.
    assert invoice_refresh_open_drafts() == {"unchanged": 2, "no_terms": 1}


def test_refreshing_open_drafts_does_not_query_per_draft(billed_customer):
    def queries(more):
        for _ in range(more):
            billed_customer(terms=True)
        invoice_generate_drafts(period=OCTOBER)
        with CaptureQueriesContext(connection) as captured:
            assert invoice_refresh_open_drafts() == {"unchanged": Invoice.objects.count()}
        return len(captured)

    few = queries(2)
    assert queries(28) == few
