"""What a sync keeps of its own work: each key's sync state, and the sync runs."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing_portal.audit import user_who_did_it
from customers.models import ApiKey


class KeySyncState(models.Model):
    """Per key: how far its usage is synced and how the last attempts went."""

    api_key = models.OneToOneField(ApiKey, on_delete=models.CASCADE, related_name="sync_state")
    synced_through = models.DateField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_kind = models.CharField(max_length=40, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    settled = models.BooleanField(
        default=False, help_text="A revoked key synced past its settlement window: left alone."
    )

    class Meta:
        verbose_name = "key sync status"
        verbose_name_plural = "key sync status"

    def __str__(self) -> str:
        return f"sync of {self.api_key.key_id}"


class SyncRun(models.Model):
    """One sync of many keys: what started it, its window, its chunks of keys, and what it did.

    `token` names the run's current owner: a taker of a stale run (heartbeat too old) gives it
    a new token, so that a late chunk of the former owner writes nothing.
    """

    class Trigger(models.TextChoices):
        BEAT = "beat", "Schedule"
        COMMAND = "command", "Command"
        ADMIN = "admin", "Admin"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partial (some keys failed)"
        FAILED = "failed", "Failed"
        ABANDONED = "abandoned", "Abandoned"

    trigger = models.CharField(max_length=10, choices=Trigger)
    status = models.CharField(max_length=10, choices=Status, default=Status.RUNNING)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    keys_total = models.PositiveIntegerField(default=0)
    keys_ok = models.PositiveIntegerField(default=0)
    keys_failed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_changed = models.PositiveIntegerField(default=0)
    errors_by_kind = models.JSONField(default=dict, blank=True)
    calls_by_endpoint = models.JSONField(
        default=dict, blank=True, help_text="Calls made, by Deepgram endpoint."
    )
    differences = models.JSONField(
        default=list,
        blank=True,
        help_text="Days whose per-key rows do not add up to Deepgram's own project totals.",
    )
    resume_from = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="Chunks left at a time limit: {chunk number: {project pk: first day to read}}.",
    )
    cost_unread = models.JSONField(
        default=dict,
        blank=True,
        help_text="Projects whose cost could not be read (the management key lacks "
        "billing:read), and why.",
    )
    done_chunks = models.JSONField(default=list, blank=True, editable=False)
    chunks = models.JSONField(
        default=list, blank=True, editable=False, help_text="The key pks of each chunk, by number."
    )
    token = models.UUIDField(default=uuid.uuid4, editable=False)
    heartbeat_at = models.DateTimeField(
        default=timezone.now, help_text="When the run's owner last showed it was alive."
    )
    takeovers = models.PositiveIntegerField(
        default=0, help_text="How often a stale run was taken over and resumed."
    )
    held_reason = models.TextField(
        blank=True, help_text="Why the run was stopped before it wrote (a mass cut of usage)."
    )
    allow_mass_cut = models.BooleanField(
        default=False, help_text="Ops accepted the cut a held run saw: this run applies it."
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = user_who_did_it()

    class Meta:
        ordering = ["-started_at"]
        permissions = [("start_syncrun", "Can start a usage sync")]
        constraints = [
            # Single flight: at most one run in progress, enforced by the database.
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="running"), name="one_running_sync"
            )
        ]

    def __str__(self) -> str:
        return f"Sync {self.started_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    def calls_text(self) -> str:
        """`usage/breakdown: 62, billing/breakdown: 62`, or "-" for none."""
        calls = sorted(self.calls_by_endpoint.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join(f"{name}: {n}" for name, n in calls) or "-"

    def differences_text(self) -> str:
        """What did not add up to Deepgram's project totals, a line a day and unit."""
        return "\n".join(
            f"{d['project']} {d['day']} {d['unit']}: the keys {d['grouped']}, "
            f"the project {d['reported']}"
            for d in self.differences
        )

    def errors_text(self) -> str:
        """`ServerError: 2, TransportError: 1`, or "-" for none."""
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.errors_by_kind.items())) or "-"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None
