"""Writes for customers, their Deepgram keys and their portal users.

Every key operation leaves a `KeyEvent` (who, when, what, outcome), failures included.
A key's secret passes through `api_key_provision` to its caller once and is never stored,
logged or put in an error.
"""

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from billing_portal.deepgram import (
    AmbiguousCreateError,
    DeepgramError,
    NotFoundError,
    client_from_settings,
)
from billing_portal.deepgram.types import ProjectKey

from .exceptions import (
    CustomerNotActive,
    CustomersError,
    DuplicateSubmission,
    ImportFailed,
    ProvisionFailed,
    RevokeFailed,
)
from .models import ApiKey, Customer, CustomerUser, DeepgramProject, KeyEvent, ProvisionAttempt

logger = logging.getLogger(__name__)

# What a customer's key may do: transcribe and speak. Read scopes would show every customer's
# usage and keys; `member` or `keys:write` could mint keys and change the project.
CUSTOMER_SCOPES = frozenset({"usage:write"})
_REFERENCE = re.compile(r"\s*\[ref [0-9a-f]{10}\]$")


@transaction.atomic
def project_ensure_default(*, project_id: str, name: str = "Default project") -> DeepgramProject:
    """Make `project_id` the one default project, creating it when new. Idempotent."""
    DeepgramProject.objects.filter(is_default=True).exclude(project_id=project_id).update(
        is_default=False
    )
    project, _ = DeepgramProject.objects.update_or_create(
        project_id=project_id,
        defaults={"is_default": True},
        create_defaults={"name": name, "is_default": True},
    )
    return project


def customer_ensure(*, name: str, billing_email: str, **details) -> tuple[Customer, bool]:
    """The customer named `name`, created with `details` when missing; (customer, created)."""
    return Customer.objects.get_or_create(
        name=name, defaults={"billing_email": billing_email, **details}
    )


# --- Provisioning ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvisionedKey:
    """A new key and its secret, for showing once. The secret is kept out of repr()."""

    api_key: ApiKey
    secret: str = field(repr=False)


def api_key_provision(
    *,
    customer: Customer,
    project: DeepgramProject,
    comment: str,
    scopes: list[str],
    tags: list[str] | tuple[str, ...] = (),
    expires_at: datetime | None = None,
    ttl_seconds: int | None = None,
    actor,
    token: uuid.UUID,
    replaces: ApiKey | None = None,
) -> ProvisionedKey:
    """Create a Deepgram key for `customer` and record it.

    Rules: the one-time `token` is claimed first, so a second submit of the same form raises
    DuplicateSubmission without calling Deepgram. The customer must be active. Deepgram's
    refusal raises ProvisionFailed with its message and saves nothing. An ambiguous create is
    resolved by listing the project's keys for the token's reference (never by creating
    again); a key found that way is deleted, since its secret was lost. If the database
    write fails after Deepgram created the key, the key is deleted on Deepgram again.
    """
    if not scopes or not set(scopes) <= CUSTOMER_SCOPES:
        raise ProvisionFailed(
            f"A customer's key can only have the scopes {', '.join(sorted(CUSTOMER_SCOPES))}.",
            field="scopes",
        )
    attempt = _claim_token(token=token, customer=customer, actor=actor)
    action = KeyEvent.Action.ROTATE if replaces else KeyEvent.Action.PROVISION
    if customer.status != Customer.Status.ACTIVE:
        _attempt_failed(attempt, action, actor, "The customer is not active.")
        raise CustomerNotActive(f"{customer} is {customer.get_status_display().lower()}.")
    client = client_from_settings()
    try:
        created = client.create_key(
            project.project_id,
            comment=f"{comment} [{attempt.reference}]",
            scopes=scopes,
            tags=list(tags),
            expiration_date=expires_at,
            time_to_live_in_seconds=ttl_seconds,
        )
    except AmbiguousCreateError as exc:
        _resolve_ambiguous_create(attempt, project, action, actor, exc)
    except NotFoundError as exc:
        _attempt_failed(attempt, action, actor, exc.message)
        raise ProvisionFailed(
            f"Deepgram does not know project {project.project_id}: {exc.message}",
            field="project",
        ) from None
    except DeepgramError as exc:
        _attempt_failed(attempt, action, actor, exc.message)
        raise ProvisionFailed(f"Deepgram refused to create the key: {exc.message}") from None
    try:
        api_key = _record_created_key(attempt, project, created, action, actor, replaces)
    except Exception:  # whatever broke, a key nobody holds the secret of must not stay live
        logger.exception("Saving new key %s failed; deleting it on Deepgram", created.api_key_id)
        _roll_back_upstream(attempt, project, created.api_key_id, action, actor)
    return ProvisionedKey(api_key=api_key, secret=created.secret)


def _claim_token(*, token: uuid.UUID, customer: Customer, actor) -> ProvisionAttempt:
    try:
        with transaction.atomic():
            return ProvisionAttempt.objects.create(
                token=token, customer=customer, requested_by=actor
            )
    except IntegrityError:
        raise DuplicateSubmission(ProvisionAttempt.objects.get(token=token)) from None


@transaction.atomic
def _record_created_key(attempt, project, created, action, actor, replaces) -> ApiKey:
    api_key = _new_api_key(attempt.customer, project, created, actor, replaces=replaces)
    attempt.api_key, attempt.status = api_key, ProvisionAttempt.Status.CREATED
    attempt.save(update_fields=["api_key", "status"])
    detail = f"Replaces {replaces.key_id}." if replaces else ""
    _audit(action, actor=actor, api_key=api_key, detail=detail)
    return api_key


def _new_api_key(customer, project, info, actor, **extra) -> ApiKey:
    """Record a key as Deepgram describes it (a created key or a listed one alike)."""
    return ApiKey.objects.create(
        customer=customer,
        project=project,
        key_id=info.api_key_id,
        comment=info.comment,
        scopes=list(info.scopes),
        tags=list(info.tags),
        expires_at=info.expiration_date,
        created_at=info.created or timezone.now(),
        created_by=actor,
        **extra,
    )


def _roll_back_upstream(attempt, project, key_id: str, action, actor) -> None:
    try:
        client_from_settings().delete_key(project.project_id, key_id)
    except DeepgramError as exc:
        message = (
            f"The key could not be saved, and deleting it on Deepgram failed ({exc.message}). "
            f"Revoke key {key_id} under Reconcile."
        )
        _attempt_failed(
            attempt,
            action,
            actor,
            message,
            key_id=key_id,
            status=ProvisionAttempt.Status.UNRESOLVED,
        )
        raise ProvisionFailed(message) from None
    message = (
        "The key could not be saved, so it was deleted on Deepgram again. Nothing was created."
    )
    _attempt_failed(
        attempt, action, actor, message, key_id=key_id, outcome=KeyEvent.Outcome.ROLLED_BACK
    )
    raise ProvisionFailed(message)


def _resolve_ambiguous_create(attempt, project, action, actor, exc: AmbiguousCreateError):
    """Find out by listing whether the lost create happened; delete what it made."""
    client = client_from_settings()
    unclear = f"Deepgram did not answer clearly ({exc.cause.message})"
    try:
        found = _keys_with_reference(client.list_keys(project.project_id), attempt.reference)
        for key in found:
            client.delete_key(project.project_id, key.api_key.api_key_id)
    except DeepgramError as check:
        message = (
            f"{unclear}, and checking failed ({check.message}). If a key marked "
            f"[{attempt.reference}] shows up under Reconcile, revoke it. Nothing was saved."
        )
        _attempt_failed(attempt, action, actor, message, status=ProvisionAttempt.Status.UNRESOLVED)
        raise ProvisionFailed(message) from None
    if found:
        message = (
            f"{unclear}. It had created the key, but its secret was lost, so the key was "
            "deleted again. Nothing was created; please try again."
        )
        key_id = found[0].api_key.api_key_id
        _attempt_failed(
            attempt, action, actor, message, key_id=key_id, outcome=KeyEvent.Outcome.ROLLED_BACK
        )
    else:
        message = f"{unclear}; it did not create the key. Nothing was created; please try again."
        _attempt_failed(attempt, action, actor, message)
    raise ProvisionFailed(message)


def _keys_with_reference(keys: list[ProjectKey], reference: str) -> list[ProjectKey]:
    return [key for key in keys if f"[{reference}]" in key.api_key.comment]


def _attempt_failed(
    attempt,
    action,
    actor,
    message,
    *,
    key_id="",
    outcome=KeyEvent.Outcome.FAILED,
    status=ProvisionAttempt.Status.FAILED,
) -> None:
    attempt.status = status
    attempt.save(update_fields=["status"])
    _audit(
        action,
        actor=actor,
        customer=attempt.customer,
        key_id=key_id,
        outcome=outcome,
        detail=message,
    )


def _audit(
    action,
    *,
    actor=None,
    api_key: ApiKey | None = None,
    customer=None,
    key_id="",
    outcome=KeyEvent.Outcome.OK,
    detail="",
) -> KeyEvent:
    return KeyEvent.objects.create(
        action=action,
        actor=actor,
        api_key=api_key,
        customer=customer or (api_key.customer if api_key else None),
        key_id=key_id or (api_key.key_id if api_key else ""),
        outcome=outcome,
        detail=detail,
    )


# --- Revoking and rotating ------------------------------------------------------------------


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
        _audit(
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
        _audit(KeyEvent.Action.REVOKE, actor=actor, api_key=key, detail=detail)
    return key


def api_key_schedule_revoke(*, api_key: ApiKey, when: datetime, actor) -> ApiKey:
    """Revoke the key at `when` (by the `revoke_due_keys` beat task)."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if key.status != ApiKey.Status.ACTIVE:
            raise RevokeFailed(f"Key {key.key_id} is {key.get_status_display().lower()}.")
        key.revoke_at = when
        key.save(update_fields=["revoke_at"])
        _audit(
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


# --- Reconciling with Deepgram --------------------------------------------------------------


def api_keys_mark_expired(*, now: datetime | None = None, actor=None) -> int:
    """Mark active keys past their expiry as expired; the number marked."""
    now = now or timezone.now()
    expired = list(
        ApiKey.objects.filter(status=ApiKey.Status.ACTIVE, expires_at__lte=now).select_related(
            "customer"
        )
    )
    for key in expired:
        _set_status(
            key,
            ApiKey.Status.EXPIRED,
            KeyEvent.Action.MARK_EXPIRED,
            actor,
            f"Expired at {key.expires_at:%Y-%m-%d %H:%M} UTC.",
        )
    return len(expired)


@dataclass
class ReconcileReport:
    project: DeepgramProject
    matched: list[ApiKey]
    unknown: list[ProjectKey]
    marked_missing: list[ApiKey]
    reactivated: list[ApiKey]
    marked_expired: int
    orphans_deleted: list[str]


def api_keys_reconcile(*, project: DeepgramProject, actor=None) -> ReconcileReport:
    """Compare Deepgram's keys of `project` with the portal's and fix the portal's view.

    Portal keys Deepgram no longer has become missing-upstream (and active again if they
    reappear); expired keys become expired; keys left behind by failed provisioning attempts
    (found by their reference) are deleted on Deepgram. Unknown keys are reported, for import.
    """
    client = client_from_settings()
    listed_at = timezone.now()
    upstream = {key.api_key.api_key_id: key for key in client.list_keys(project.project_id)}
    orphans = _delete_orphans(client, project, upstream, actor)
    marked_expired = api_keys_mark_expired(actor=actor)
    # A key made after the listing is not missing, only too new to be in it.
    ours = list(
        project.api_keys.select_related("customer")
        .exclude(status=ApiKey.Status.REVOKED)
        .filter(created_at__lt=listed_at)
    )
    report = ReconcileReport(project, [], [], [], [], marked_expired, orphans)
    for key in ours:
        if key.key_id not in upstream and key.status == ApiKey.Status.ACTIVE:
            _set_status(key, ApiKey.Status.MISSING_UPSTREAM, KeyEvent.Action.MARK_MISSING, actor)
            report.marked_missing.append(key)
        elif key.key_id in upstream and key.status == ApiKey.Status.MISSING_UPSTREAM:
            _set_status(key, ApiKey.Status.ACTIVE, KeyEvent.Action.REACTIVATE, actor)
            report.reactivated.append(key)
        elif key.key_id in upstream:
            report.matched.append(key)
    known = set(ApiKey.objects.filter(key_id__in=upstream).values_list("key_id", flat=True))
    report.unknown = [key for key_id, key in upstream.items() if key_id not in known]
    return report


def _delete_orphans(client, project, upstream: dict[str, ProjectKey], actor) -> list[str]:
    # A pending attempt this old was cut off mid-way (a killed web worker): unfinished too.
    cut_off = Q(
        status=ProvisionAttempt.Status.PENDING,
        requested_at__lt=timezone.now() - timedelta(minutes=10),
    )
    unfinished = ProvisionAttempt.objects.filter(
        Q(status__in=[ProvisionAttempt.Status.FAILED, ProvisionAttempt.Status.UNRESOLVED]) | cut_off
    ).select_related("customer")
    deleted = []
    for attempt in unfinished:
        for key in _keys_with_reference(list(upstream.values()), attempt.reference):
            key_id = key.api_key.api_key_id
            if ApiKey.objects.filter(key_id=key_id).exists():
                continue
            client.delete_key(project.project_id, key_id)
            upstream.pop(key_id)
            deleted.append(key_id)
            attempt.status = ProvisionAttempt.Status.FAILED
            attempt.save(update_fields=["status"])
            _audit(
                KeyEvent.Action.PROVISION,
                actor=actor,
                customer=attempt.customer,
                key_id=key_id,
                outcome=KeyEvent.Outcome.ROLLED_BACK,
                detail=f"Deleted the key left by failed attempt [{attempt.reference}].",
            )
    return deleted


def _set_status(key: ApiKey, status: str, action, actor, detail: str = "") -> None:
    """Move a key from the status it was read with to `status`, unless someone changed it in
    the meantime (a revocation wins over what reconcile saw)."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if locked.status != key.status:
            return
        locked.status = key.status = status
        locked.save(update_fields=["status"])
        _audit(action, actor=actor, api_key=key, detail=detail)


def importable(scopes) -> bool:
    """Whether a key may be assigned to a customer: only a key with customer scopes, never
    one that can read or manage the project (such as the portal's own management key)."""
    return bool(scopes) and set(scopes) <= CUSTOMER_SCOPES


def api_key_import(*, project: DeepgramProject, key_id: str, customer: Customer, actor) -> ApiKey:
    """Assign a key made outside the portal to `customer` (no secret needed)."""
    if ApiKey.objects.filter(key_id=key_id).exists():
        raise ImportFailed(f"Key {key_id} is already in the portal.")
    if customer.status != Customer.Status.ACTIVE:
        raise ImportFailed(f"{customer} is not active.")
    try:
        info = client_from_settings().get_key(project.project_id, key_id).api_key
    except DeepgramError as exc:
        raise ImportFailed(f"Deepgram could not show key {key_id}: {exc.message}") from None
    if not importable(info.scopes):
        # Revoking a customer's key must never be able to delete a key that runs the project.
        raise ImportFailed(
            f"Key {key_id} has the scopes {', '.join(info.scopes)}: only a key limited to "
            f"{', '.join(sorted(CUSTOMER_SCOPES))} can be assigned to a customer."
        )
    with transaction.atomic():
        api_key = _new_api_key(customer, project, info, actor, imported=True)
        _audit(KeyEvent.Action.IMPORT, actor=actor, api_key=api_key)
    return api_key


# --- Portal users ---------------------------------------------------------------------------


def customer_user_invite(
    *,
    customer: Customer,
    email: str,
    first_name: str = "",
    last_name: str = "",
    actor,
    portal_url: str,
) -> CustomerUser:
    """Create a portal user for `customer` and e-mail a link to set a password.

    The user has no usable password until they follow the link (Django's reset flow).
    Raises CustomersError for a duplicate e-mail; an e-mail failure leaves the user in place
    (resend from the admin).
    """
    User = get_user_model()
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise CustomersError(f"A user with the e-mail {email} exists already.")
    with transaction.atomic():
        user = User(username=email, email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.save()
        membership = CustomerUser.objects.create(user=user, customer=customer, invited_by=actor)
    customer_user_send_invitation(membership=membership, portal_url=portal_url)
    return membership


def customer_user_send_invitation(*, membership: CustomerUser, portal_url: str) -> None:
    """E-mail the password-set link (valid as long as Django's reset tokens are)."""
    user = membership.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    context = {
        "user": user,
        "customer": membership.customer,
        "link": f"{portal_url.rstrip('/')}/portal/reset/{uid}/{token}/",
    }
    send_mail(
        subject=f"Your billing portal account for {membership.customer}",
        message=render_to_string("customers/email/invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
