"""Provisioning a customer's Deepgram key, and undoing a create that cannot be kept.

Rules: a customer's key only has the scopes in `CUSTOMER_SCOPES`. The form's one-time token
is claimed first (a `ProvisionAttempt`), so a second submit raises DuplicateSubmission without
calling Deepgram; the attempt's reference goes into the key's comment. The customer must be
active. Deepgram's refusal raises ProvisionFailed and saves nothing. An ambiguous create is
resolved by listing the project's keys for the reference, never by creating again; a key found
that way is deleted, since its secret was lost. If the database write fails after Deepgram
created the key, the key is deleted on Deepgram again; when that fails too, the attempt is left
unresolved for Reconcile. Every outcome, failures included, is audited.

A key's secret passes through `api_key_provision` to its caller once and is never stored,
logged or put in an error.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import NoReturn

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing_portal.deepgram import (
    AmbiguousCreateError,
    DeepgramError,
    NotFoundError,
    client_from_settings,
)
from billing_portal.deepgram.types import ProjectKey

from ..exceptions import CustomerNotActive, DuplicateSubmission, ProvisionFailed
from ..models import ApiKey, Customer, DeepgramProject, KeyEvent, ProvisionAttempt
from .audit import key_event_record

logger = logging.getLogger(__name__)

# What a customer's key may do: transcribe and speak. Read scopes would show every customer's
# usage and keys; `member` or `keys:write` could mint keys and change the project.
CUSTOMER_SCOPES = frozenset({"usage:write"})


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
    api_key = new_api_key(attempt.customer, project, created, actor, replaces=replaces)
    attempt.api_key, attempt.status = api_key, ProvisionAttempt.Status.CREATED
    attempt.save(update_fields=["api_key", "status"])
    detail = f"Replaces {replaces.key_id}." if replaces else ""
    key_event_record(action, actor=actor, api_key=api_key, detail=detail)
    return api_key


def new_api_key(customer, project, info, actor, **extra) -> ApiKey:
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


def _roll_back_upstream(attempt, project, key_id: str, action, actor) -> NoReturn:
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


def _resolve_ambiguous_create(
    attempt, project, action, actor, exc: AmbiguousCreateError
) -> NoReturn:
    """Find out by listing whether the lost create happened; delete what it made."""
    client = client_from_settings()
    unclear = f"Deepgram did not answer clearly ({exc.cause.message})"
    try:
        found = keys_with_reference(client.list_keys(project.project_id), attempt.reference)
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


def keys_with_reference(keys: list[ProjectKey], reference: str) -> list[ProjectKey]:
    """The keys whose comment carries a provisioning attempt's `reference`."""
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
    key_event_record(
        action,
        actor=actor,
        customer=attempt.customer,
        key_id=key_id,
        outcome=outcome,
        detail=message,
    )
