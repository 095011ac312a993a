"""Finance's accounting pages in the admin: the export (preview, overlap warning, download
recorded), the exports list, the statement of account (page, PDF, e-mail), the finance
settings; and who may see them."""

import io
from datetime import date

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from invoices.models import AccountingExport, FinanceSettings, StatementSent

EXPORT = reverse("admin:invoices_accountingexport_new")
XERO = {"layout": "xero", "start": "2026-11-01", "end": "2026-11-05"}


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


def statement_url(customer):
    return reverse("admin:invoices_statementsent_statement", args=[customer.pk])


def test_the_export_page_previews_then_downloads_and_records(finance, worked_example):
    page = finance.get(EXPORT, XERO).text
    assert "xero-20261101-20261105.csv" in page
    assert "<strong>2</strong> documents and <strong>0</strong> payments" in page
    assert "INV-2026-000001" in page and "Download and record" in page

    response = finance.post(EXPORT, XERO)
    export = AccountingExport.objects.get()
    assert response["Location"] == reverse(
        "admin:invoices_accountingexport_download", args=[export.pk]
    )
    file = finance.get(response["Location"])
    assert file["Content-Disposition"] == 'attachment; filename="xero-20261101-20261105.csv"'
    assert file.content.decode().startswith("*ContactName,EmailAddress,")

    # The second time the page says what was exported before, and by whom.
    page = finance.get(EXPORT, XERO).text
    assert "Earlier exports of this layout held 2 of these documents" in page
    assert "by finance" in page and "They are left out of this file." in page
    assert "<strong>0</strong> documents" in page
    page = finance.get(EXPORT, {**XERO, "again": "on"}).text
    assert "They are in this file again" in page

    listing = finance.get(reverse("admin:invoices_accountingexport_changelist")).text
    assert "xero-20261101-20261105.csv" in listing and "New accounting export" in listing


@pytest.mark.parametrize(
    "query, error",
    [
        ({**XERO, "end": "2026-10-01"}, "The range ends before it starts."),
        ({**XERO, "end": "2026-12-31"}, "The range cannot end after today."),
        ({**XERO, "start": "2025-11-01"}, "At most 366 days at a time."),
        ({**XERO, "layout": "sage"}, "Select a valid choice."),
    ],
)
def test_the_export_refuses_bad_ranges_clearly(finance, query, error):
    assert error in finance.get(EXPORT, query).text
    assert finance.post(EXPORT, query).status_code == 200
    assert not AccountingExport.objects.exists()


def test_support_sees_no_accounting_page(support, worked_example):
    assert support.get(EXPORT, XERO).status_code == 403
    assert support.get(statement_url(worked_example[0].customer)).status_code == 403
    settings_url = reverse("admin:invoices_financesettings_change")
    assert support.get(settings_url).status_code == 403


def test_the_statement_page_pdf_and_e_mail(finance, worked_example, finance_user):
    customer = worked_example[0].customer
    page = finance.get(statement_url(customer)).text
    assert "balance 104.40 USD" in page and "E-mail it to" in page

    pdf = finance.get(
        statement_url(customer), {"start": "2026-11-01", "end": "2026-11-05", "format": "pdf"}
    )
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Statement of account" in text and "104.40" in text

    response = finance.post(statement_url(customer), {"start": "2026-11-01", "end": "2026-11-05"})
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == [customer.billing_email]
    assert message.attachments[0][2] == "application/pdf"
    assert "Balance on 5 November 2026: 104.40 USD" in message.body
    sent = StatementSent.objects.get()
    assert (sent.sent_by, sent.start, sent.end) == (
        finance_user,
        date(2026, 11, 1),
        date(2026, 11, 5),
    )


def test_finance_edits_the_settings(finance):
    url = reverse("admin:invoices_financesettings_change")
    page = finance.get(url).text
    assert "Overdue reminders" in page and "Xero export" in page
    data = {
        "reminders_enabled": "on",
        "reminder_after_days": "3",
        "reminder_every_days": "7",
        "reminder_limit": "2",
        "xero_account_code": "4000",
        "xero_item_code": "",
        "xero_tax_type": "Tax on Sales",
        "xero_tax_type_zero": "Tax Exempt",
        "xero_tax_type_reverse_charge": "Zero Rated EC Services",
        "xero_date_format": "%d/%m/%Y",
        "quickbooks_item": "Deepgram usage",
        "quickbooks_tax_code": "",
        "quickbooks_tax_code_zero": "",
        "quickbooks_tax_code_reverse_charge": "",
        "quickbooks_date_format": "%Y-%m-%d",
    }
    assert finance.post(url, data).status_code == 302
    saved = FinanceSettings.get_solo()
    assert (saved.reminders_enabled, saved.reminder_after_days, saved.xero_account_code) == (
        True,
        3,
        "4000",
    )
    bad = finance.post(url, {**data, "reminder_every_days": "0"})
    assert bad.status_code == 200 and "Ensure this value is greater than or equal to 1" in bad.text
