"""The customer's dashboard shows this month's estimated charge so far, with its lines by key
name, and it equals the draft generated for the same days."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from customers.models import ApiKey
from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan
from invoices.services import invoice_generate_drafts
from invoices.templatetags.invoice_format import money
from usage.models import DailyUsage
from usage.services import utc_today

from .test_customer_journey import customer_context, portal_log_in  # noqa: F401


def test_the_estimate_equals_the_draft_of_the_same_days(
    request, customer_a, customer_a_user, default_project
):
    month = utc_today().replace(day=1)
    plan = PricePlan.objects.create(
        name="Standard", currency="USD", rate_per_hour=D("0.258000"), platform_fee=D("10.00")
    )
    CustomerPlan.objects.create(customer=customer_a, plan=plan, effective_from=month)
    BillingTerms.objects.create(customer=customer_a, tax_rate=D("20.00"), payment_terms_days=14)
    key = ApiKey.objects.create(
        customer=customer_a,
        project=default_project,
        key_id="acme-key-1",
        comment="Call centre",
        scopes=["usage:write"],
        created_at=datetime.now(UTC) - timedelta(days=90),
    )
    now = datetime.now(UTC)
    DailyUsage.objects.create(
        api_key=key, day=month, hours=D("12.5"), total_hours=D("12.5"), requests=4,
        first_seen_at=now, changed_at=now,
    )  # fmt: skip

    portal = request.getfixturevalue("customer_context")().new_page()
    portal_log_in(portal, customer_a_user)
    card = portal.locator(f"#estimate-{month:%Y-%m}")
    shown = card.locator(".estimate-total").inner_text()
    lines = card.locator("table.estimate-lines").inner_text()

    invoice_generate_drafts(period=month, customers=[customer_a])
    draft = Invoice.objects.get(customer=customer_a, period=month)
    assert shown == money(draft.total, "USD") == "15.88"  # 3.23 + 10.00, and 20 % tax
    assert "CALL CENTRE" in lines.upper() and "acme-key-1" not in lines  # titles in capitals
    assert "Estimated charge for" in card.inner_text() and "An estimate, not an invoice" in (
        card.inner_text()
    )
