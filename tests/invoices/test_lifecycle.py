from datetime import date
from decimal import Decimal as D

import pytest

from invoices.exceptions import (
    FourEyesViolation,
    InvalidTransition,
    InvoiceLocked,
    InvoicesError,
    StaleDraft,
)
from invoices.models import CustomerPlan, Invoice, InvoiceEvent, InvoiceLine, PricePlan
from invoices.services import (
    credit_note_create,
    invoice_add_manual_line,
    invoice_approve,
    invoice_generate_drafts,
    invoice_mark_paid,
    invoice_void,
)

from .conftest import OCTOBER


def test_it_drafts_a_month_from_stored_usage(october_draft):
    lines = [
        (line.kind, line.quantity, line.unit_price, line.amount)
        for line in october_draft.lines.all()
    ]

    assert lines == [
        ("usage", D("12.500000"), D("0.258000"), D("3.23")),
        ("platform_fee", D("1.000000"), D("10.000000"), D("10.00")),
    ]
    assert (october_draft.subtotal, october_draft.tax, october_draft.total) == (
        D("13.23"),
        D("2.65"),
        D("15.88"),
    )
    assert october_draft.number is None and october_draft.status == Invoice.Status.DRAFT


def test_it_refreshes_drafts_idempotently(october_draft):
    report = invoice_generate_drafts(period=OCTOBER)

    assert report.unchanged == [october_draft] and not report.created and not report.refreshed
    assert Invoice.objects.count() == 1


def test_it_refreshes_a_draft_when_usage_changes(october_draft, key_of, put_usage, acme):
    put_usage(october_draft.lines.first().api_key, date(2026, 10, 3), "20.000000")

    report = invoice_generate_drafts(period=OCTOBER)

    october_draft.refresh_from_db()
    assert report.refreshed == [october_draft]
    assert october_draft.subtotal == D("15.81")


def test_it_skips_customers_with_nothing_to_bill(customer_b, plan):
    from invoices.models import CustomerPlan

    plan.platform_fee = D("0")
    plan.save()
    CustomerPlan.objects.create(customer=customer_b, plan=plan, effective_from=OCTOBER)

    report = invoice_generate_drafts(period=OCTOBER)

    assert report.skipped_empty == 1 and not Invoice.objects.exists()


def test_it_issues_with_the_next_number_and_snapshots(october_draft, finance_user, settings):
    settings.BILLING_COMPANY_NAME = "Voice Apps Ltd"

    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    assert issued.number.startswith(f"INV-{issued.issued_on.year}-") and issued.number.endswith(
        "000001"
    )
    assert issued.status == Invoice.Status.ISSUED
    assert issued.seller["name"] == "Voice Apps Ltd"
    assert issued.buyer["name"] == "Acme Voice Ltd"
    assert (issued.due_on - issued.issued_on).days == 14
    assert issued.billed_usage.count() == 2
    assert InvoiceEvent.objects.filter(
        invoice=issued, action="approved", actor=finance_user
    ).exists()


def test_it_refuses_a_stale_draft(october_draft, put_usage, finance_user):
    put_usage(october_draft.lines.first().api_key, date(2026, 10, 30), "1.000000")

    with pytest.raises(StaleDraft):
        invoice_approve(invoice=october_draft, actor=finance_user)

    october_draft.refresh_from_db()
    assert october_draft.status == Invoice.Status.DRAFT and october_draft.number is None


def test_it_keeps_four_eyes_on_manual_lines(october_draft, finance_user, support_user):
    invoice_add_manual_line(
        invoice=october_draft,
        actor=finance_user,
        description="Onboarding",
        quantity=D("1"),
        unit_price=D("50"),
    )

    with pytest.raises(FourEyesViolation):
        invoice_approve(invoice=october_draft, actor=finance_user)

    issued = invoice_approve(invoice=october_draft, actor=support_user)
    assert issued.subtotal == D("63.23")
    assert issued.lines.filter(kind=InvoiceLine.Kind.MANUAL).count() == 1


def test_it_never_changes_or_deletes_an_issued_invoice(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    with pytest.raises(InvoiceLocked):
        issued.delete()
    with pytest.raises(InvoiceLocked):
        invoice_add_manual_line(
            invoice=issued, actor=finance_user, description="x", quantity=D("1"), unit_price=D("1")
        )
    with pytest.raises(InvalidTransition):
        invoice_approve(invoice=issued, actor=finance_user)
    assert invoice_generate_drafts(period=OCTOBER).skipped_issued == 1


def test_it_voids_and_lets_the_month_be_billed_again(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    with pytest.raises(InvoicesError):
        invoice_void(invoice=issued, actor=finance_user, reason=" ")
    voided = invoice_void(invoice=issued, actor=finance_user, reason="Wrong plan")
    report = invoice_generate_drafts(period=OCTOBER)

    assert voided.status == Invoice.Status.VOID and voided.number == issued.number
    assert len(report.created) == 1
    again = invoice_approve(invoice=report.created[0], actor=finance_user)
    assert again.number.endswith("000002")


def test_it_credits_in_full_or_in_part_in_its_own_series(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    part = credit_note_create(
        invoice=issued, actor=finance_user, reason="Goodwill", amount=D("5.00")
    )
    rest = credit_note_create(invoice=issued, actor=finance_user, reason="Closed")

    assert part.number.startswith("CN-") and part.number.endswith("000001")
    assert rest.number.endswith("000002")
    assert (part.subtotal, part.tax, part.total) == (D("-5.00"), D("-1.00"), D("-6.00"))
    assert rest.subtotal == D("-8.23")
    assert part.credits == issued and part.lines.get().amount == D("-5.00")
    with pytest.raises(InvoicesError, match=r"at most 0\.00"):
        credit_note_create(invoice=issued, actor=finance_user, reason="Again")


@pytest.mark.parametrize("parts", [["4.41", "4.41", "4.41"], ["6.61", "6.61", "0.01"]])
def test_credit_notes_in_parts_add_up_to_the_invoice_to_the_cent(
    october_draft, finance_user, parts
):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)  # 13.23 + 2.65 tax
    notes = [
        credit_note_create(invoice=issued, actor=finance_user, reason="Part", amount=D(part))
        for part in parts
    ]

    # Rounded on its own, each part's tax would add up to 2.64 or 2.66: the last part takes
    # what is left.
    assert sum(note.subtotal for note in notes) == -issued.subtotal
    assert sum(note.tax for note in notes) == -issued.tax
    assert sum(note.total for note in notes) == -issued.total
    assert all(note.total == note.subtotal + note.tax for note in notes)


def test_it_marks_an_issued_invoice_paid(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    paid = invoice_mark_paid(
        invoice=issued, actor=finance_user, paid_on=date(2026, 11, 20), reference="BACS 123"
    )

    assert (paid.status, paid.paid_on, paid.payment_reference) == (
        Invoice.Status.PAID,
        date(2026, 11, 20),
        "BACS 123",
    )
    with pytest.raises(InvalidTransition):
        invoice_mark_paid(invoice=paid, actor=finance_user, paid_on=date(2026, 11, 21))


def test_it_bills_a_late_change_once_on_the_next_invoice(october_draft, put_usage, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)
    key = october_draft.lines.first().api_key
    put_usage(key, date(2026, 10, 17), "3.500000")  # Deepgram corrected a billed day
    put_usage(key, date(2026, 11, 2), "1.000000")

    november = invoice_generate_drafts(period=date(2026, 11, 1)).created[0]

    adjustment = november.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert (adjustment.quantity, adjustment.unit_price, adjustment.amount) == (
        D("1.000000"),
        D("0.258000"),
        D("0.26"),
    )
    assert "October 2026 (days 17)" in adjustment.description
    assert issued.number in adjustment.description
    issued.refresh_from_db()
    assert issued.subtotal == D("13.23")  # the issued invoice never changes

    invoice_approve(invoice=november, actor=finance_user)
    december = invoice_generate_drafts(period=date(2026, 12, 1))
    assert (
        not InvoiceLine.objects.filter(kind=InvoiceLine.Kind.ADJUSTMENT)
        .exclude(invoice=november)
        .exists()
    )
    assert all(i.lines.filter(kind="adjustment").count() == 0 for i in december.created)


def test_usage_reported_after_approval_for_a_day_without_any_is_billed_next_month(
    october_draft, put_usage, key_of, acme, finance_user
):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)
    key = october_draft.lines.first().api_key
    # Deepgram settles the month's last days late: rows appear for days that had none.
    put_usage(key, date(2026, 10, 31), "2.000000")
    put_usage(key_of(acme, key_id="acme-key-2"), date(2026, 10, 30), "1.000000")  # a new key
    put_usage(key, date(2026, 11, 2), "1.000000")

    november = invoice_generate_drafts(period=date(2026, 11, 1)).created[0]

    adjustments = {
        line.api_key.key_id: (line.quantity, line.unit_price, line.amount, line.description)
        for line in november.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT)
    }
    # At the price October billed that key at; a key October did not bill, at the plan's rate.
    assert adjustments["acme-key-1"][:3] == (D("2.000000"), D("0.258000"), D("0.52"))
    assert adjustments["acme-key-2"][:3] == (D("1.000000"), D("0.258000"), D("0.26"))
    assert "October 2026 (days 31)" in adjustments["acme-key-1"][3]
    assert issued.number in adjustments["acme-key-1"][3]

    # Billed once: December has nothing more to adjust.
    invoice_approve(invoice=november, actor=finance_user)
    december = invoice_generate_drafts(period=date(2026, 12, 1)).created
    assert all(not i.lines.filter(kind="adjustment").exists() for i in december)


def test_late_usage_takes_its_months_price_not_an_older_months_adjustment_price(
    acme, key_of, put_usage, finance_user
):
    key_x, key_y = key_of(acme), key_of(acme, key_id="acme-key-2")
    put_usage(key_x, date(2026, 10, 3), "10.000000")
    invoice_approve(invoice=invoice_generate_drafts(period=OCTOBER).created[0], actor=finance_user)
    dearer = PricePlan.objects.create(
        name="Dearer", currency="USD", rate_per_hour=D("0.300000"), platform_fee=D("10.00")
    )
    CustomerPlan.objects.create(customer=acme, plan=dearer, effective_from=date(2026, 11, 1))
    put_usage(key_x, date(2026, 10, 3), "11.000000")  # October's change, billed in November
    put_usage(key_y, date(2026, 11, 2), "1.000000")  # key X has no November usage
    november = invoice_approve(
        invoice=invoice_generate_drafts(period=date(2026, 11, 1)).created[0], actor=finance_user
    )
    put_usage(key_x, date(2026, 11, 30), "2.000000")  # late, for a key November did not bill

    december = invoice_generate_drafts(period=date(2026, 12, 1)).created[0]

    adjustment = december.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert november.number in adjustment.description
    # November's price for the method (0.30), not the 0.258 of October's adjustment that
    # November's invoice also recorded for key X.
    assert (adjustment.quantity, adjustment.unit_price) == (D("2.000000"), D("0.300000"))


def test_late_usage_of_a_month_invoiced_without_usage_is_billed_next_month(
    acme, key_of, put_usage, finance_user
):
    october = invoice_approve(
        invoice=invoice_generate_drafts(period=OCTOBER).created[0], actor=finance_user
    )  # the platform fee only: no usage, nothing recorded as billed
    put_usage(key_of(acme), date(2026, 10, 31), "4.000000")

    november = invoice_generate_drafts(period=date(2026, 11, 1)).created[0]

    adjustment = november.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert (adjustment.quantity, adjustment.unit_price, adjustment.amount) == (
        D("4.000000"),
        D("0.258000"),  # the plan's rate: October billed no hours to take a price from
        D("1.03"),
    )
    assert october.number in adjustment.description


def test_late_usage_of_a_month_never_invoiced_waits_for_its_own_invoice(
    acme, key_of, put_usage, finance_user
):
    key = key_of(acme)
    put_usage(key, date(2026, 9, 12), "5.000000")  # September was never invoiced
    put_usage(key, date(2026, 10, 3), "1.000000")

    october = invoice_generate_drafts(period=OCTOBER).created[0]

    assert not october.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).exists()


def test_it_refuses_to_void_an_invoice_with_live_credit_notes(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)
    note = credit_note_create(
        invoice=issued, actor=finance_user, reason="Goodwill", amount=D("1.00")
    )

    with pytest.raises(InvalidTransition, match="void them first"):
        invoice_void(invoice=issued, actor=finance_user, reason="Wrong")

    invoice_void(invoice=note, actor=finance_user, reason="Issued by mistake")
    again = credit_note_create(invoice=issued, actor=finance_user, reason="In full")
    assert again.subtotal == D("-13.23")  # the voided note no longer counts


def test_it_refuses_a_payment_in_the_future_and_a_credit_without_reason(
    october_draft, finance_user
):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    with pytest.raises(InvoicesError, match="future"):
        invoice_mark_paid(invoice=issued, actor=finance_user, paid_on=date(2999, 1, 1))
    with pytest.raises(InvoicesError, match="reason"):
        credit_note_create(invoice=issued, actor=finance_user, reason="  ")


def test_it_refuses_a_draft_refreshed_after_it_was_reviewed(october_draft, finance_user):
    with pytest.raises(StaleDraft, match="after it was reviewed"):
        invoice_approve(invoice=october_draft, actor=finance_user, expected_fingerprint="x")

    issued = invoice_approve(
        invoice=october_draft,
        actor=finance_user,
        expected_fingerprint=october_draft.usage_fingerprint,
    )
    assert issued.status == Invoice.Status.ISSUED
