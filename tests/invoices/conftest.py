from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from customers.models import Customer
from invoices.models import BillingTerms, CustomerPlan, PricePlan
from usage.models import DailyUsage

OCTOBER = date(2026, 10, 1)


@pytest.fixture
def plan(db):
    return PricePlan.objects.create(
        name="Standard", currency="USD", rate_per_hour=D("0.258000"), platform_fee=D("10.00")
    )


@pytest.fixture
def acme(customer_a, plan):
    CustomerPlan.objects.create(customer=customer_a, plan=plan, effective_from=date(2026, 1, 1))
    BillingTerms.objects.create(customer=customer_a, tax_rate=D("20.00"), payment_terms_days=14)
    return customer_a


@pytest.fixture
def put_usage():
    """Store a day's usage as the sync would (what Deepgram reported)."""

    def put(key, day, total_hours, method="all", hours=None):
        now = datetime.now(UTC)
        row, _ = DailyUsage.objects.update_or_create(
            api_key=key,
            day=day,
            method=method,
            defaults={
                "hours": D(hours or total_hours),
                "total_hours": D(total_hours),
                "requests": 10,
                "first_seen_at": now,
                "changed_at": now,
            },
        )
        return row

    return put


def no_tax_terms(customer) -> BillingTerms:
    """Billing terms that bill as a customer without terms once did (0 % tax, 30 days): what
    tests that approve need, since approval refuses a customer without terms."""
    return BillingTerms.objects.create(customer=customer, tax_rate=D("0"), payment_terms_days=30)


@pytest.fixture
def billed_customer(make_customer, plan, key_of, put_usage):
    """A customer on `plan` (or on `on`), without billing terms unless `terms` (then
    `no_tax_terms`), with one key that used `hours` on 3 October."""

    def make(hours="1.000000", *, on=None, status=Customer.Status.ACTIVE, terms=False):
        customer = make_customer(status=status)
        CustomerPlan.objects.create(
            customer=customer, plan=on or plan, effective_from=date(2026, 1, 1)
        )
        put_usage(key_of(customer), date(2026, 10, 3), hours)
        if terms:
            no_tax_terms(customer)
        return customer

    return make


@pytest.fixture
def october_draft(acme, key_of, put_usage):
    """Acme's October: 12.5 hours on one key (3.23 at 0.258), the 10.00 fee and 20 % tax."""
    from invoices.services import invoice_generate_drafts

    key = key_of(acme)
    put_usage(key, date(2026, 10, 3), "10.000000")
    put_usage(key, date(2026, 10, 17), "2.500000")
    return invoice_generate_drafts(period=OCTOBER).created[0]


@pytest.fixture
def issued(october_draft, finance_user):
    """Approved, with its delivery tasks not run (as if no worker had picked them up yet)."""
    from invoices.services import invoice_approve

    return invoice_approve(invoice=october_draft, actor=finance_user)


@pytest.fixture
def fee_invoice(make_customer, finance_user):
    """INV-2026-000001 of 178.40 USD (a platform fee, no tax), due on 5 December 2026."""
    from invoices.services import invoice_approve, invoice_generate_drafts

    plan = PricePlan.objects.create(
        name="Fee", currency="USD", rate_per_hour=D(0), platform_fee=D("178.40")
    )
    customer = make_customer()
    CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=OCTOBER)
    no_tax_terms(customer)
    [draft] = invoice_generate_drafts(period=OCTOBER, customers=[customer]).created
    return invoice_approve(invoice=draft, actor=finance_user)


# The worked example, for the exports, the statement and the customer page: an
# invoice of 178.40 USD (INV-2026-000001, due 5 December 2026), a payment of 50 on 3 November,
# a credit note of 24 and a payment of 30 recorded on 4 November and reversed the day the
# test runs (5 November in its tests): 104.40 left.


@pytest.fixture
def worked_example(fee_invoice, finance_user):
    from invoices.services import credit_note_create
    from invoices.services.payments import payment_record, payment_reverse

    invoice = fee_invoice
    payment_record(
        invoice=invoice,
        actor=finance_user,
        amount=D("50"),
        received_on=date(2026, 11, 3),
        reference="BACS 77",
    )
    credit = credit_note_create(
        invoice=invoice, actor=finance_user, reason="Goodwill", amount=D("24")
    )
    wrong = payment_record(
        invoice=invoice,
        actor=finance_user,
        amount=D("30"),
        received_on=date(2026, 11, 4),
        reference="TX-WRONG",
    )
    payment_reverse(payment=wrong, actor=finance_user, reason="Another customer's")
    invoice.refresh_from_db()
    return invoice, credit
