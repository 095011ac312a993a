import uuid

from django.db import models
from django.db.models import Q


class DeepgramProject(models.Model):
    """A Deepgram project in which customers' keys live. One of them is the default."""

    project_id = models.CharField("Deepgram project id", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    is_default = models.BooleanField("default", default=False)
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
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code")
    tax_id = models.CharField("tax id", max_length=64, blank=True)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code")
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
