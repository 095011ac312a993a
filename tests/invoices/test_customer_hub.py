"""The customer page as the billing hub (invoices.customer_hub, shown by the customers app's
change form through the `billing_hub` tag): plan and its history, terms, balance, documents,
margin for finance only, and what setup is missing, each with a link for who may act."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from invoices.models import CustomerPlan, PricePlan


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


def page(client, customer) -> str:
    response = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert response.status_code == 200
    return response.text


def test_finance_sees_the_balance_documents_and_margin(finance, worked_example):
    invoice, _credit = worked_example
    text = page(finance, invoice.customer)
    hub = text.split('id="billing-hub"', 1)[1].split("API keys", 1)[0]
    assert "104.40 USD</strong>" in hub  # left to pay
    assert "INV-2026-000001" in hub and "CN-2026-000001" in hub
    assert "Partly paid" in hub and "credits INV-2026-000001" in hub
    assert "Statement of account" in hub
    assert "Margin" in hub and "never shown to the customer" in hub
    assert "Fee" in hub and "current" in hub  # the plan, from October
    assert "Tax 0 %; payment due 30 days after issue." in hub


def test_support_sees_what_is_missing_but_no_money(support, make_customer):
    customer = make_customer()
    text = page(support, customer)
    hub = text.split('id="billing-hub"', 1)[1]
    for missing in ("No price plan this month", "No billing terms", "No portal user",
                    "No active Deepgram key"):  # fmt: skip
        assert missing in hub
    # Support acts on keys and users, finance on plans and terms.
    assert reverse("admin:customers_customer_provision_key", args=[customer.pk]) in hub
    assert reverse("admin:customers_customer_invite_user", args=[customer.pk]) in hub
    assert reverse("admin:invoices_customerplan_add") not in hub
    assert "Balance" not in hub and "Margin" not in hub and "Statement" not in hub


def test_finance_gets_links_to_set_the_plan_and_terms(finance, make_customer):
    customer = make_customer()
    hub = page(finance, customer).split('id="billing-hub"', 1)[1]
    add_plan = f"{reverse('admin:invoices_customerplan_add')}?customer={customer.pk}"
    assert f"{add_plan}&amp;effective_from=2026-11-01" in hub
    assert f"{reverse('admin:invoices_billingterms_add')}?customer={customer.pk}" in hub
    assert "Nothing left to pay." in hub and "None issued yet." in hub


def test_a_draft_waiting_for_approval_is_linked(finance, october_draft):
    hub = page(finance, october_draft.customer).split('id="billing-hub"', 1)[1]
    url = reverse("admin:invoices_invoice_change", args=[october_draft.pk])
    assert f'<a href="{url}">October 2026</a>' in hub and "waiting for approval" in hub


def test_a_plan_that_starts_later_is_scheduled_not_current(finance, make_customer):
    customer = make_customer()
    plan = PricePlan.objects.create(name="Later", currency="USD", rate_per_hour=1)
    CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2027, 1, 1))
    hub = page(finance, customer).split('id="billing-hub"', 1)[1]
    assert "its first plan starts January 2027" in hub
    assert "scheduled" in hub


def test_the_hub_reads_a_bounded_number_of_queries(
    finance, worked_example, django_assert_max_num_queries
):
    invoice, _ = worked_example
    from invoices.customer_hub import customer_hub
    from invoices.models import Invoice

    # 15, and at most 8 per month of margin (one here).
    with django_assert_max_num_queries(23):
        hub = customer_hub(invoice.customer, invoice.approved_by)
    assert hub.sees_money and len(hub.documents) == 2
    assert Invoice.objects.filter(customer=invoice.customer).count() == 2
