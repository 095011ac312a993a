"""Reliability matrix, CSV injection: every leading character a spreadsheet reads as a formula
(OWASP's list made complete) goes through both real exports, the admin's invoice export as
Finance and the portal's usage CSV as the customer; read back with the csv module, every text
cell a person typed starts with `'`, and every number is still the number stored (a credit
note's negative amounts included)."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan
from invoices.services import credit_note_create, invoice_approve, invoice_generate_drafts
from usage.models import DailyUsage

SIGNS = {
    "equals": "=",
    "plus": "+",
    "minus": "-",
    "at": "@",
    "pipe": "|",
    "full-width equals": "\uff1d",
    "full-width plus": "\uff0b",
    "full-width minus": "\uff0d",
    "full-width at": "\uff20",
    "full-width pipe": "\uff5c",
    "small equals": "\ufe66",
    "minus sign": "\u2212",
}
BLANKS = {
    "tab": "\t",
    "carriage return": "\r",
    "line feed": "\n",
    "escape": "\x1b",  # a control character (NUL too, but PostgreSQL stores no NUL)
    "space": " ",
    "no-break space": "\u00a0",
    "ideographic space": "\u3000",
    "zero-width space": "\u200b",
}
# A sign starts a formula by itself; a blank hides one that follows it.
PAYLOADS = {
    **{name: f"{sign}cmd|' /C calc'!A0" for name, sign in SIGNS.items()},
    **{name: f'{blank}=HYPERLINK("http://x")' for name, blank in BLANKS.items()},
}


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


@pytest.fixture
def typed(customer_a, key_of, finance_user):
    """Acme (customer A) with `payload` as its legal name, key id and key comment, and October
    usage, invoiced and credited 5.00 (so the export has negative amounts)."""

    def make(payload: str):
        plan = PricePlan.objects.create(
            name="Standard", currency="USD", rate_per_hour=D("0.258000"), platform_fee=D("10")
        )
        customer = customer_a
        customer.legal_name = payload
        customer.save()
        CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2026, 1, 1))
        BillingTerms.objects.create(customer=customer, tax_rate=D("20.00"))
        now = datetime(2026, 10, 4, tzinfo=UTC)
        DailyUsage.objects.create(
            api_key=key_of(customer, payload[:64], comment=payload), day=date(2026, 10, 3),
            method="all", hours=D("1.250000"), total_hours=D("2.500000"), requests=7,
            first_seen_at=now, changed_at=now,
        )  # fmt: skip
        invoice_generate_drafts(period=date(2026, 10, 1))
        invoice = invoice_approve(invoice=Invoice.objects.get(), actor=finance_user)
        credit_note_create(invoice=invoice, actor=finance_user, reason="Goodwill", amount=D("5"))
        return customer

    return make


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))


@pytest.mark.parametrize("case", PAYLOADS)
def test_the_invoice_export_neutralises_text_and_keeps_numbers(client, finance_user, typed, case):
    payload = PAYLOADS[case]
    typed(payload)
    client.force_login(finance_user)

    rows = read_csv(client.get(reverse("admin:invoices_invoice_export"), {"period": "2026-10"}))

    assert [row["customer"] for row in rows] == [f"'{payload}"] * 2
    stored = {doc.number: doc for doc in Invoice.objects.exclude(status=Invoice.Status.DRAFT)}
    for row in rows:
        doc = stored[row["number"]]
        assert [D(row[c]) for c in ("subtotal", "tax", "total")] == [
            doc.subtotal,
            doc.tax,
            doc.total,
        ]
    [credit] = [row for row in rows if row["kind"] == "credit_note"]
    assert (credit["subtotal"], credit["tax"], credit["total"]) == ("-5.00", "-1.00", "-6.00")


@pytest.mark.parametrize("case", PAYLOADS)
def test_the_usage_csv_neutralises_text_and_keeps_numbers(client, customer_a_user, typed, case):
    payload = PAYLOADS[case]
    typed(payload)
    client.force_login(customer_a_user)

    [row] = read_csv(client.get(reverse("portal:usage_csv", args=["2026-10"])))

    assert row["key_id"] == f"'{payload[:64]}"
    assert row["key_comment"] == f"'{payload}"
    assert (row["hours"], row["total_hours"], row["requests"]) == ("1.250000", "2.500000", "7")
    assert row["day"] == "2026-10-03" and row["method"] == "all"
