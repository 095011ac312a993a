"""Invoices read usage per key, day and billed method, however finely Deepgram reported it:
a project that does not split by method is billed at one rate even when its rows name their
method."""

from datetime import date
from decimal import Decimal as D

from invoices.models import BilledUsage, InvoiceLine
from invoices.services import invoice_approve, invoice_generate_drafts
from usage.models import Method

OCTOBER = date(2026, 10, 1)


def test_a_project_not_split_is_billed_at_one_rate_whatever_methods_its_rows_name(
    acme, plan, key_of, put_usage, finance_user
):
    plan.rate_streaming = D("1.000000")
    plan.save()
    key = key_of(acme)
    assert not key.project.split_usage_by_method
    put_usage(key, date(2026, 10, 3), "2.000000", method=Method.STREAMING)
    put_usage(key, date(2026, 10, 3), "3.000000", method=Method.SYNC)

    draft = invoice_generate_drafts(period=OCTOBER).created[0]
    usage = draft.lines.get(kind=InvoiceLine.Kind.USAGE)
    assert (usage.method, usage.quantity, usage.unit_price) == (
        Method.ALL,
        D("5.000000"),
        D("0.258000"),
    )

    invoice_approve(invoice=draft, actor=finance_user)
    assert list(BilledUsage.objects.values_list("day", "method", "quantity")) == [
        (date(2026, 10, 3), Method.ALL, D("5.000000"))
    ]


def test_a_project_that_splits_is_billed_per_method(acme, plan, key_of, put_usage):
    plan.rate_streaming = D("1.000000")
    plan.save()
    key = key_of(acme)
    key.project.split_usage_by_method = True
    key.project.save()
    put_usage(key, date(2026, 10, 3), "2.000000", method=Method.STREAMING)
    put_usage(key, date(2026, 10, 3), "3.000000", method=Method.SYNC)

    draft = invoice_generate_drafts(period=OCTOBER).created[0]
    assert sorted(
        draft.lines.filter(kind=InvoiceLine.Kind.USAGE).values_list(
            "method", "quantity", "unit_price"
        )
    ) == [
        (Method.STREAMING, D("2.000000"), D("1.000000")),
        (Method.SYNC, D("3.000000"), D("0.258000")),
    ]
