"""The customer's copy of an issued document (invoices.stamps): the stored PDF, unchanged,
with a stamp of its state over page 1: VOID with the day and reason, PAID, CREDITED, PARTLY
PAID with what is left; the original itself when there is nothing to stamp."""

import hashlib
import io
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from pypdf import PdfReader

from invoices.documents import invoice_pdf_bytes, invoice_store_pdf
from invoices.services import credit_note_create, invoice_mark_paid, invoice_void
from invoices.services.payments import payment_record, payment_reverse
from invoices.stamps import stamp_of, stamped_copy


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


@pytest.fixture
def stored(fee_invoice):
    """The 178.40 invoice, its PDF stored."""
    return invoice_store_pdf(invoice=fee_invoice)


def text_of(data: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages
    )


def test_an_untouched_invoice_is_sent_as_stored(stored):
    original = invoice_pdf_bytes(stored)
    assert stamp_of(stored) is None
    assert stamped_copy(stored, original) is original


def test_the_worked_example_is_stamped_partly_paid_and_the_original_keeps_its_checksum(
    stored, finance_user
):
    payment_record(
        invoice=stored, actor=finance_user, amount=D("50"), received_on=date(2026, 11, 3)
    )
    credit_note_create(invoice=stored, actor=finance_user, reason="Goodwill", amount=D("24"))
    wrong = payment_record(
        invoice=stored, actor=finance_user, amount=D("30"), received_on=date(2026, 11, 4)
    )
    payment_reverse(payment=wrong, actor=finance_user, reason="Not theirs")
    stored.refresh_from_db()

    original = invoice_pdf_bytes(stored)
    copy = stamped_copy(stored, original)

    assert hashlib.sha256(invoice_pdf_bytes(stored)).hexdigest() == stored.pdf_sha256
    assert copy != original
    text = text_of(copy)
    assert "PARTLY PAID" in text and "Credited 24.00 USD; paid 50.00 USD." in text
    assert "104.40 USD left to pay." in text
    assert "AMOUNT DUE" in text.upper()  # the original's text is all still there
    assert len(PdfReader(io.BytesIO(copy)).pages) == len(PdfReader(io.BytesIO(original)).pages)


def test_a_paid_invoice_is_stamped_paid_with_the_day(stored, finance_user):
    invoice_mark_paid(invoice=stored, actor=finance_user, paid_on=date(2026, 11, 4))
    stored.refresh_from_db()

    assert "PAID Paid in full on 4 November 2026." in text_of(
        stamped_copy(stored, invoice_pdf_bytes(stored))
    )


def test_a_void_invoice_is_stamped_void_with_the_day_and_the_reason(stored, finance_user):
    voided = invoice_void(invoice=stored, actor=finance_user, reason="Billed to the wrong customer")

    text = text_of(stamped_copy(voided, invoice_pdf_bytes(voided)))

    assert "VOID" in text and "Voided on 5 November 2026. Nothing is due." in text
    assert "Reason: Billed to the wrong customer" in text


def test_a_credited_invoice_says_nothing_is_left(stored, finance_user):
    credit_note_create(invoice=stored, actor=finance_user, reason="Cancelled")
    stamp = stamp_of(stored)
    assert (stamp.word, stamp.lines) == (
        "CREDITED",
        ("Credited 178.40 USD.", "Nothing is left to pay."),
    )


def test_the_customer_downloads_the_stamped_copy_and_finance_both(finance, stored, finance_user):
    from django.test import Client
    from django.urls import reverse

    from tests.conftest import _portal_user

    voided = invoice_void(invoice=stored, actor=finance_user, reason="Duplicate")
    client = Client()  # the customer's browser, beside finance's
    client.force_login(_portal_user(voided.customer, "ap@void.example"))

    download = client.get(reverse("portal:invoice_pdf", args=[voided.public_id]))

    assert download.status_code == 200
    assert "VOID" in text_of(download.content)
    assert hashlib.sha256(download.content).hexdigest() != voided.pdf_sha256
    original = finance.get(reverse("admin:invoices_invoice_pdf", args=[voided.pk]))
    assert hashlib.sha256(original.content).hexdigest() == voided.pdf_sha256
    copy = finance.get(reverse("admin:invoices_invoice_customer_copy", args=[voided.pk]))
    assert "VOID" in text_of(copy.content)
    page = finance.get(reverse("admin:invoices_invoice_change", args=[voided.pk])).text
    assert "The original (stored, as issued)" in page and "copy (stamped with its state)" in page
