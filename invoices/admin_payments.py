"""Payments in the admin: record a payment of an issued invoice (amount, date, reference,
method), reverse one (with a reason), the payments table on the invoice's page, and the
balance and payment state of the invoice list. Finance only (`invoices.add_payment`);
payments are never edited or deleted here or anywhere."""

from django import forms
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.cache import never_cache

from .admin_views import invoice_form_page
from .balances import Balance, balances_of
from .models import Invoice, Payment
from .money import COLUMN_UNIT, MONEY
from .services.payments import payment_record, payment_reverse

__all__ = ["balance_of", "payments_table", "record_payment", "reverse_payment", "state_badge"]

PAY = "invoices.add_payment"
BADGES = {  # state: (colour, words)
    "unpaid": ("#6b7280", "Unpaid"),
    "partly paid": ("#b45309", "Partly paid"),
    "paid": ("#15803d", "Paid"),
    "credited": ("#1d4ed8", "Credited"),
    "overdue": ("#b91c1c", "Overdue"),
}


class PaymentForm(forms.Form):
    amount = forms.DecimalField(**MONEY, min_value=COLUMN_UNIT)
    # A date input reads and shows ISO dates, whatever the language.
    received_on = forms.DateField(
        label="Received on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reference = forms.CharField(
        max_length=100, required=False, help_text="e.g. the bank's reference"
    )
    method = forms.ChoiceField(choices=Payment.Method.choices, initial=Payment.Method.BANK_TRANSFER)

    def clean_received_on(self):
        day = self.cleaned_data["received_on"]
        if day > timezone.now().date():
            raise forms.ValidationError("A payment cannot be recorded before it was received.")
        return day


class ReversalForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Why: kept with the reversal.")


def balance_of(invoice: Invoice) -> Balance | None:
    """The balance from the list's annotations (`admin_filters.with_balances`), else read."""
    if getattr(invoice, "outstanding", None) is not None:
        return Balance(invoice.total, -invoice.credited, invoice.paid_sum, invoice.due_on)
    return balances_of([invoice]).get(invoice.pk)


def state_badge(invoice: Invoice):
    """The invoice's payment state as a coloured badge, with what is left; "-" for drafts,
    void invoices and credit notes."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status in ("draft", "void"):
        return "-"
    balance = balance_of(invoice)
    colour, words = BADGES[balance.state()]
    left = f" ({balance.outstanding} left)" if 0 < balance.outstanding < balance.total else ""
    return format_html(
        '<span class="payment-state" style="color:{};font-weight:600">{}</span>{}',
        colour,
        words,
        left,
    )


def payments_table(invoice: Invoice):
    """The payments and reversals of an invoice, with a Reverse link for those that may be."""
    payments = list(invoice.payments.select_related("recorded_by", "reverses"))
    if not payments:
        return "None recorded."
    reversed_pks = {p.reverses_id for p in payments if p.reverses_id}
    rows = []
    for p in payments:
        action = ""
        if p.reverses_id is None and p.pk not in reversed_pks:
            url = reverse("admin:invoices_invoice_reverse_payment", args=[invoice.pk, p.pk])
            action = format_html('<a href="{}">Reverse</a>', url)
        what = f"reverses {p.reverses.received_on:%Y-%m-%d}: {p.note}" if p.reverses_id else ""
        rows.append(
            (
                f"{p.received_on:%Y-%m-%d}",
                f"{p.amount} {invoice.currency}",
                p.get_method_display(),
                p.reference or "-",
                what or ("reversed" if p.pk in reversed_pks else ""),
                p.recorded_by.get_username() if p.recorded_by else "system",
                action,
            )
        )
    balance = balance_of(invoice)
    return format_html(
        '<table class="payments"><thead><tr><th>Received</th><th>Amount</th><th>Method</th>'
        "<th>Reference</th><th></th><th>Recorded by</th><th></th></tr></thead><tbody>{}</tbody>"
        "</table><p>Total {}, credited {}, paid {}: <strong>{} {} left to pay</strong>.</p>",
        format_html_join("", "<tr>" + "<td>{}</td>" * 7 + "</tr>", rows),
        balance.total,
        balance.credited,
        balance.paid,
        balance.outstanding,
        invoice.currency,
    )


@never_cache
def record_payment(request, model_admin, invoice_id: int):
    """Finance: record a payment (partial or whole) of an issued invoice."""
    return invoice_form_page(
        request,
        model_admin,
        invoice_id,
        PaymentForm,
        permission=PAY,
        template="invoice/record_payment.html",
        title="Record a payment of {invoice}",
        run=lambda invoice, data: payment_record(invoice=invoice, actor=request.user, **data),
        success=lambda invoice, payment: (
            f"Recorded {payment.amount} {invoice.currency} received on {payment.received_on} "
            f"for {invoice.number}."
        ),
        initial=lambda invoice: {
            "amount": _left(invoice),
            "received_on": timezone.now().date(),
        },
        context=lambda invoice: {"left": _left(invoice)},
    )


def _left(invoice: Invoice):
    balance = balances_of([invoice]).get(invoice.pk)
    return balance.outstanding if balance else None


@never_cache
def reverse_payment(request, model_admin, invoice_id: int, payment_id: int):
    """Finance: reverse one payment, with a reason."""
    payment = get_object_or_404(Payment, pk=payment_id, invoice_id=invoice_id)
    return invoice_form_page(
        request,
        model_admin,
        invoice_id,
        ReversalForm,
        permission=PAY,
        template="invoice/reverse_payment.html",
        title="Reverse a payment of {invoice}",
        run=lambda invoice, data: payment_reverse(
            payment=payment, actor=request.user, reason=data["reason"]
        ),
        success=lambda invoice, _: f"Reversed {payment} of {invoice.number}.",
        context=lambda invoice: {"payment": payment},
    )
