"""A draft's fingerprint: what it covers (usage, prices, terms, manual lines, adjustments),
that approval refuses a draft whose inputs changed, and that it stays the one drafts computed
before carry."""

import hashlib
from datetime import date
from decimal import Decimal as D

import pytest

from invoices.exceptions import StaleDraft
from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan, PriceTier
from invoices.services import (
    invoice_add_manual_line,
    invoice_approve,
    invoice_generate_drafts,
    invoice_is_stale,
)

from .conftest import OCTOBER


@pytest.fixture
def key(acme, key_of):
    return key_of(acme)


@pytest.fixture
def draft(key, put_usage):
    put_usage(key, date(2026, 10, 3), "10.000000")
    put_usage(key, date(2026, 10, 17), "2.500000")
    return invoice_generate_drafts(period=OCTOBER).created[0]


def test_its_fingerprint_is_the_one_earlier_drafts_carry(draft, plan, key):
    plan = PricePlan.objects.get(pk=plan.pk)
    basis = [
        str(plan.pk),
        plan.updated_at.isoformat(),
        "total_hours",
        "20.00",  # the tax rate
        "",  # no reverse-charge note
        f"{key.pk}/all/12.500000",
    ]

    assert draft.usage_fingerprint == hashlib.sha256("|".join(basis).encode()).hexdigest()


def change_usage(draft, key, put_usage, finance_user):
    put_usage(key, date(2026, 10, 30), "0.000001")


def change_price(draft, key, put_usage, finance_user):
    plan = PricePlan.objects.get(pk=draft.customer.plans.get().plan_id)
    plan.rate_per_hour = D("0.300000")
    plan.save()


def add_a_tier(draft, key, put_usage, finance_user):
    PriceTier.objects.create(
        plan_id=draft.customer.plans.get().plan_id, up_to_hours=None, rate_per_hour=D("0.1")
    )


def change_the_tax_rate(draft, key, put_usage, finance_user):
    BillingTerms.objects.filter(customer=draft.customer).update(tax_rate=D("19.00"))


def turn_on_reverse_charge(draft, key, put_usage, finance_user):
    BillingTerms.objects.filter(customer=draft.customer).update(reverse_charge=True)


def assign_another_plan(draft, key, put_usage, finance_user):
    other = PricePlan.objects.create(name="Other", currency="USD", rate_per_hour=D("0.258000"))
    CustomerPlan.objects.create(customer=draft.customer, plan=other, effective_from=OCTOBER)


def add_a_manual_line_behind_its_back(draft, key, put_usage, finance_user):
    draft.lines.create(
        kind="manual", description="Onboarding", quantity=D(1), unit_price=D(5), amount=D(5)
    )


@pytest.mark.parametrize(
    "change",
    [
        change_usage,
        change_price,
        add_a_tier,
        change_the_tax_rate,
        turn_on_reverse_charge,
        assign_another_plan,
        add_a_manual_line_behind_its_back,
    ],
)
def test_it_goes_stale_and_is_refused_when_an_input_changes(
    draft, key, put_usage, finance_user, change
):
    assert not invoice_is_stale(invoice=draft)

    change(draft, key, put_usage, finance_user)

    assert invoice_is_stale(invoice=draft)
    with pytest.raises(StaleDraft):
        invoice_approve(invoice=draft, actor=finance_user)
    report = invoice_generate_drafts(period=OCTOBER)
    assert report.refreshed == [draft]
    draft.refresh_from_db()
    assert not invoice_is_stale(invoice=draft)
    assert invoice_approve(invoice=draft, actor=finance_user).status == Invoice.Status.ISSUED


def test_it_goes_stale_when_a_billed_day_changes(draft, key, put_usage, finance_user):
    invoice_approve(invoice=draft, actor=finance_user)
    november = invoice_generate_drafts(period=date(2026, 11, 1)).created[0]
    assert not invoice_is_stale(invoice=november)

    put_usage(key, date(2026, 10, 17), "3.500000")  # a late correction: an adjustment

    assert invoice_is_stale(invoice=november)
    assert invoice_generate_drafts(period=date(2026, 11, 1)).refreshed == [november]
    assert november.lines.get(kind="adjustment").quantity == D("1.000000")


def test_a_manual_line_refreshes_its_draft_at_once(draft, finance_user):
    invoice_add_manual_line(
        invoice=draft,
        actor=finance_user,
        description="Onboarding",
        quantity=D("1"),
        unit_price=D("50"),
    )

    draft.refresh_from_db()
    assert not invoice_is_stale(invoice=draft)
    assert draft.subtotal == sum(line.amount for line in draft.lines.all()) == D("63.23")


def test_it_refreshes_only_the_drafts_whose_inputs_changed(
    acme, customer_b, plan, key_of, put_usage
):
    CustomerPlan.objects.create(customer=customer_b, plan=plan, effective_from=OCTOBER)
    put_usage(key_of(acme), date(2026, 10, 3), "1.000000")
    globex_key = key_of(customer_b, "globex-key-1")
    put_usage(globex_key, date(2026, 10, 3), "1.000000")
    first = invoice_generate_drafts(period=OCTOBER)

    put_usage(globex_key, date(2026, 10, 4), "2.000000")
    again = invoice_generate_drafts(period=OCTOBER)

    acme_draft, globex_draft = first.created
    assert (again.unchanged, again.refreshed, again.created) == ([acme_draft], [globex_draft], [])
    assert globex_draft.lines.get(kind="usage").quantity == D("3.000000")
    assert [e.action for e in globex_draft.events.all()] == ["generated", "refreshed"]


def test_a_refreshed_draft_takes_its_new_plans_currency(draft, acme):
    yen = PricePlan.objects.create(name="Yen", currency="JPY", rate_per_hour=D("40"))
    CustomerPlan.objects.create(customer=acme, plan=yen, effective_from=OCTOBER)

    invoice_generate_drafts(period=OCTOBER)

    draft.refresh_from_db()
    # 12.5 h at 40 JPY = 500 JPY, tax 20 % = 100 JPY: whole yen, no cents.
    assert (draft.currency, draft.subtotal, draft.tax, draft.total) == (
        "JPY",
        D("500"),
        D("100"),
        D("600"),
    )
