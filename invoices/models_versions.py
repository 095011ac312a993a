"""Versions of a price plan (re-exported by `models`): each form of a plan's pricing that
billed a month, numbered, with the month it first billed.

A plan is edited in place (its drafts follow it); an invoice issued under it records the
version it was priced by, and keeps the version's pricing form itself (`pricing_snapshot`),
so re-pricing that month later uses it, never the plan as it is today. Written at approval
only (`services.plan_versions`), never edited.
"""

from django.db import models
from django.utils import timezone


class PlanVersion(models.Model):
    plan = models.ForeignKey("PricePlan", on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    digest = models.CharField(max_length=64, help_text="SHA-256 of the pricing form.")
    snapshot = models.JSONField(help_text="The plan's pricing form (as on its invoices).")
    effective_from = models.DateField(help_text="The first month this version billed.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_number"),
            models.UniqueConstraint(fields=["plan", "digest"], name="plan_version_digest"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.name}, version {self.number} (from {self.effective_from:%B %Y})"
