import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing_portal.audit import user_who_did_it
from customers.models import ApiKey


class Method(models.TextChoices):
    ALL = "all", "Not split by method"
    SYNC = "sync", "Pre-recorded (sync)"
    ASYNC = "async", "Pre-recorded (async)"
    STREAMING = "streaming", "Streaming"


SPLIT_METHODS = (Method.SYNC, Method.ASYNC, Method.STREAMING)


class DailyUsage(models.Model):
    """What Deepgram reports for one key on one UTC day (and one method when split).

    Stored as Deepgram says it, never priced. Rows are only ever upserted by the sync; a day
    Deepgram stops reporting becomes zero, not deleted.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="daily_usage")
    day = models.DateField()
    method = models.CharField(max_length=10, choices=Method, default=Method.ALL)
    hours = models.DecimalField(max_digits=16, decimal_places=6)
    total_hours = models.DecimalField(max_digits=16, decimal_places=6)
    requests = models.BigIntegerField()
    first_seen_at = models.DateTimeField()
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "daily usage"
        ordering = ["-day", "api_key_id", "method"]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "day", "method"], name="one_row_per_key_day")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.api_key.key_id} {self.day} {self.method}"


class UsageCorrection(models.Model):
    """A stored day that Deepgram changed later (a late correction), old and new values."""

    usage = models.ForeignKey(DailyUsage, on_delete=models.CASCADE, related_name="corrections")
    run = models.ForeignKey("SyncRun", on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField()
    old_hours = models.DecimalField(max_digits=16, decimal_places=6)
    new_hours = models.DecimalField(max_digits=16, decimal_places=6)
    old_total_hours = models.DecimalField(max_digits=16, decimal_places=6)
    new_total_hours = models.DecimalField(max_digits=16, decimal_places=6)
    old_requests = models.BigIntegerField()
    new_requests = models.BigIntegerField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.usage}: {self.old_total_hours} -> {self.new_total_hours} h"


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

    def errors_text(self) -> str:
        """`ServerError: 2, TransportError: 1`, or "-" for none."""
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.errors_by_kind.items())) or "-"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None
