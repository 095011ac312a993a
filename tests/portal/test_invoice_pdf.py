"""The PDF download: the stored document as an attachment named after its number; drafts
and other customers' documents are 404."""

import hashlib
import os
from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from invoices.models import Invoice
from invoices.services import credit_note_create, invoice_generate_drafts, invoice_void


def pdf_url(invoice) -> str:
    return reverse("portal:invoice_pdf", args=[invoice.public_id])


def test_it_downloads_the_issued_pdf_as_an_attachment(client, customer_a_user, acme_october):
    client.force_login(customer_a_user)

    response = client.get(pdf_url(acme_october))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{acme_october.number}.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"%PDF")


def test_it_serves_the_stored_bytes_each_time(client, customer_a_user, acme_october):
    client.force_login(customer_a_user)

    first = client.get(pdf_url(acme_october)).content
    second = client.get(pdf_url(acme_october)).content

    acme_october.refresh_from_db()
    assert acme_october.pdf_sha256 == hashlib.sha256(first).hexdigest()
    assert second == first


def test_it_downloads_a_void_invoice_and_a_credit_note(
    client, customer_a_user, finance_user, acme_october
):
    note = credit_note_create(
        invoice=acme_october, actor=finance_user, reason="Goodwill", amount=D("1.00")
    )
    void_note = invoice_void(invoice=note, actor=finance_user, reason="Issued by mistake")
    client.force_login(customer_a_user)

    response = client.get(pdf_url(void_note))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{note.number}.pdf"'
    assert response.content.startswith(b"%PDF")


def test_it_gives_404_for_a_draft_even_to_its_customer(
    client, customer_a_user, acme, key_of, put_usage
):
    put_usage(key_of(acme, "acme-key-1"), date(2026, 10, 3), "10.000000")
    invoice_generate_drafts(period=date(2026, 10, 1))
    draft = Invoice.objects.get(customer=acme)
    client.force_login(customer_a_user)

    response = client.get(pdf_url(draft))

    assert draft.status == Invoice.Status.DRAFT
    assert response.status_code == 404


def test_it_gives_404_for_another_customers_pdf(
    client, customer_b_user, acme_october, globex_october
):
    client.force_login(customer_b_user)

    assert client.get(pdf_url(acme_october)).status_code == 404
    assert client.get(pdf_url(globex_october)).status_code == 200


def test_it_stores_nothing_for_another_customers_request(client, customer_b_user, acme_october):
    client.force_login(customer_b_user)

    client.get(pdf_url(acme_october))

    acme_october.refresh_from_db()
    assert acme_october.pdf_sha256 == ""


@pytest.mark.parametrize("public_id", ["00000000-0000-0000-0000-000000000000"])
def test_it_gives_404_for_an_unknown_document(client, customer_a_user, acme_october, public_id):
    client.force_login(customer_a_user)

    response = client.get(reverse("portal:invoice_pdf", args=[public_id]))

    assert response.status_code == 404


@pytest.mark.parametrize("damage", ["tampered", "missing"])
def test_a_stored_pdf_that_cannot_be_served_gets_a_page_not_a_500(
    client, customer_a_user, acme_october, damage, caplog
):
    client.force_login(customer_a_user)
    assert client.get(pdf_url(acme_october)).status_code == 200  # stored now
    acme_october.refresh_from_db()
    path = acme_october.pdf.path
    if damage == "tampered":
        with open(path, "ab") as file:
            file.write(b"tampered")
    else:
        os.remove(path)

    response = client.get(pdf_url(acme_october))

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert f"{acme_october.number} can't be downloaded right now" in response.text
    assert "ERROR" in {record.levelname for record in caplog.records}  # the operators see it
    acme_october.refresh_from_db()
    assert acme_october.pdf.path == path  # not re-rendered
