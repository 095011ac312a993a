import uuid

import iso4217
import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing_portal.audit import AuditEvent, user_who_did_it


def country_problem(code: str) -> str | None:
    """Why `code` is not a country (ISO 3166-1 alpha-2, in capitals; empty: none given), or
    None."""
    if code and (code != code.upper() or pycountry.countries.get(alpha_2=code) is None):
        return f"{code!r} is not an ISO 3166-1 country code (e.g. GB, US, DE)."
    return None


def validate_country(code: str) -> None:
    problem = country_problem(code)
    if problem:
        raise ValidationError(problem, code="country")


def currency_fault(code: str) -> str | None:
    """Why `code` is not an ISO 4217 currency code in capitals, or None. (The invoices'
    plans, which bill in a currency, check its minor unit too.)"""
    if not _is_currency(code):
        return f"{code!r} is not an ISO 4217 currency code (e.g. USD, EUR, JPY)."
    return None


def validate_currency(code: str) -> None:
    problem = currency_fault(code)
    if problem:
        raise ValidationError(problem, code="currency")


def _is_currency(code: str) -> bool:
    try:
        return iso4217.Currency(code).code == code
    except ValueError:
        return False


class DeepgramProject(models.Model):
    """A Deepgram project in which customers' keys live. One of them is the default."""

    project_id = models.CharField("Deepgram project id", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    is_default = models.BooleanField("default", default=False)
    split_usage_by_method = models.BooleanField(
        default=False,
        help_text="Price usage per method (sync, async, streaming), at the plan's method rates. "
        "Usage is stored by method and model either way.",
    )
    # What the sync learned of the project's breakdowns (a probe, remembered; see
    # usage.services.breakdowns): whether usage groupings combine in one call, and how the
    # model dimension is spelled; whether the management key may read billing.
    groupings_combine = models.BooleanField(
        null=True, blank=True, help_text="Unknown until the sync has probed a day with usage."
    )
    model_grouping = models.CharField(
        max_length=10,
        blank=True,
        default="",
        db_default="",
        help_text="`models` (the spec's spelling) or `model`; empty until seen.",
    )
    groupings_probed_at = models.DateTimeField(null=True, blank=True)
    billing_readable = models.BooleanField(
        null=True,
        blank=True,
        help_text="False when the management key lacks billing:read: usage syncs, cost does not.",
    )
    billing_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_project"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A customer of the app, billed for the Deepgram usage of its own keys."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    billing_email = models.EmailField()
    address = models.TextField("postal address", blank=True)
    country = models.CharField(
        max_length=2, blank=True, validators=[validate_country], help_text="ISO 3166-1 alpha-2 code"
    )
    tax_id = models.CharField("tax id", max_length=64, blank=True)
    currency = models.CharField(
        max_length=3, default="USD", validators=[validate_currency], help_text="ISO 4217 code"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("change_customer_billing", "Can change a customer's billing details"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean_fields(self, exclude=None):
        # Codes typed in lower case are meant as the codes: upper-cased before validation.
        self.country = (self.country or "").strip().upper()
        self.currency = (self.currency or "").strip().upper()
        super().clean_fields(exclude=exclude)


class ApiKey(models.Model):
    """A customer's Deepgram key. `key_id` is Deepgram's id, which is the usage *accessor*.

    The secret is never stored: Deepgram shows it once, at creation, and so do we.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"
        MISSING_UPSTREAM = "missing_upstream", "Missing on Deepgram"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="api_keys")
    project = models.ForeignKey(DeepgramProject, on_delete=models.PROTECT, related_name="api_keys")
    key_id = models.CharField("Deepgram key id (accessor)", max_length=64, unique=True)
    comment = models.CharField(max_length=200)
    scopes = models.JSONField(default=list)
    tags = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE, db_index=True)
    imported = models.BooleanField(
        default=False, help_text="Made outside the portal and assigned to the customer later."
    )
    replaces = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text="The key this one was rotated from.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = user_who_did_it()
    revoke_at = models.DateTimeField("scheduled revocation", null=True, blank=True, db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = user_who_did_it()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        permissions = [
            ("provision_apikey", "Can provision Deepgram keys"),
            ("rotate_apikey", "Can rotate Deepgram keys"),
            ("revoke_apikey", "Can revoke Deepgram keys"),
            ("reconcile_apikey", "Can reconcile keys with Deepgram"),
        ]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.customer})"


class CustomerUser(models.Model):
    """A portal login. A user belongs to exactly one customer and sees only its data."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_membership"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="users")
    invited_at = models.DateTimeField(default=timezone.now)
    invited_by = user_who_did_it()

    class Meta:
        verbose_name = "customer user"

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer}"


class ProvisionAttempt(models.Model):
    """One submitted provisioning form, keyed by its one-time token.

    Claiming the token before calling Deepgram makes a double submit harmless, and the
    token's short reference in the key's comment lets an ambiguous create be found again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CREATED = "created", "Created"
        FAILED = "failed", "Failed"
        UNRESOLVED = "unresolved", "Unresolved (check Reconcile)"

    token = models.UUIDField(unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=Status, default=Status.PENDING)
    api_key = models.OneToOneField(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_status_display()})"

    @property
    def reference(self) -> str:
        return f"ref {self.token.hex[:10]}"


class KeyEvent(AuditEvent):
    """Audit trail of every key operation: who, when, what, and how it ended. Never a secret."""

    class Action(models.TextChoices):
        PROVISION = "provision", "Provision"
        ROTATE = "rotate", "Rotate"
        SCHEDULE_REVOKE = "schedule_revoke", "Schedule revocation"
        REVOKE = "revoke", "Revoke"
        IMPORT = "import", "Import"
        MARK_MISSING = "mark_missing", "Mark missing on Deepgram"
        MARK_EXPIRED = "mark_expired", "Mark expired"
        REACTIVATE = "reactivate", "Found on Deepgram again"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    at = models.DateTimeField(
        default=timezone.now, db_index=True
    )  # the key log is searched by time
    actor = user_who_did_it(help_text="Empty for scheduled tasks.")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="key_events"
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    key_id = models.CharField("Deepgram key id", max_length=64, blank=True)
    action = models.CharField(max_length=20, choices=Action)
    outcome = models.CharField(max_length=12, choices=Outcome, default=Outcome.OK)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.key_id or ''} {self.get_outcome_display()}"
