"""The portal's cast and data: Acme (customer A) and Globex (customer B) with plans, keys and
usage, invoices made through the real services; time stands still in November 2026."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import time_machine

from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan
from invoices.services import invoice_approve, invoice_generate_drafts
from usage.models import DailyUsage

OCTOBER = date(2026, 10, 1)
NOVEMBER = date(2026, 11, 1)
NOW = "2026-11-20 09:00Z"


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def plan(db):
    return PricePlan.objects.create(
        name="Standard", currency="USD", rate_per_hour=D("0.258000"), platform_fee=D("10.00")
    )


def _on_plan(customer, plan):
    CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2026, 1, 1))
    BillingTerms.objects.create(customer=customer, tax_rate=D("20.00"), payment_terms_days=14)
    return customer


@pytest.fixture
def acme(customer_a, plan):
    return _on_plan(customer_a, plan)


@pytest.fixture
def globex(customer_b, plan):
    return _on_plan(customer_b, plan)


@pytest.fixture
def put_usage():
    """Store a day's usage as the sync would (what Deepgram reported)."""

    def put(key, day, total_hours, method="all", hours=None, requests=10):
        now = datetime.now(UTC)
        return DailyUsage.objects.create(
            api_key=key,
            day=day,
            method=method,
            hours=D(hours or total_hours),
            total_hours=D(total_hours),
            requests=requests,
            first_seen_at=now,
            changed_at=now,
        )

    return put


@pytest.fixture
def issue(finance_user):
    """Generate a customer's draft for a month from its stored usage and approve it."""

    def issue(customer, period) -> Invoice:
        invoice_generate_drafts(period=period, customers=[customer])
        draft = Invoice.objects.get(customer=customer, period=period, status=Invoice.Status.DRAFT)
        return invoice_approve(invoice=draft, actor=finance_user)

    return issue


@pytest.fixture
def acme_october(acme, key_of, put_usage, issue):
    """Acme's October, issued: 10 total hours on one key (INV-...-000001, 15.10 + tax)."""
    put_usage(key_of(acme, "acme-key-1"), date(2026, 10, 3), "10.000000")
    return issue(acme, OCTOBER)


@pytest.fixture
def globex_october(globex, key_of, put_usage, issue):
    put_usage(key_of(globex, "globex-key-1"), date(2026, 10, 4), "5.000000")
    return issue(globex, OCTOBER)
