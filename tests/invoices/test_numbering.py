"""Gap-free numbering under concurrency (PostgreSQL: real row locks)."""

import threading
from datetime import date

import pytest
from django.db import connection

from invoices.exceptions import InvalidTransition
from invoices.models import Invoice
from invoices.services import invoice_approve, invoice_generate_drafts

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def in_threads(targets):
    barrier, errors = threading.Barrier(len(targets)), []

    def run(target):
        barrier.wait()
        try:
            target()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.fixture
def drafts(plan, key_of, put_usage, default_project):
    from customers.models import Customer
    from invoices.models import BillingTerms, CustomerPlan

    for n in range(8):
        customer = Customer.objects.create(name=f"Customer {n}", billing_email=f"c{n}@x.example")
        CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2026, 1, 1))
        BillingTerms.objects.create(customer=customer)  # approval needs terms
        put_usage(key_of(customer, key_id=f"key-{n}"), date(2026, 10, 2), "1.000000")
    return invoice_generate_drafts(period=date(2026, 10, 1)).created


def test_it_numbers_concurrent_approvals_without_gaps(drafts, finance_user):
    errors = in_threads(
        [lambda d=d: invoice_approve(invoice=d, actor=finance_user) for d in drafts]
    )

    assert errors == []
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == list(range(1, len(drafts) + 1))


def test_it_issues_a_draft_once_when_two_approve_it_at_once(drafts, finance_user, support_user):
    draft = drafts[0]

    errors = in_threads(
        [
            lambda: invoice_approve(invoice=draft, actor=finance_user),
            lambda: invoice_approve(invoice=draft, actor=support_user),
        ]
    )

    assert len(errors) == 1 and isinstance(errors[0], InvalidTransition)
    assert Invoice.objects.exclude(number=None).count() == 1
    assert Invoice.objects.get(pk=draft.pk).number.endswith("000001")
