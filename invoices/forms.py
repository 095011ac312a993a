"""Admin forms for finance: periods, void, credit notes, payments, manual lines, plans."""

import re
from datetime import date
from decimal import Decimal

from django import forms
from django.utils import timezone

from usage.units import quantize_hours

from . import pricing
from .ladders import Ladder, Step, ladder_problems
from .models import BillingTerms, CustomerPlan, PricePlan, PriceTier
from .money import MAX_AMOUNT, MONEY, fits_money_column

PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(text: str) -> date | None:
    """`YYYY-MM` as the first day of that month, or None when it is not one."""
    match = PERIOD.match(text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        return None
    return date(int(match[1]), int(match[2]), 1)


class PeriodForm(forms.Form):
    period = forms.CharField(
        label="Billing month",
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM", "size": 8}),
        help_text="A calendar month of UTC days, e.g. 2026-10.",
    )

    def clean_period(self) -> date:
        period = parse_period(self.cleaned_data["period"])
        if period is None:
            raise forms.ValidationError("Give the month as YYYY-MM, e.g. 2026-10.")
        if period > timezone.now().date().replace(day=1):
            raise forms.ValidationError("That month has not started yet.")
        return period


class VoidForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept on the invoice and in its audit trail.",
    )


class CreditNoteForm(forms.Form):
    FULL, PARTIAL = "full", "partial"
    scope = forms.ChoiceField(
        label="Credit",
        choices=[(FULL, "Everything not yet credited"), (PARTIAL, "A net amount")],
        initial=FULL,
        widget=forms.RadioSelect,
    )
    amount = forms.DecimalField(
        required=False,
        **MONEY,
        label="Net amount",
        help_text="Before tax; tax is added at the invoice's rate.",
    )
    reason = forms.CharField(
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Printed on the credit note.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") != self.PARTIAL:
            cleaned["amount"] = None
        elif cleaned.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", "Give the net amount to credit.")
        elif cleaned.get("amount") is not None and cleaned["amount"] <= 0:
            self.add_error("amount", "The amount must be more than 0.")
        return cleaned


class MarkPaidForm(forms.Form):
    # A date input reads and shows ISO dates, whatever the language.
    paid_on = forms.DateField(
        label="Paid on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reference = forms.CharField(
        max_length=100, required=False, help_text="E.g. the bank transfer's reference."
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("paid_on", timezone.now().date())
        super().__init__(*args, **kwargs)

    def clean_paid_on(self) -> date:
        day = self.cleaned_data["paid_on"]
        if day > timezone.now().date():
            raise forms.ValidationError("A payment cannot be recorded before it was made.")
        return day


class ManualLineForm(forms.Form):
    description = forms.CharField(max_length=300)
    quantity = forms.DecimalField(
        max_digits=16, decimal_places=6, initial=Decimal(1), min_value=Decimal("0.000001")
    )
    unit_price = forms.DecimalField(
        max_digits=16,
        decimal_places=6,
        help_text="In the invoice's currency; negative for a discount.",
    )

    def clean(self):
        cleaned = super().clean()
        quantity, price = cleaned.get("quantity"), cleaned.get("unit_price")
        # Each column holds its own bound, but their product must fit the amount's column.
        if quantity is not None and price is not None:
            amount = quantize_hours(quantity) * price
            if not fits_money_column(amount):
                raise forms.ValidationError(
                    f"Quantity times unit price comes to {amount:,.2f}: a line's amount is "
                    f"at most {MAX_AMOUNT:,f} either way."
                )
        return cleaned


class CustomerPlanForm(forms.ModelForm):
    class Meta:
        model = CustomerPlan
        fields = ["customer", "plan", "effective_from"]

    def clean_effective_from(self) -> date:
        # Plans price whole months: one starting mid-month would only take effect the month
        # after, which is not what anyone typing the 15th means.
        day = self.cleaned_data["effective_from"]
        if day.day != 1:
            raise forms.ValidationError("A plan starts on the first day of a month.")
        return day


class PricePlanForm(forms.ModelForm):
    class Meta:
        model = PricePlan
        fields = [
            "name",
            "mode",
            "currency",
            "billed_quantity",
            "rate_per_hour",
            "rate_sync",
            "rate_async",
            "rate_streaming",
            "included_hours",
            "included_characters",
            "included_agent_hours",
            "included_tokens",
            "markup_percent",
            "minimum_per_minute",
            "show_markup",
            "monthly_minimum",
            "platform_fee",
            "platform_fee_label",
        ]

    def clean_currency(self) -> str:
        # Upper-cased before the model's validation sees it: "usd" is meant as USD.
        return self.cleaned_data["currency"].strip().upper()


class PriceTierFormSet(forms.BaseInlineFormSet):
    """The plan's tiers as a whole: strictly increasing from zero, only the last one open,
    no negative rate (`pricing.tier_problems`, the rule generation and approval check too)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        # In the order they price: by upper bound, the open one last.
        kept.sort(key=lambda d: (d["up_to_hours"] is None, d["up_to_hours"] or 0))
        tiers = [pricing.Tier(d["up_to_hours"], d["rate_per_hour"]) for d in kept]
        problems = pricing.tier_problems(tiers)
        if problems:
            raise forms.ValidationError(problems)


class PriceTierForm(forms.ModelForm):
    class Meta:
        model = PriceTier
        fields = ["up_to_hours", "rate_per_hour"]


class BillingTermsForm(forms.ModelForm):
    class Meta:
        model = BillingTerms
        fields = [
            "customer",
            "tax_rate",
            "reverse_charge",
            "reverse_charge_note",
            "payment_terms_days",
        ]

    def clean_tax_rate(self) -> Decimal:
        rate = self.cleaned_data["tax_rate"]
        if not 0 <= rate <= 100:
            raise forms.ValidationError("A percentage from 0 to 100.")
        return rate


class RateCardStepFormSet(forms.BaseInlineFormSet):
    """An entry's tiers as a whole (`ladders.ladder_problems`, the rule generation and
    approval check too): strictly rising, only the last one open, nothing negative."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        entry = self.instance
        if entry.ladder not in ("graduated", "volume"):
            if kept:
                raise forms.ValidationError(
                    f"A {entry.get_ladder_display()} entry has no tiers: remove them, or "
                    "choose graduated or volume tiers."
                )
            return
        kept.sort(key=lambda d: (d["up_to"] is None, d["up_to"] or 0))
        steps = tuple(Step(d["up_to"], d["unit_price"], d.get("flat") or 0) for d in kept)
        problems = ladder_problems(Ladder(entry.ladder, steps=steps), "The entry")
        if problems:
            raise forms.ValidationError(problems)
