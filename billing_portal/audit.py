"""The shape every audit trail shares: who (`actor`, empty for scheduled tasks), when (`at`),
what (`action`, from the trail's own choices) and how (`detail`). Rows are only ever added.
`user_who_did_it` is the field a model uses to say who did something to its row."""

from django.conf import settings
from django.db import models
from django.utils import timezone


def user_who_did_it(*, on_delete=models.SET_NULL, **options) -> models.ForeignKey:
    """A link to the user who did something: empty when the system did it, no reverse accessor
    on the user. `on_delete=PROTECT` where the row is a record that must keep its people."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=on_delete,
        null=True,
        blank=True,
        related_name="+",
        **options,
    )


class AuditEvent(models.Model):
    """An abstract audit row; a trail adds what it is about (an invoice, a key) and its
    `Action` choices."""

    at = models.DateTimeField(default=timezone.now)
    actor = user_who_did_it()
    action = models.CharField(max_length=20)
    detail = models.TextField(blank=True)

    class Meta:
        abstract = True

    @classmethod
    def record(cls, action: str, *, actor=None, detail: str = "", **subject):
        """Add one row: `action` done by `actor` (None for the system) to `subject`."""
        return cls.objects.create(action=action, actor=actor, detail=detail, **subject)
