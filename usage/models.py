from decimal import Decimal

from django.db import models
from django.utils import timezone

from billing_portal.audit import AuditEvent, user_who_did_it
from customers.models import ApiKey, DeepgramProject

from .models_sync import KeySyncState, SyncRun  # noqa: F401 - the app's models, all here


class Method(models.TextChoices):
    # "all" is no unknown: it is the sum over every method, as an unsplit summary reports it.
    ALL = "all", "Not split by method"
    SYNC = "sync", "Pre-recorded (sync)"
    ASYNC = "async", "Pre-recorded (async)"
    STREAMING = "streaming", "Streaming"


SPLIT_METHODS = (Method.SYNC, Method.ASYNC, Method.STREAMING)


class Endpoint(models.TextChoices):
    NOT_REPORTED = "", "Not reported"
    LISTEN = "listen", "Speech to text (listen)"
    SPEAK = "speak", "Text to speech (speak)"
    AGENT = "agent", "Voice agent (agent)"
    READ = "read", "Text intelligence (read)"


# Every unit a row of usage holds, in the order the sync and the corrections use.
HOUR_UNITS = ("hours", "total_hours", "agent_hours")
COUNT_UNITS = ("tts_characters", "tokens_in", "tokens_out", "requests")
UNITS = HOUR_UNITS + COUNT_UNITS


def _hours(verbose_name=None) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=16, decimal_places=6, default=Decimal(0), db_default=Decimal(0)
    )


def _count(verbose_name=None) -> models.BigIntegerField:
    return models.BigIntegerField(verbose_name, default=0, db_default=0)


def _dimension(max_length: int, **options) -> models.CharField:
    """A dimension of a usage row: empty when Deepgram did not report it, never NULL."""
    return models.CharField(max_length=max_length, blank=True, default="", db_default="", **options)


class UsageUnits(models.Model):
    """Every unit Deepgram reports for a row of usage, as it says them: hours with 6 decimals,
    the others counted. Never NULL: a unit not reported is 0."""

    hours = _hours()
    total_hours = _hours()
    agent_hours = _hours()
    tts_characters = _count("TTS characters")
    tokens_in = _count()
    tokens_out = _count()
    requests = _count()

    class Meta:
        abstract = True


class UsageRow(UsageUnits):
    """One UTC day of one (endpoint, method, model) as Deepgram names them; a dimension
    Deepgram did not report is an empty string (never NULL, so the unique key holds), and a
    summary not split by method is `all`."""

    day = models.DateField()
    endpoint = _dimension(10, choices=Endpoint)
    method = models.CharField(max_length=10, choices=Method, default=Method.ALL)
    model = _dimension(100, help_text="As Deepgram spells it; empty: the model was not reported.")
    first_seen_at = models.DateTimeField()
    changed_at = models.DateTimeField()

    class Meta:
        abstract = True

    def _dimensions(self) -> str:
        return " ".join(filter(None, (str(self.day), self.endpoint, self.method, self.model)))


class DailyUsage(UsageRow):
    """What Deepgram reports for one customer's key on one UTC day, one row per endpoint,
    method and model. Stored as Deepgram says it, never priced. Rows are only ever upserted by
    the sync; a row Deepgram stops reporting becomes zero, not deleted."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="daily_usage")

    class Meta:
        verbose_name_plural = "daily usage"
        ordering = ["-day", "api_key_id", "method", "endpoint", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "day", "endpoint", "method", "model"],
                name="one_usage_row_per_key_day_item",
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.api_key.key_id} {self._dimensions()}"


class UsageCorrectionValues(models.Model):
    """A stored row that Deepgram changed later (a late correction): old and new units."""

    run = models.ForeignKey("SyncRun", on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField()
    old_hours = _hours()
    new_hours = _hours()
    old_total_hours = _hours()
    new_total_hours = _hours()
    old_agent_hours = _hours()
    new_agent_hours = _hours()
    old_tts_characters = _count()
    new_tts_characters = _count()
    old_tokens_in = _count()
    new_tokens_in = _count()
    old_tokens_out = _count()
    new_tokens_out = _count()
    old_requests = _count()
    new_requests = _count()

    class Meta:
        abstract = True
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.usage}: {self.old_total_hours} -> {self.new_total_hours} h"


class UsageCorrection(UsageCorrectionValues):
    """A late correction of a customer key's usage."""

    usage = models.ForeignKey(DailyUsage, on_delete=models.CASCADE, related_name="corrections")


# --- Deepgram's cost ------------------------------------------------------------------------


class CostRow(models.Model):
    """What Deepgram charged, in USD, for one line item on one UTC day, as it says it."""

    day = models.DateField()
    line_item = models.CharField(max_length=100, help_text="Deepgram's code, as it says it.")
    dollars = models.DecimalField(max_digits=16, decimal_places=6)
    first_seen_at = models.DateTimeField()
    changed_at = models.DateTimeField()

    class Meta:
        abstract = True


class DailyCost(CostRow):
    """Deepgram's cost of one customer's key on one UTC day and line item. Never priced: what
    Deepgram charged us, beside what we bill."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="daily_cost")

    class Meta:
        verbose_name_plural = "daily cost"
        ordering = ["-day", "api_key_id", "line_item"]
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "day", "line_item"], name="one_cost_row_per_key_day_item"
            )
        ]
        indexes = [models.Index(fields=["day"]), models.Index(fields=["changed_at"])]

    def __str__(self) -> str:
        return f"{self.api_key.key_id} {self.day} {self.line_item}"


class MonthlyCost(models.Model):
    """Deepgram's dollars of one key over one month, summed from `DailyCost` as of its
    month's `CostMonth.summed_at` (`usage.month_costs`): what a month of thousands of keys
    is read from."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    dollars = models.DecimalField(max_digits=18, decimal_places=6)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "api_key"], name="one_monthly_cost_a_key")
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id} {self.month:%Y-%m}: {self.dollars} USD"


class MonthlyChange(models.Model):
    """When a key's usage and cost rows of a month last changed (stored, or changed by a late
    correction): kept by database triggers on `DailyUsage` and `DailyCost` (migration 0013),
    so whatever writes the rows (the sync's COPY and bulk updates included) keeps it. A
    billed month changed after its invoice is found here without reading its rows."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    usage_changed_at = models.DateTimeField(null=True)
    cost_changed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "month"], name="one_change_a_key_month")
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id} {self.month:%Y-%m}"


class CostMonth(models.Model):
    """A month whose `MonthlyCost` sums hold every daily cost row changed before
    `summed_at`."""

    month = models.DateField(primary_key=True)
    summed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} summed as of {self.summed_at:%Y-%m-%d %H:%M}"


class CostCorrectionValues(models.Model):
    """A stored cost that Deepgram changed later: old and new dollars."""

    run = models.ForeignKey("SyncRun", on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField()
    old_dollars = models.DecimalField(max_digits=16, decimal_places=6)
    new_dollars = models.DecimalField(max_digits=16, decimal_places=6)

    class Meta:
        abstract = True
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.cost}: {self.old_dollars} -> {self.new_dollars} USD"


class CostCorrection(CostCorrectionValues):
    cost = models.ForeignKey(DailyCost, on_delete=models.CASCADE, related_name="corrections")


# --- Usage nobody is billed for -------------------------------------------------------------


class UnassignedAccessor(models.Model):
    """An accessor (key id) with usage or cost in a project that is no customer's key (a console
    or staff key, a key deleted outside the portal), its rows kept apart from customers' usage.
    Once assigned (`accessor_assign`), its usage from `assigned_from` on is `assigned_key`'s;
    what came before stays here, unbilled and visible."""

    project = models.ForeignKey(
        DeepgramProject, models.PROTECT, related_name="unassigned_accessors"
    )
    accessor = models.CharField("Deepgram key id (accessor)", max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)
    assigned_key = models.ForeignKey(
        ApiKey, models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_from = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "accessor"]
        constraints = [
            models.UniqueConstraint(fields=["project", "accessor"], name="one_unassigned_accessor")
        ]

    def __str__(self) -> str:
        return self.accessor


class UnassignedUsage(UsageRow):
    """What Deepgram reports for an accessor that is no customer's key, as `DailyUsage`."""

    accessor = models.ForeignKey(UnassignedAccessor, on_delete=models.PROTECT, related_name="usage")

    class Meta:
        verbose_name_plural = "unassigned usage"
        ordering = ["-day", "accessor_id", "method", "endpoint", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["accessor", "day", "endpoint", "method", "model"],
                name="one_unassigned_usage_row",
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.accessor.accessor} {self._dimensions()}"


class UnassignedUsageCorrection(UsageCorrectionValues):
    usage = models.ForeignKey(UnassignedUsage, on_delete=models.CASCADE, related_name="corrections")


class UnassignedCost(CostRow):
    """Deepgram's cost for an accessor that is no customer's key, as `DailyCost`."""

    accessor = models.ForeignKey(UnassignedAccessor, on_delete=models.PROTECT, related_name="cost")

    class Meta:
        verbose_name_plural = "unassigned cost"
        ordering = ["-day", "accessor_id", "line_item"]
        constraints = [
            models.UniqueConstraint(
                fields=["accessor", "day", "line_item"], name="one_unassigned_cost_row"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.accessor.accessor} {self.day} {self.line_item}"


class UnassignedCostCorrection(CostCorrectionValues):
    cost = models.ForeignKey(UnassignedCost, on_delete=models.CASCADE, related_name="corrections")


class AccessorEvent(AuditEvent):
    """Audit trail of what was done to an unassigned accessor: who, when, what."""

    class Action(models.TextChoices):
        ASSIGN = "assign", "Usage assigned to a key"

    accessor = models.ForeignKey(UnassignedAccessor, models.PROTECT, related_name="events")
    api_key = models.ForeignKey(ApiKey, models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=20, choices=Action)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.accessor_id}"


# --- Line items: how usage maps to what Deepgram bills --------------------------------------


class LineItem(models.Model):
    """A line item Deepgram bills (`streaming::nova-3`, `sync::aura-2`), with its label.
    `model-not-reported` is the portal's own (FIXED): the rows whose model Deepgram did not
    report (all the rows synced before models were), which no rule prices."""

    class Source(models.TextChoices):
        BILLING_FIELDS = "billing_fields", "Deepgram's billing fields"
        PATTERN = "pattern", "Known pattern (no label from Deepgram)"
        FINANCE = "finance", "Finance"
        FIXED = "fixed", "The portal's own"

    code = models.CharField(max_length=100, unique=True)
    label = models.CharField(max_length=200)
    source = models.CharField(max_length=20, choices=Source, default=Source.FINANCE)
    pattern_seeded = models.BooleanField(
        default=False,
        editable=False,
        help_text="The rule of its known pattern was made (once: finance's edits are kept).",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.label} ({self.code})"


class LineItemRule(models.Model):
    """One rule of the mapping: usage of this endpoint, method and model is this line item.
    Rules are tried by position (then id); the first that matches wins."""

    class Source(models.TextChoices):
        PATTERN = "pattern", "Known pattern"
        FINANCE = "finance", "Finance"

    ANY_ENDPOINT = [("", "Any endpoint"), *Endpoint.choices[1:]]
    ANY_METHOD = [("", "Any method"), *Method.choices]

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(
        default=1000, help_text="Rules are tried in this order; the first that matches wins."
    )
    endpoint = models.CharField(max_length=10, choices=ANY_ENDPOINT, blank=True)
    method = models.CharField(max_length=10, choices=ANY_METHOD, blank=True)
    model_pattern = models.CharField(
        max_length=100,
        help_text="A glob (* and ?), case-insensitive; spaces, hyphens and underscores are "
        'alike, so "nova-3" matches Nova-3 and Nova - 3. "*" for any model.',
    )
    source = models.CharField(max_length=10, choices=Source, default=Source.FINANCE)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = user_who_did_it()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        where = f"{self.endpoint or '*'} {self.method or '*'} {self.model_pattern}"
        return f"{where} -> {self.line_item.code}"
