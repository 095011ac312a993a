import secrets
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing_portal.audit import user_who_did_it
from customers.models import ApiKey, Customer

from .exceptions import InvoiceLocked
from .fields import MoneyField
from .models_fx import ExchangeRate  # noqa: F401 - a model of this app
from .models_terms import BillingTerms  # noqa: F401 - a model of this app
from .money import currency_problem, places_problem

SIX_PLACES = {"max_digits": 16, "decimal_places": 6}
NOT_NEGATIVE = [MinValueValidator(0, "It cannot be negative.")]


class PricePlan(models.Model):
    """How a customer's Deepgram usage is priced, in the plan's currency.

    With tiers, monthly hours (after the included hours) are priced by graduated tiers; without,
    each method's hours at its rate (or the default rate). A monthly minimum tops the usage
    charge up; the platform fee is billed apart from usage.
    """

    class Quantity(models.TextChoices):
        TOTAL_HOURS = "total_hours", "Total hours (incl. extra channels)"
        HOURS = "hours", "Audio hours"

    class Mode(models.TextChoices):
        HOURLY = "hourly", "Hourly rate and tiers"
        COST_PLUS = "cost_plus", "Deepgram's cost plus a markup"
        RATE_CARD = "rate_card", "Rate card per line item"

    name = models.CharField(max_length=100, unique=True)
    mode = models.CharField(
        "pricing mode",
        max_length=12,
        choices=Mode,
        default=Mode.HOURLY,
        help_text="Hourly: the rates and tiers below. Cost plus: each key's line items at "
        "Deepgram's own cost, converted, plus the markup. Rate card: the card's entries.",
    )
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code")
    billed_quantity = models.CharField(
        max_length=12,
        choices=Quantity,
        default=Quantity.TOTAL_HOURS,
        help_text="Deepgram reports both; total hours count every channel, as Deepgram bills.",
    )
    rate_per_hour = models.DecimalField(
        "rate per hour", default=0, validators=NOT_NEGATIVE, **SIX_PLACES
    )
    rate_sync = models.DecimalField(
        "rate per pre-recorded (sync) hour",
        null=True,
        blank=True,
        validators=NOT_NEGATIVE,
        help_text="Empty: the rate per hour; 0: free.",
        **SIX_PLACES,
    )
    rate_async = models.DecimalField(
        "rate per pre-recorded (async) hour",
        null=True,
        blank=True,
        validators=NOT_NEGATIVE,
        help_text="Empty: the rate per hour; 0: free.",
        **SIX_PLACES,
    )
    rate_streaming = models.DecimalField(
        "rate per streaming hour",
        null=True,
        blank=True,
        validators=NOT_NEGATIVE,
        help_text="Empty: the rate per hour; 0: free.",
        **SIX_PLACES,
    )
    included_hours = models.DecimalField(
        default=0,
        validators=NOT_NEGATIVE,
        help_text="Free audio hours a month (every mode).",
        **SIX_PLACES,
    )
    included_characters = models.PositiveBigIntegerField(
        default=0,
        help_text="Rate cards and cost plus: free text-to-speech characters a month.",
    )
    included_agent_hours = models.DecimalField(
        default=0,
        validators=NOT_NEGATIVE,
        help_text="Rate cards and cost plus: free voice agent hours a month.",
        **SIX_PLACES,
    )
    included_tokens = models.PositiveBigIntegerField(
        default=0,
        help_text="Rate cards and cost plus: free audio intelligence tokens (in and out) a month.",
    )
    markup_percent = models.DecimalField(
        "markup (%)",
        max_digits=7,
        decimal_places=3,
        default=0,
        validators=[*NOT_NEGATIVE, MaxValueValidator(1000)],
        help_text="Cost plus: added to Deepgram's cost (0: exact pass-through).",
    )
    minimum_per_minute = models.DecimalField(
        "minimum per audio minute",
        null=True,
        blank=True,
        validators=NOT_NEGATIVE,
        help_text="Cost plus: a speech-to-text line is never billed less than its minutes "
        "times this (empty: no minimum).",
        **SIX_PLACES,
    )
    show_markup = models.BooleanField(
        default=True,
        help_text="Cost plus: documents show Deepgram's cost and the factor; off, the amount "
        "alone.",
    )
    monthly_minimum = MoneyField(default=0, validators=NOT_NEGATIVE)
    platform_fee = MoneyField(default=0, validators=NOT_NEGATIVE)
    platform_fee_label = models.CharField(max_length=100, default="Platform subscription")
    # A scheduled price change (`services.plan_changes`): from `replaced_from` on, this plan's
    # customers are priced by `replaced_by`, a copy finance edits before the month comes.
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    replaced_from = models.DateField(null=True, blank=True, help_text="First day of a month.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_per_hour__gte=0), name="plan_rate_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(included_hours__gte=0), name="plan_free_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    def clean_fields(self, exclude=None):
        # A code typed in lower case is meant as the code; anything else is refused.
        self.currency = (self.currency or "").strip().upper()
        super().clean_fields(exclude=exclude)

    def clean(self):
        problem = currency_problem(self.currency)
        if problem:
            raise ValidationError({"currency": problem}, code="currency")
        # The minimum and the fee are charged as typed: to the currency's minor unit.
        errors = {
            name: problem
            for name in ("monthly_minimum", "platform_fee")
            if isinstance(amount := getattr(self, name), Decimal)
            and (problem := places_problem(amount, self.currency))
        }
        if errors:
            raise ValidationError(errors, code="places")

    def rate_for(self, method: str):
        """The hourly rate of a method (sync/async/streaming) where it has one (0: free),
        else the default rate."""
        rate = getattr(self, f"rate_{method}", None)
        return self.rate_per_hour if rate is None else rate


class PriceTier(models.Model):
    """A graduated tier: hours up to `up_to_hours` (cumulative, after included hours) at
    `rate_per_hour`; the last tier has no upper bound."""

    plan = models.ForeignKey(PricePlan, on_delete=models.CASCADE, related_name="tiers")
    up_to_hours = models.DecimalField(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.000001"), "A tier ends above 0 h.")],
        help_text="Empty: no upper bound (the last tier).",
        **SIX_PLACES,
    )
    rate_per_hour = models.DecimalField(validators=NOT_NEGATIVE, **SIX_PLACES)

    class Meta:
        ordering = [models.F("up_to_hours").asc(nulls_last=True)]

    def __str__(self) -> str:
        return f"up to {self.up_to_hours or '∞'} h at {self.rate_per_hour}"


class CustomerPlan(models.Model):
    """A plan assigned to a customer from a month on; the latest one not after a period wins."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="plans")
    plan = models.ForeignKey(PricePlan, on_delete=models.PROTECT, related_name="assignments")
    effective_from = models.DateField(help_text="First day of the first month it prices.")

    class Meta:
        ordering = ["-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "effective_from"], name="one_plan_per_customer_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.plan} from {self.effective_from}"


def pdf_upload_path(invoice: "Invoice", filename: str) -> str:
    """Where an issued PDF is stored: under a random directory, so that no path can be guessed
    from a number or an id (downloads go through the portal's checks anyway)."""
    return f"invoices/{invoice.issued_on:%Y}/{secrets.token_urlsafe(18)}/{filename}"


class InvoiceQuerySet(models.QuerySet):
    def live_invoices(self) -> "InvoiceQuerySet":
        """The month's invoices (not credit notes, nor late adjustments in another currency)
        that are not void: at most one a customer and month
        (`one_live_invoice_per_customer_month`), draft or issued."""
        return self.filter(kind=Invoice.Kind.INVOICE, adjusts_only=False).exclude(
            status=Invoice.Status.VOID
        )

    def issued_invoices(self) -> "InvoiceQuerySet":
        """Live invoices past their draft: issued or paid."""
        return self.live_invoices().exclude(status=Invoice.Status.DRAFT)


class Invoice(models.Model):
    """An invoice or credit note for one customer and one calendar month of UTC days.

    Drafts are recomputed freely. Issuing freezes it: number, seller and buyer snapshots,
    dates; after that it is never edited or deleted, only voided or credited.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=12, choices=Kind, default=Kind.INVOICE)
    adjusts_only = models.BooleanField(
        "late adjustments only",
        default=False,
        db_default=False,
        help_text="Bills only late changes to months invoiced in its currency, beside the "
        "month's invoice in another (the plan's currency changed since).",
    )
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAFT, db_index=True)
    period = models.DateField(help_text="First day of the billed month (UTC).")
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    credits = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    currency = models.CharField(max_length=3)
    billed_quantity = models.CharField(max_length=12, default="total_hours")
    subtotal = MoneyField(default=0)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    tax = MoneyField(default=0)
    total = MoneyField(default=0)
    tax_note = models.CharField(max_length=200, blank=True)
    seller = models.JSONField(default=dict, blank=True)
    buyer = models.JSONField(default=dict, blank=True)
    pricing_notes = models.JSONField(default=list, blank=True)
    pricing_blockers = models.JSONField(
        default=list,
        blank=True,
        help_text="What its pricing could not do (usage no rate card entry prices, no "
        "exchange rate): approval waits until a refresh finds nothing.",
    )
    fx_rate = models.DecimalField(
        "exchange rate",
        max_digits=20,
        decimal_places=10,
        null=True,
        blank=True,
        help_text="Units of its currency per 1 USD that Deepgram's cost was converted at.",
    )
    fx_rate_day = models.DateField("exchange rate of", null=True, blank=True)
    pricing_mode = models.CharField(
        max_length=12,
        choices=PricePlan.Mode,
        default=PricePlan.Mode.HOURLY,
        help_text="The plan's mode when it was priced.",
    )
    pricing_snapshot = models.JSONField(
        default=dict,
        blank=True,
        help_text="The plan as it priced this month (its rates, tiers, rate card or cost "
        "rule, allowances, minimum and fee): a late change re-prices the month with it.",
    )
    plan_version = models.ForeignKey(
        "PlanVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    usage_fingerprint = models.CharField(max_length=64, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    issued_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = user_who_did_it(on_delete=models.PROTECT)
    void_reason = models.TextField(blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = user_who_did_it(on_delete=models.PROTECT)
    paid_on = models.DateField(null=True, blank=True)
    payment_reference = models.CharField(max_length=100, blank=True)
    paid_marked_by = user_who_did_it(on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)
    # The issued document, rendered once and stored; served as stored, never re-rendered.
    pdf = models.FileField(upload_to=pdf_upload_path, blank=True, editable=False)
    pdf_sha256 = models.CharField("PDF SHA-256", max_length=64, blank=True, editable=False)
    pdf_template_version = models.CharField(max_length=20, blank=True, editable=False)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The e-mail to the customer's billing address, with the PDF attached.
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    emailed_to = models.EmailField(blank=True, editable=False)
    email_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    email_error = models.TextField(blank=True, editable=False)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-period", "customer__name"]
        permissions = [
            ("approve_invoice", "Can approve (issue) invoices"),
            ("void_invoice", "Can void invoices"),
            ("credit_invoice", "Can issue credit notes"),
            ("mark_paid_invoice", "Can mark invoices paid"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "period"],
                condition=Q(kind="invoice", adjusts_only=False) & ~Q(status="void"),
                name="one_live_invoice_per_customer_month",
            ),
            models.UniqueConstraint(
                fields=["customer", "period", "currency"],
                condition=Q(kind="invoice", adjusts_only=True) & ~Q(status="void"),
                name="one_adjustments_invoice_per_currency_month",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False), name="issued_has_number"
            ),
        ]
        indexes = [models.Index(fields=["period", "status"])]

    def __str__(self) -> str:
        return self.number or f"Draft {self.customer} {self.period:%Y-%m}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def delete(self, *args, **kwargs):
        if not self.is_draft:
            raise InvoiceLocked(f"{self} is issued: it can be voided or credited, not deleted.")
        return super().delete(*args, **kwargs)


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        USAGE = "usage", "Usage"
        TIER = "tier", "Tier"
        FREE_HOURS = "free_hours", "Included hours"
        MINIMUM = "minimum", "Monthly minimum"
        PLATFORM_FEE = "platform_fee", "Platform fee"
        ADJUSTMENT = "adjustment", "Adjustment"
        MANUAL = "manual", "Manual"
        CREDIT = "credit", "Credit"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=Kind)
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    method = models.CharField(max_length=10, blank=True)
    description = models.CharField(max_length=300)
    corrects = models.ForeignKey(
        "Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrected_by",
        help_text="The invoice whose month this adjustment re-priced.",
    )
    quantity = models.DecimalField(**SIX_PLACES)
    unit = models.CharField(
        max_length=20,
        blank=True,
        help_text="What the quantity counts (min, k characters, ...); empty: hours.",
    )
    unit_price = models.DecimalField(**SIX_PLACES)
    amount = MoneyField()
    item = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="A per-key line's line item (its rate-card entry, or Deepgram's line item "
        "under cost plus): late usage is re-priced line item by line item.",
    )
    added_by = user_who_did_it(on_delete=models.PROTECT)

    class Meta:
        ordering = ["invoice", "position", "pk"]

    def __str__(self) -> str:
        return self.description


class BilledUsage(models.Model):
    """The quantity of one key-day-method an issued invoice billed (usage or adjustment), so
    that a later change is billed once, as the difference."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="billed_usage")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    method = models.CharField(max_length=10)
    quantity = models.DecimalField(**SIX_PLACES)
    unit_price = models.DecimalField(**SIX_PLACES)

    class Meta:
        indexes = [models.Index(fields=["api_key", "day"])]

    def __str__(self) -> str:
        return f"{self.api_key_id} {self.day} {self.method}: {self.quantity}"


from .models_cards import RateCardEntry, RateCardStep  # noqa: E402, F401 - models of this app
from .models_events import InvoiceEvent  # noqa: E402, F401 - a model of this app
from .models_exports import AccountingExport  # noqa: E402, F401 - a model of this app
from .models_numbers import InvoiceCounter  # noqa: E402, F401 - a model of this app
from .models_payments import Payment  # noqa: E402, F401 - a model of this app
from .models_settings import FinanceSettings  # noqa: E402, F401 - a model of this app
from .models_statements import StatementSent  # noqa: E402, F401 - a model of this app
from .models_versions import PlanVersion  # noqa: E402, F401 - a model of this app
