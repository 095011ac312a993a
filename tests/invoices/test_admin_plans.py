"""Prices and terms in the admin: Finance edits plans (with their tiers), assigns them from
the first of a month and sets tax terms; a changed plan makes its drafts stale."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan
from invoices.services import invoice_generate_drafts

from .conftest import OCTOBER

PLAN_FIELDS = {
    "name": "Volume",
    "mode": "hourly",
    "included_characters": "0",
    "included_agent_hours": "0",
    "included_tokens": "0",
    "markup_percent": "0",
    "minimum_per_minute": "",
    "show_markup": "on",
    "currency": "eur",
    "billed_quantity": "total_hours",
    "rate_per_hour": "0.300000",
    "included_hours": "0",
    "monthly_minimum": "0",
    "platform_fee": "0",
    "platform_fee_label": "Platform subscription",
}


def tiers(*rows, initial=0) -> dict:
    """The tier inline's formset data."""
    data = {
        "tiers-TOTAL_FORMS": str(len(rows)),
        "tiers-INITIAL_FORMS": str(initial),
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
        # The rate card's inline, empty (what the page posts for an hourly plan).
        "card_entries-TOTAL_FORMS": "0",
        "card_entries-INITIAL_FORMS": "0",
        "card_entries-MIN_NUM_FORMS": "0",
        "card_entries-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data.update({f"tiers-{n}-{name}": value for name, value in row.items()})
    return data


def test_it_lets_finance_create_a_plan_with_tiers(finance):
    data = {
        **PLAN_FIELDS,
        **tiers(
            {"up_to_hours": "100", "rate_per_hour": "0.300000"},
            {"up_to_hours": "", "rate_per_hour": "0.200000"},
        ),
    }

    response = finance.post(reverse("admin:invoices_priceplan_add"), data)

    assert response.status_code == 302
    plan = PricePlan.objects.get()
    assert plan.currency == "EUR"
    assert [(t.up_to_hours, t.rate_per_hour) for t in plan.tiers.all()] == [
        (D("100.000000"), D("0.300000")),
        (None, D("0.200000")),
    ]


@pytest.mark.parametrize("currency", ["EURO", "E1R", ""])
def test_it_refuses_a_currency_that_is_not_a_code(finance, currency):
    data = {**PLAN_FIELDS, "currency": currency, **tiers()}

    response = finance.post(reverse("admin:invoices_priceplan_add"), data)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["currency"]
    assert not PricePlan.objects.exists()


def test_it_offers_finance_no_way_to_delete_a_plan_or_tier(finance, plan):
    plan.tiers.create(up_to_hours=D("100"), rate_per_hour=D("0.3"))

    page = finance.get(reverse("admin:invoices_priceplan_change", args=[plan.pk])).text

    assert 'name="_save"' in page
    assert "tiers-0-DELETE" not in page
    assert "deletelink" not in page


def test_it_shows_support_no_plan(client, support_user, plan):
    client.force_login(support_user)

    response = client.get(reverse("admin:invoices_priceplan_change", args=[plan.pk]))

    assert response.status_code == 403


@pytest.mark.parametrize(("effective_from", "ok"), [("2026-10-01", True), ("2026-10-15", False)])
def test_it_assigns_a_plan_from_the_first_of_a_month(finance, customer_a, plan, effective_from, ok):
    response = finance.post(
        reverse("admin:invoices_customerplan_add"),
        {"customer": customer_a.pk, "plan": plan.pk, "effective_from": effective_from},
    )

    assert CustomerPlan.objects.exists() is ok
    if not ok:
        assert response.context["adminform"].form.errors == {
            "effective_from": ["A plan starts on the first day of a month."]
        }


@pytest.mark.parametrize(("tax_rate", "ok"), [("20.00", True), ("0", True), ("120", False)])
def test_it_sets_a_customers_tax_terms(finance, customer_a, tax_rate, ok):
    response = finance.post(
        reverse("admin:invoices_billingterms_add"),
        {
            "customer": customer_a.pk,
            "tax_rate": tax_rate,
            "reverse_charge_note": "Reverse charge.",
            "payment_terms_days": "30",
        },
    )

    assert BillingTerms.objects.filter(customer=customer_a).exists() is ok
    if not ok:
        assert response.context["adminform"].form.errors == {
            "tax_rate": ["A percentage from 0 to 100."]
        }


@time_machine.travel("2026-11-05 09:00Z", tick=False)
def test_it_makes_drafts_stale_when_finance_changes_their_plan(
    finance, acme, plan, key_of, put_usage
):
    put_usage(key_of(acme), date(2026, 10, 3), "10.000000")
    draft = invoice_generate_drafts(period=OCTOBER).created[0]
    data = {**PLAN_FIELDS, "name": "Standard", "currency": "USD", **tiers()}

    with time_machine.travel("2026-11-05 10:00Z", tick=False):
        finance.post(reverse("admin:invoices_priceplan_change", args=[plan.pk]), data)
    page = finance.post(
        reverse("admin:invoices_invoice_changelist"),
        {"action": "approve_selected", "_selected_action": [draft.pk]},
    )

    assert PricePlan.objects.get().rate_per_hour == D("0.300000")
    assert page.context["preview"].stale == [draft]
    assert Invoice.objects.get().status == Invoice.Status.DRAFT
