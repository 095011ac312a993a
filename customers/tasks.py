"""Scheduled key housekeeping. Thin: each task calls one service and is safe to run twice."""

from celery import shared_task

from . import services


@shared_task
def revoke_due_keys() -> dict:
    """Revoke keys whose scheduled revocation time has come (rotation with a delay)."""
    revoked, failed = services.api_keys_revoke_due()
    return {"revoked": revoked, "failed": failed}


@shared_task
def mark_expired_keys() -> dict:
    """Mark keys past their expiry date as expired."""
    return {"expired": services.api_keys_mark_expired()}
