"""Reconciling the portal's keys with Deepgram's, and importing keys made outside the portal.

Rules: portal keys Deepgram no longer has become missing-upstream (and active again if they
reappear); a key made after Deepgram's list was taken is not missing, only too new to be in it.
Expired keys become expired. Keys left behind by unfinished provisioning attempts (failed,
unresolved, or pending for over ten minutes) are found by their reference and deleted on
Deepgram, unless the portal holds them. Keys Deepgram has and the portal does not are reported,
for import. An imported key is assigned to an active customer without its secret, and only
when it is not in the portal yet and has no scope beyond `CUSTOMER_SCOPES`, so that revoking
a customer's key can never delete a key that runs the project. Every change is audited.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing_portal.deepgram import DeepgramError, client_from_settings
from billing_portal.deepgram.types import ProjectKey

from ..exceptions import ImportFailed
from ..models import ApiKey, Customer, DeepgramProject, KeyEvent, ProvisionAttempt
from .audit import key_event_record
from .key_lifecycle import api_key_set_status, api_keys_mark_expired
from .provisioning import CUSTOMER_SCOPES, keys_with_reference, new_api_key


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
            api_key_set_status(
                key, ApiKey.Status.MISSING_UPSTREAM, KeyEvent.Action.MARK_MISSING, actor
            )
            report.marked_missing.append(key)
        elif key.key_id in upstream and key.status == ApiKey.Status.MISSING_UPSTREAM:
            api_key_set_status(key, ApiKey.Status.ACTIVE, KeyEvent.Action.REACTIVATE, actor)
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
        for key in keys_with_reference(list(upstream.values()), attempt.reference):
            key_id = key.api_key.api_key_id
            if ApiKey.objects.filter(key_id=key_id).exists():
                continue
            client.delete_key(project.project_id, key_id)
            upstream.pop(key_id)
            deleted.append(key_id)
            attempt.status = ProvisionAttempt.Status.FAILED
            attempt.save(update_fields=["status"])
            key_event_record(
                KeyEvent.Action.PROVISION,
                actor=actor,
                customer=attempt.customer,
                key_id=key_id,
                outcome=KeyEvent.Outcome.ROLLED_BACK,
                detail=f"Deleted the key left by failed attempt [{attempt.reference}].",
            )
    return deleted


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
        api_key = new_api_key(customer, project, info, actor, imported=True)
        key_event_record(KeyEvent.Action.IMPORT, actor=actor, api_key=api_key)
    return api_key
