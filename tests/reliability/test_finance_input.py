"""Reliability matrix, finance input: every bad number, code or tier structure finance can type
into the invoices admin (plans and their tier inline, billing terms, manual lines, credit
notes) and the customer's billing details is a clear form error and changes no table; a plan
made invalid outside the admin (the ORM, a script) blocks its drafts with the reason; a draft
of a month not over, of a customer without terms or below zero is refused; and the data
migrations clean what they can of dirty rows, leave the rest for finance and never touch an
issued invoice."""

import importlib
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.apps import apps as django_apps
from django.urls import reverse

from customers.models import Customer
from invoices import pricing
from invoices.exceptions import ApprovalRefused
from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan, PriceTier
from invoices.services import invoice_approve, invoice_generate_drafts
from usage.models import DailyUsage

OCTOBER = date(2026, 10, 1)
NOW = "2026-11-05 09:00Z"

PLAN = {
    "name": "Finance input",
    "mode": "hourly",
    "included_characters": "0",
    "included_agent_hours": "0",
    "included_tokens": "0",
    "markup_percent": "0",
    "minimum_per_minute": "",
    "show_markup": "on",
    "currency": "USD",
    "billed_quantity": "total_hours",
    "rate_per_hour": "0.500000",
    "rate_sync": "",
    "rate_async": "",
    "rate_streaming": "",
    "included_hours": "0",
    "monthly_minimum": "0",
    "platform_fee": "0",
    "platform_fee_label": "Platform subscription",
}
OPEN_TIER = {"up_to_hours": "", "rate_per_hour": "0.100000"}


def tiers(*rows) -> dict:
    data = {
        "tiers-TOTAL_FORMS": str(len(rows)),
        "tiers-INITIAL_FORMS": "0",
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


def tier(up_to: str, rate: str = "0.200000") -> dict:
    return {"up_to_hours": up_to, "rate_per_hour": rate}


BAD_PLANS = {
    "overlapping tiers (100, 100, open)": (
        tiers(tier("100"), tier("100"), OPEN_TIER),
        "tiers must rise strictly",
    ),
    "no open last tier": (tiers(tier("100"), tier("200")), "it must be open"),
    "two open tiers": (tiers(OPEN_TIER, OPEN_TIER), "is not the last one"),
    "a tier ending at 0 h": (tiers(tier("0"), OPEN_TIER), "A tier ends above 0 h."),
    "negative tier rate": (tiers(tier("100", "-0.100000"), OPEN_TIER), "It cannot be negative."),
    "negative platform fee": ({"platform_fee": "-53.90"}, "It cannot be negative."),
    "negative monthly minimum": ({"monthly_minimum": "-1"}, "It cannot be negative."),
    "negative rate per hour": ({"rate_per_hour": "-0.5"}, "It cannot be negative."),
    "negative streaming rate": ({"rate_streaming": "-0.5"}, "It cannot be negative."),
    "negative included hours": ({"included_hours": "-1"}, "It cannot be negative."),
    "currency ZZZ": ({"currency": "ZZZ"}, "&#x27;ZZZ&#x27; is not an ISO 4217 currency code"),
    "currency gold (no minor unit)": ({"currency": "XAU"}, "is not an ISO 4217 currency code"),
    "currency of 4 decimals (CLF)": ({"currency": "CLF"}, "cannot invoice in CLF yet"),
    "minimum with decimals in yen": (
        {"currency": "JPY", "monthly_minimum": "10.5"},
        "JPY amounts have no decimals; 10.5 has some.",
    ),
    "fee finer than a cent": (
        {"platform_fee": "53.905"},
        "USD amounts have at most 2 decimals; 53.905 has more.",
    ),
    "currency of two letters": ({"currency": "US"}, "is not an ISO 4217 currency code"),
    "rate beyond its column": (
        {"rate_per_hour": "99999999999"},
        "Ensure that there are no more than 10 digits before the decimal point.",
    ),
    "fee beyond its column": (
        {"platform_fee": "1000000000000"},
        "Ensure that there are no more than 12 digits before the decimal point.",
    ),
    "tier bound beyond its column": (
        tiers(tier("99999999999"), OPEN_TIER),
        "Ensure that there are no more than 10 digits before the decimal point.",
    ),
    "rate with 7 decimals": (
        {"rate_per_hour": "0.0000001"},
        "Ensure that there are no more than 6 decimal places.",
    ),
}


def assert_refused(stored_state, post, error: str) -> None:
    """`post()` answers the form again (200) with `error` on it, and no table changed."""
    before = stored_state()
    response = post()
    assert response.status_code == 200
    assert error in response.text
    assert stored_state() == before


@pytest.fixture
def billable(make_customer, key_of, finance_user):
    """What bad input could touch: Acme on a plan with terms and October usage, its October
    draft, and an issued September invoice."""
    plan = PricePlan.objects.create(name="Standard", currency="USD", rate_per_hour=D("0.5"))
    acme = make_customer("Acme Voice Ltd", country="GB")
    CustomerPlan.objects.create(customer=acme, plan=plan, effective_from=date(2026, 1, 1))
    BillingTerms.objects.create(customer=acme, tax_rate=D("20.00"))
    key = put_usage(key_of(acme), date(2026, 9, 3), "4")
    put_usage(key, date(2026, 10, 3), "10")
    with time_machine.travel(NOW, tick=False):
        september = invoice_generate_drafts(period=date(2026, 9, 1)).created[0]
        issued = invoice_approve(invoice=september, actor=finance_user)
        draft = invoice_generate_drafts(period=OCTOBER).created[0]
    return {"plan": plan, "acme": acme, "draft": draft, "issued": issued}


def put_usage(key, day: date, hours: str, method: str = "all"):
    now = datetime(2026, 11, 1, tzinfo=UTC)
    DailyUsage.objects.create(
        api_key=key, day=day, method=method, hours=D(hours), total_hours=D(hours),
        requests=1, first_seen_at=now, changed_at=now,
    )  # fmt: skip
    return key


@pytest.mark.parametrize("case", BAD_PLANS)
def test_it_refuses_a_bad_plan_in_the_admin_and_changes_nothing(
    finance, billable, stored_state, case
):
    changes, error = BAD_PLANS[case]
    data = {**PLAN, **tiers(), **changes}
    assert_refused(
        stored_state, lambda: finance.post(reverse("admin:invoices_priceplan_add"), data), error
    )


def test_it_refuses_bad_tiers_on_an_existing_plan(finance, billable, stored_state):
    url = reverse("admin:invoices_priceplan_change", args=[billable["plan"].pk])
    data = {**PLAN, "name": "Standard", **tiers(tier("100"), tier("100"), OPEN_TIER)}
    assert_refused(stored_state, lambda: finance.post(url, data), "tiers must rise strictly")


def test_it_takes_a_lower_case_currency_as_its_code(finance, db):
    data = {**PLAN, **tiers(), "currency": "eur"}

    response = finance.post(reverse("admin:invoices_priceplan_add"), data)

    assert response.status_code == 302
    assert PricePlan.objects.get().currency == "EUR"


def _draft_url(name: str, invoice: Invoice) -> str:
    return reverse(f"admin:invoices_invoice_{name}", args=[invoice.pk])


def manual_line(description: str, quantity: str, unit_price: str, error: str) -> tuple:
    data = {"description": description, "quantity": quantity, "unit_price": unit_price}
    return "draft", "add_line", data, error


def partial_credit(amount: str, reason: str, error: str) -> tuple:
    return "issued", "credit", {"scope": "partial", "amount": amount, "reason": reason}, error


BAD_FORMS = {
    "manual line 9,999,999,999 x 999,999,999.999999": manual_line(
        "Huge", "9999999999", "999999999.999999",
        "a line&#x27;s amount is at most 999,999,999,999.999 either way",
    ),
    "manual line quantity beyond its column": manual_line(
        "Huge", "99999999999", "1",
        "Ensure that there are no more than 10 digits before the decimal point.",
    ),
    "manual line price with 7 decimals": manual_line(
        "Tiny", "1", "0.0000001", "Ensure that there are no more than 6 decimal places."
    ),
    "manual line making the total too big": manual_line(
        "Big", "100", "9999999999", "an amount is at most 999,999,999,999.999 either way"
    ),
    "credit amount beyond its column": partial_credit(
        "10000000000000", "Too much",
        "Ensure that there are no more than 12 digits before the decimal point.",
    ),
    "credit amount with 3 decimals in dollars": partial_credit(
        "1.005", "Cents", "USD amounts have at most 2 decimals; 1.005 has more."
    ),
    "credit amount with 4 decimals": partial_credit(
        "1.0005", "Cents", "Ensure that there are no more than 3 decimal places."
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_FORMS)
def test_it_refuses_bad_numbers_in_finances_forms_and_changes_nothing(
    finance, billable, stored_state, case
):
    which, page, data, error = BAD_FORMS[case]
    url = reverse(f"admin:invoices_invoice_{page}", args=[billable[which].pk])
    before = stored_state()

    with time_machine.travel(NOW, tick=False):
        response = finance.post(url, data)

    assert response.status_code == 200
    assert error in response.text
    assert stored_state() == before


BAD_TERMS = {
    "tax rate above 100": ({"tax_rate": "150"}, "A percentage from 0 to 100."),
    "negative tax rate": ({"tax_rate": "-1"}, "A percentage from 0 to 100."),
    "tax rate beyond its column": ({"tax_rate": "10000"}, "no more than 3 digits before"),
    "payment terms of 100,000 days": (
        {"payment_terms_days": "100000"},
        "Ensure this value is less than or equal to 365.",
    ),
    "negative payment terms": (
        {"payment_terms_days": "-1"},
        "Ensure this value is greater than or equal to 0.",
    ),
}


@pytest.mark.parametrize("case", BAD_TERMS)
def test_it_refuses_bad_billing_terms_and_changes_nothing(
    finance, billable, make_customer, stored_state, case
):
    changes, error = BAD_TERMS[case]
    customer = make_customer("Globex Transcripts")
    data = {
        "customer": customer.pk,
        "tax_rate": "20",
        "reverse_charge_note": "",
        "payment_terms_days": "30",
        **changes,
    }
    assert_refused(
        stored_state, lambda: finance.post(reverse("admin:invoices_billingterms_add"), data), error
    )


BAD_CUSTOMER = {
    "country ZZ": ({"country": "ZZ"}, "&#x27;ZZ&#x27; is not an ISO 3166-1 country code"),
    "country of digits": ({"country": "12"}, "is not an ISO 3166-1 country code"),
    "currency ZZZ": ({"currency": "ZZZ"}, "&#x27;ZZZ&#x27; is not an ISO 4217 currency code"),
}


NO_INLINES = {
    f"{prefix}-{name}": value
    for prefix in ("api_keys", "users")
    for name, value in [("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"), ("MAX_NUM_FORMS", "0")]
}


@pytest.mark.parametrize("case", BAD_CUSTOMER)
def test_it_refuses_bad_codes_in_a_customers_billing_details(finance, billable, stored_state, case):
    changes, error = BAD_CUSTOMER[case]
    acme = billable["acme"]
    data = {
        "legal_name": "",
        "billing_email": acme.billing_email,
        "address": "",
        "country": "GB",
        "tax_id": "",
        "currency": "USD",
        **NO_INLINES,
        **changes,
    }
    assert_refused(
        stored_state,
        lambda: finance.post(reverse("admin:customers_customer_change", args=[acme.pk]), data),
        error,
    )


def test_it_takes_lower_case_codes_in_billing_details_as_the_codes(finance, billable):
    acme = billable["acme"]
    data = {"billing_email": acme.billing_email, "country": "de", "currency": "eur", **NO_INLINES}

    response = finance.post(reverse("admin:customers_customer_change", args=[acme.pk]), data)

    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.country, acme.currency) == ("DE", "EUR")


# --- Plans made invalid outside the admin block their drafts, with the reason ---------------


def _break_tiers(plan):
    PriceTier.objects.create(plan=plan, up_to_hours=D("100"), rate_per_hour=D("0.2"))
    PriceTier.objects.create(plan=plan, up_to_hours=D("100"), rate_per_hour=D("0.1"))
    PriceTier.objects.create(plan=plan, up_to_hours=None, rate_per_hour=D("0.05"))


ORM_BREAKS = {
    "overlapping tiers": (_break_tiers, "tiers must rise strictly"),
    "tiers without an open last one": (
        lambda plan: PriceTier.objects.create(plan=plan, up_to_hours=D("200"), rate_per_hour=1),
        "it must be open",
    ),
    "negative platform fee": (
        lambda plan: PricePlan.objects.filter(pk=plan.pk).update(platform_fee=D("-53.90")),
        "the platform fee is negative (-53.90)",
    ),
    "negative tier rate": (
        lambda plan: PriceTier.objects.create(plan=plan, up_to_hours=None, rate_per_hour=-1),
        "Tier 1's rate is negative",
    ),
    "currency ZZZ": (
        lambda plan: PricePlan.objects.filter(pk=plan.pk).update(currency="ZZZ"),
        "'ZZZ' is not an ISO 4217 currency code",
    ),
}


@pytest.mark.parametrize("case", ORM_BREAKS)
def test_a_plan_broken_outside_the_admin_blocks_its_drafts(
    billable, finance_user, stored_state, case
):
    breaks, reason = ORM_BREAKS[case]
    breaks(billable["plan"])

    with time_machine.travel(NOW, tick=False):
        before = stored_state()
        report = invoice_generate_drafts(period=OCTOBER)
        assert stored_state() == before  # the draft is neither refreshed nor replaced
        with pytest.raises(ApprovalRefused) as refused:
            invoice_approve(invoice=billable["draft"], actor=finance_user)

    assert (report.invalid_plan, list(report.invalid_plans)) == (1, ["Standard"])
    assert reason in report.invalid_plans_text()
    assert "Its price plan is invalid" in str(refused.value) and reason in str(refused.value)
    assert stored_state() == before


def test_it_says_on_the_draft_page_what_blocks_approval(finance, billable):
    _break_tiers(billable["plan"])
    BillingTerms.objects.filter(customer=billable["acme"]).delete()

    with time_machine.travel(NOW, tick=False):
        page = finance.get(_draft_url("change", billable["draft"])).text

    assert "What blocks approval" in page
    assert "Acme Voice Ltd has no billing terms" in page
    assert "tiers must rise strictly" in page


def test_a_rate_of_0_is_free_not_the_default_rate():
    plan = pricing.Plan(currency="USD", rate_per_hour=D("10"), method_rates={"streaming": D(0)})

    lines, _ = pricing.price_usage(plan, [pricing.Usage(1, "k", "streaming", D("5"))], "October")

    assert [(line.unit_price, line.amount) for line in lines] == [(D(0), D("0.00"))]


# --- What approval refuses: a month not over, no terms, a total below zero ------------------


def test_it_refuses_to_approve_the_month_that_is_not_over(billable, finance_user, stored_state):
    with time_machine.travel("2026-10-20 09:00Z", tick=False):
        before = stored_state()
        with pytest.raises(ApprovalRefused, match="October 2026 is not over yet"):
            invoice_approve(invoice=billable["draft"], actor=finance_user)

    assert stored_state() == before


def test_it_refuses_a_customer_without_billing_terms(billable, finance_user, stored_state):
    BillingTerms.objects.all().delete()
    with time_machine.travel(NOW, tick=False):
        invoice_generate_drafts(period=OCTOBER)
        before = stored_state()
        with pytest.raises(ApprovalRefused, match="Acme Voice Ltd has no billing terms"):
            invoice_approve(invoice=Invoice.objects.get(period=OCTOBER), actor=finance_user)

    assert stored_state() == before


def test_it_counts_drafts_without_terms_in_the_command_output(billable, capsys):
    from django.core.management import call_command

    BillingTerms.objects.all().delete()
    with time_machine.travel(NOW, tick=False):
        call_command("generate_invoices", "--period", "2026-10")

    out, err = capsys.readouterr()
    assert "no_terms        1" in out
    assert "1 draft(s) for customers without billing terms" in err


def test_it_refuses_a_total_below_zero(billable, finance_user, stored_state):
    from invoices.services import invoice_add_manual_line

    with time_machine.travel(NOW, tick=False):
        invoice_add_manual_line(
            invoice=billable["draft"], actor=None, description="Refund",
            quantity=D("1"), unit_price=D("-100"),
        )  # fmt: skip
        before = stored_state()
        with pytest.raises(ApprovalRefused, match="below zero"):
            invoice_approve(invoice=Invoice.objects.get(period=OCTOBER), actor=finance_user)

    assert stored_state() == before


# --- The data migrations on dirty rows ------------------------------------------------------


def test_the_migrations_clean_what_they_can_and_keep_issued_invoices(billable):
    acme, issued = billable["acme"], billable["issued"]
    long_address = "1 Long Road\n" * 420  # about 5,000 characters
    Customer.objects.filter(pk=acme.pk).update(currency="usd ", country="gb", address=long_address)
    zzz = Customer.objects.create(
        name="Zed", billing_email="z@z.example", currency="ZZZ", country="ZZ"
    )
    PricePlan.objects.filter(pk=billable["plan"].pk).update(currency="usd")
    bad_plan = PricePlan.objects.create(name="Zed plan", currency="ZZZ", rate_per_hour=1)
    Invoice.objects.filter(pk=billable["draft"].pk).update(currency="usd")
    Invoice.objects.filter(pk=issued.pk).update(currency="zzz", buyer={"country": "zz"})
    issued_row = Invoice.objects.filter(pk=issued.pk).values().get()

    importlib.import_module("customers.migrations.0006_iso_country_currency").clean_codes(
        django_apps, None
    )
    importlib.import_module("invoices.migrations.0005_plans_validated").clean_currencies(
        django_apps, None
    )

    acme.refresh_from_db()
    zzz.refresh_from_db()
    assert (acme.currency, acme.country, acme.address) == ("USD", "GB", long_address)
    assert (zzz.currency, zzz.country) == ("ZZZ", "ZZ")  # left for a person, shown to finance
    assert PricePlan.objects.get(pk=billable["plan"].pk).currency == "USD"
    assert PricePlan.objects.get(pk=bad_plan.pk).currency == "ZZZ"
    assert Invoice.objects.get(pk=billable["draft"].pk).currency == "USD"
    assert Invoice.objects.filter(pk=issued.pk).values().get() == issued_row
