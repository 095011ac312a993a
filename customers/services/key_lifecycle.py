"""A key's life after provisioning: revoking, scheduled revoking, rotating, expiring.

Rules: revoking deletes the key on Deepgram, then marks it revoked; it is idempotent, a key
already gone on Deepgram is marked revoked without error, and any other Deepgram failure raises
RevokeFailed and leaves the key as it was (audited). Only an active key can be scheduled for
revocation or rotated; the `api_keys_revoke_due` beat task revokes scheduled keys when their time
comes. Rotating creates the replacement first (same customer, project, scopes, tags), then
revokes the old key now or schedules it; if revoking now fails, the old key is scheduled for
the next beat run, and the new key stands either way. Active keys past their expiry become
expired. A status change made from what was read earlier (expiry, reconcile) only happens if
nobody changed the key in the meantime. Every change is audited.
"""

import re
import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from billing_portal.deepgram import DeepgramError, NotFoundError, client_from_settings

from ..exceptions import DuplicateSubmission, ProvisionFailed, RevokeFailed
from ..models import ApiKey, KeyEvent, ProvisionAttempt
from .audit import key_event_record
from .provisioning import ProvisionedKey, api_key_provision

_REFERENCE = re.compile(r"\s*\[ref [0-9a-f]{10}\]$")


def api_key_revoke(*, api_key: ApiKey, actor) -> ApiKey:
    """Delete the key on Deepgram, then mark it revoked. Idempotent.

    A key already gone on Deepgram is marked revoked without error. Any other Deepgram
    failure raises RevokeFailed and leaves the key as it was (audited).
    """
    if api_key.status == ApiKey.Status.REVOKED:
        return api_key
    detail = ""
    try:
        client_from_settings().delete_key(api_key.project.project_id, api_key.key_id)
    except NotFoundError:
        detail = "It was already gone on Deepgram."
    except DeepgramError as exc:
        key_event_record(
            KeyEvent.Action.REVOKE,
            actor=actor,
            api_key=api_key,
            outcome=KeyEvent.Outcome.FAILED,
            detail=exc.message,
        )
        raise RevokeFailed(f"Deepgram did not revoke {api_key.key_id}: {exc.message}") from None
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if key.status == ApiKey.Status.REVOKED:
            return key
        key.status = ApiKey.Status.REVOKED
        key.revoked_at, key.revoked_by, key.revoke_at = timezone.now(), actor, None
        key.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_at"])
        key_event_record(KeyEvent.Action.REVOKE, actor=actor, api_key=key, detail=detail)
    return key


def api_key_schedule_revoke(*, api_key: ApiKey, when: datetime, actor) -> ApiKey:
    """Revoke the key at `when` (by the `api_keys_revoke_due` beat task)."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if key.status != ApiKey.Status.ACTIVE:
            raise RevokeFailed(f"Key {key.key_id} is {key.get_status_display().lower()}.")
        key.revoke_at = when
        key.save(update_fields=["revoke_at"])
        key_event_record(
            KeyEvent.Action.SCHEDULE_REVOKE,
            actor=actor,
            api_key=key,
            detail=f"Revocation scheduled for {when:%Y-%m-%d %H:%M} UTC.",
        )
    return key


def api_key_rotate(
    *, api_key: ApiKey, actor, token: uuid.UUID, revoke_at: datetime | None = None
) -> tuple[ProvisionedKey, str]:
    """Create the replacement key (same customer, project, scopes, tags), then revoke the old
    key now (`revoke_at` None) or schedule it. Returns the new key and a note for the user.

    If revoking now fails, the old key is scheduled for the next beat run instead; the new
    key stands either way.
    """
    earlier = ProvisionAttempt.objects.filter(token=token).first()
    if earlier is not None:  # a second submit of the same form: the old key may be gone now
        raise DuplicateSubmission(earlier)
    if api_key.status != ApiKey.Status.ACTIVE:
        raise ProvisionFailed("Only an active key can be rotated.")
    new = api_key_provision(
        customer=api_key.customer,
        project=api_key.project,
        comment=_REFERENCE.sub("", api_key.comment),
        scopes=api_key.scopes,
        tags=api_key.tags,
        actor=actor,
        token=token,
        replaces=api_key,
    )
    if revoke_at is not None:
        try:
            api_key_schedule_revoke(api_key=api_key, when=revoke_at, actor=actor)
        except RevokeFailed as exc:  # the new key stands; its secret must still be shown
            return new, f"The new key is ready, but the old one could not be scheduled: {exc}"
        return (
            new,
            f"The old key {api_key.key_id} will be revoked at {revoke_at:%Y-%m-%d %H:%M} UTC.",
        )
    try:
        api_key_revoke(api_key=api_key, actor=actor)
    except RevokeFailed as exc:
        api_key_schedule_revoke(api_key=api_key, when=timezone.now(), actor=actor)
        return new, f"{exc} It will be retried by the next scheduled run."
    return new, f"The old key {api_key.key_id} was revoked."


def api_keys_revoke_due(*, now: datetime | None = None) -> tuple[int, int]:
    """Revoke every active key whose scheduled time has come; (revoked, failed)."""
    due = ApiKey.objects.filter(
        status=ApiKey.Status.ACTIVE, revoke_at__lte=now or timezone.now()
    ).select_related("project", "customer")
    revoked = failed = 0
    for key in due:
        try:
            api_key_revoke(api_key=key, actor=None)
            revoked += 1
        except RevokeFailed:
            failed += 1
    return revoked, failed


def api_keys_mark_expired(*, now: datetime | None = None, actor=None) -> int:
    """Mark active keys past their expiry as expired; the number marked."""
    now = now or timezone.now()
    expired = list(
        ApiKey.objects.filter(status=ApiKey.Status.ACTIVE, expires_at__lte=now).select_related(
            "customer"
        )
    )
    for key in expired:
        api_key_set_status(
            key,
            ApiKey.Status.EXPIRED,
            KeyEvent.Action.MARK_EXPIRED,
            actor,
            f"Expired at {key.expires_at:%Y-%m-%d %H:%M} UTC.",
        )
    return len(expired)


def api_key_set_status(key: ApiKey, status: str, action, actor, detail: str = "") -> None:
    """Move a key from the status it was read with to `status`, unless someone changed it in
    the meantime (a revocation wins over what reconcile saw)."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if locked.status != key.status:
            return
        locked.status = key.status = status
        locked.save(update_fields=["status"])
        key_event_record(action, actor=actor, api_key=key, detail=detail)
