"""Reliability matrix, rate cards and exchange rates: a rate card entry or an exchange rate
that cannot price (overlapping or open-less ladders, negative or zero-width packages, a rate
that is not a positive number, a currency that is none) is refused in the admin with a clear
error and changes no table; a cost-plus month without its rate bills nothing and cannot be
approved."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from invoices.exceptions import ApprovalRefused
from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan, RateCardEntry
from invoices.services import invoice_approve, invoice_generate_drafts

from .test_finance_input import assert_refused, put_usage

ENTRY = {
    "position": "0",
    "name": "Nova-3",
    "endpoint": "listen",
    "method": "*",
    "model": "nova-3*",
    "unit": "audio_minutes",
    "ladder": "graduated",
    "unit_price": "0",
    "package_size": "",
}


def steps(*rows) -> dict:
    data = {
        "steps-TOTAL_FORMS": str(len(rows)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for n, (up_to, price, *flat) in enumerate(rows):
        data.update(
            {
                f"steps-{n}-up_to": up_to,
                f"steps-{n}-unit_price": price,
                f"steps-{n}-flat": flat[0] if flat else "0",
            }
        )
    return data


OPEN = ("", "0.005")
BAD_ENTRIES = {
    "overlapping tiers (600, 600, open)": (
        steps(("600", "0.01"), ("600", "0.008"), OPEN),
        "tiers must rise strictly",
    ),
    "tiers without an open last one": (steps(("600", "0.01"), ("900", "0.008")), "must be open"),
    "two open tiers": (steps(OPEN, OPEN), "not the last"),
    "graduated without tiers": (steps(), "has no tiers"),
    "a tier ending at 0": (steps(("0", "0.01"), OPEN), "A tier ends above 0."),
    "a negative tier price": (steps(("600", "-0.01"), OPEN), "It cannot be negative."),
    "a negative flat amount": (steps(("600", "0.01", "-5"), OPEN), "It cannot be negative."),
    "tiers on a per-unit entry": ({"ladder": "unit", **steps(OPEN)}, "has no tiers: remove them"),
    "a package of 0 units": (
        {"ladder": "package", "package_size": "0", **steps()},
        "A package holds more than 0.",
    ),
    "a package of -10 units": (
        {"ladder": "package", "package_size": "-10", **steps()},
        "A package holds more than 0.",
    ),
    "a package without its size": (
        {"ladder": "package", **steps()},
        "A package entry needs its size",
    ),
    "a negative unit price": (
        {"ladder": "unit", "unit_price": "-0.01", **steps()},
        "It cannot be negative.",
    ),
    "a unit that is none": ({"unit": "furlongs", **steps(OPEN)}, "Select a valid choice."),
    "a ladder that is none": ({"ladder": "stairs", **steps()}, "Select a valid choice."),
}


@pytest.fixture
def card(db):
    plan = PricePlan.objects.create(name="Card", mode=PricePlan.Mode.RATE_CARD)
    entry = RateCardEntry.objects.create(plan=plan, name="Nova-3", unit="audio_minutes")
    return {"plan": plan, "entry": entry}


@pytest.mark.parametrize("case", BAD_ENTRIES)
def test_it_refuses_a_rate_card_entry_that_cannot_price(finance, card, stored_state, case):
    changes, error = BAD_ENTRIES[case]
    data = {**ENTRY, "plan": str(card["plan"].pk), **changes}
    url = reverse("admin:invoices_ratecardentry_change", args=[card["entry"].pk])

    assert_refused(stored_state, lambda: finance.post(url, data), error)


BAD_RATES = {
    "a rate of 0": ({"per_usd": "0"}, "A rate is above zero."),
    "a negative rate": ({"per_usd": "-0.9"}, "A rate is above zero."),
    "a rate that is no number": ({"per_usd": "abc"}, "Enter a number."),
    "a rate of NaN": ({"per_usd": "NaN"}, "Enter a number."),
    "a rate beyond its column": ({"per_usd": "99999999999"}, "no more than 10 digits before"),
    "a rate for US dollars": ({"currency": "USD"}, "1 USD is always 1 USD"),
    "a currency that is none": ({"currency": "ZZZ"}, "is not an ISO 4217 currency code"),
    "a day that is none": ({"day": "2026-02-30"}, "Enter a valid date."),
}


@pytest.mark.parametrize("case", BAD_RATES)
def test_it_refuses_an_exchange_rate_that_cannot_convert(finance, db, stored_state, case):
    changes, error = BAD_RATES[case]
    data = {"day": "2026-10-30", "currency": "EUR", "per_usd": "0.9", "source": "", **changes}

    assert_refused(
        stored_state,
        lambda: finance.post(reverse("admin:invoices_exchangerate_add"), data),
        error,
    )


def test_a_cost_plus_month_without_its_rate_is_blocked_and_nothing_is_issued(
    make_customer, key_of, finance_user
):
    plan = PricePlan.objects.create(
        name="Cost plus CHF", currency="CHF", mode=PricePlan.Mode.COST_PLUS
    )
    customer = make_customer("Helvetic Speech")
    CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2026, 1, 1))
    BillingTerms.objects.create(customer=customer, tax_rate=D(0))
    put_usage(key_of(customer), date(2026, 10, 3), "4")
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        [draft] = invoice_generate_drafts(period=date(2026, 10, 1)).created
        with pytest.raises(ApprovalRefused, match="No exchange rate for CHF"):
            invoice_approve(invoice=draft, actor=finance_user)

    draft.refresh_from_db()
    assert (draft.status, draft.total, draft.number) == (Invoice.Status.DRAFT, 0, None)
