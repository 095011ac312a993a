"""Scheduled key housekeeping. Thin: each task calls one service, named after it, and is safe to
run twice. Former names stay registered for a release (`billing_portal.task_names`)."""

from billing_portal.task_names import shared_task_renamed

from . import services


@shared_task_renamed(formerly="customers.tasks.revoke_due_keys")
def api_keys_revoke_due() -> dict:
    """Revoke keys whose scheduled revocation time has come (rotation with a delay)."""
    revoked, failed = services.api_keys_revoke_due()
    return {"revoked": revoked, "failed": failed}


@shared_task_renamed(formerly="customers.tasks.mark_expired_keys")
def api_keys_mark_expired() -> dict:
    """Mark keys past their expiry date as expired."""
    return {"expired": services.api_keys_mark_expired()}
