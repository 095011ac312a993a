"""Three months of one customer with the clock moved: usage synced from the sandbox, drafts,
approval, a late correction by Deepgram, and the adjustment on the next invoice."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import time_machine

from billing_portal.deepgram import client_from_settings
from customers.services import api_key_import
from invoices.models import Invoice, InvoiceLine
from invoices.services import invoice_approve, invoice_generate_drafts, previous_month
from usage.services import usage_sync_key


def sync(key, today):
    key.refresh_from_db()
    return usage_sync_key(api_key=key, client=client_from_settings(), today=today)


def test_it_bills_three_months_and_a_late_correction(
    sandbox, acme, default_project, support_user, finance_user
):
    sandbox.add_key(
        "Acme (console)",
        api_key_id="acacacac-0000-4000-8000-0000000000aa",
        created=datetime(2026, 8, 1, tzinfo=UTC),
        scopes=("usage:write",),
    )
    key = api_key_import(
        project=default_project,
        key_id="acacacac-0000-4000-8000-0000000000aa",
        customer=acme,
        actor=support_user,
    )

    issued = {}
    for month_end, month in (
        (date(2026, 9, 1), date(2026, 8, 1)),
        (date(2026, 10, 1), date(2026, 9, 1)),
    ):
        with time_machine.travel(
            datetime.combine(month_end, datetime.min.time(), UTC).replace(hour=3), tick=False
        ):
            sync(key, month_end)
            assert previous_month() == month
            draft = invoice_generate_drafts(period=month).created[0]
            issued[month] = invoice_approve(invoice=draft, actor=finance_user)

    august = issued[date(2026, 8, 1)]
    billed_before = august.subtotal
    # Deepgram corrects 30 August, inside the settlement window of an early-September sync.
    sandbox.set_usage(key.key_id, date(2026, 8, 30), hours="50", total_hours="50", requests=99)
    with time_machine.travel("2026-11-01 03:00Z", tick=False):
        assert sync(key, date(2026, 11, 1)).ok
        usage_sync_key(
            api_key=key,
            client=client_from_settings(),
            today=date(2026, 11, 1),
            start=date(2026, 8, 30),
            end=date(2026, 8, 30),
        )
        october = invoice_generate_drafts(period=date(2026, 10, 1)).created[0]

    adjustment = october.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert "August 2026 (days 30)" in adjustment.description and august.number in (
        adjustment.description
    )
    assert adjustment.unit_price == D("0.258000")
    august.refresh_from_db()
    assert august.subtotal == billed_before and august.status == Invoice.Status.ISSUED
    assert october.subtotal == sum(line.amount for line in october.lines.all())

    invoice_approve(invoice=october, actor=finance_user)
    november = invoice_generate_drafts(period=date(2026, 11, 1))
    assert not any(
        i.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).exists() for i in november.created
    )
    numbers = list(
        Invoice.objects.exclude(number=None).order_by("number").values_list("number", flat=True)
    )
    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]
