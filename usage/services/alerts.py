"""Operator alerts: a usage sync that went wrong reaches the operators outside the admin.

Rules:
- A run that closes partial (some keys failed) or failed (all did, or it was held before a
  mass cut) is told once: one ERROR log line and one e-mail to ADMINS (`mail_admins`; none
  when ADMINS is empty). Only the transaction that closes the run queues it, on commit, and a
  run closes once, so each run is told once; a mail that cannot be sent is logged, and never
  breaks the sync.
- Keys whose last successful sync is older than 24 h (`selectors.stale_key_states`) are
  reported by a daily beat task: one WARNING line and one e-mail, only when there are some,
  and at most once a UTC day (the cache remembers the day; on Redis across processes).
- The alerts name runs, keys by their Deepgram key id, customers and counts of error kinds,
  never an error's text (a Deepgram answer could carry anything) nor a secret.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import mail_admins
from django.urls import reverse

from .. import selectors
from ..models import SyncRun
from .sync_window import utc_today

__all__ = ["sync_report_stale_keys", "sync_run_alert"]

logger = logging.getLogger(__name__)

_LISTED = 50  # keys named in a stale-keys mail; the admin list has the rest


def _admin_url(name: str, *args) -> str:
    return settings.BILLING_SITE_URL.rstrip("/") + reverse(name, args=args)


def _mail(subject: str, body: str) -> None:
    try:
        mail_admins(subject, body)
    except Exception:
        logger.exception("Could not e-mail the admins: %s", subject)


def sync_run_alert(run_id: int) -> None:
    """Tell the operators that a run closed partial or failed (nothing for any other run)."""
    run = SyncRun.objects.get(pk=run_id)
    if run.status not in (SyncRun.Status.PARTIAL, SyncRun.Status.FAILED):
        return
    outcome = (
        f"stopped before it wrote: {run.held_reason}"
        if run.held_reason
        else f"{run.keys_failed} of {run.keys_total} keys failed ({run.errors_text()})"
    )
    logger.error("Usage sync run %s closed %s: %s", run.pk, run.status, outcome)
    body = "\n".join(
        [
            f"Usage sync run {run.pk} ({run.get_trigger_display()}, started "
            f"{run.started_at:%Y-%m-%d %H:%M} UTC) closed {run.get_status_display().lower()}.",
            "",
            f"Outcome: {outcome}",
            f"Keys: {run.keys_ok} synced, {run.keys_failed} failed, of {run.keys_total}.",
            f"Window: {run.window_start or 'each key its settlement window'} to {run.window_end}.",
            "",
            f"The run: {_admin_url('admin:usage_syncrun_change', run.pk)}",
            f"Keys that last failed: {_admin_url('admin:usage_keysyncstate_changelist')}"
            "?freshness=failing",
        ]
    )
    _mail(f"Usage sync run {run.pk} {run.status}", body)


def sync_report_stale_keys() -> int:
    """Report the keys whose usage has not synced for 24 h, once a UTC day; how many were
    reported (0: none stale, or reported today already)."""
    states = selectors.stale_key_states().select_related("api_key__customer")
    count = states.count()
    if not count:
        return 0
    if not cache.add(f"usage:stale-keys-reported:{utc_today()}", True, timeout=2 * 86400):
        logger.info("%d stale keys were reported today already", count)
        return 0
    listed = list(states.order_by("last_success_at", "api_key__key_id")[:_LISTED])
    logger.warning(
        "%d Deepgram keys have not synced for 24 h: %s%s",
        count,
        ", ".join(state.api_key.key_id for state in listed[:10]),
        ", ..." if count > 10 else "",
    )
    lines = [
        f"- {state.api_key.key_id} ({state.api_key.customer}): last success "
        f"{f'{state.last_success_at:%Y-%m-%d %H:%M} UTC' if state.last_success_at else 'never'}"
        f"{f', {state.consecutive_failures} failures since' if state.consecutive_failures else ''}"
        for state in listed
    ]
    if count > len(listed):
        lines.append(f"- and {count - len(listed)} more")
    body = "\n".join(
        [
            f"{count} Deepgram keys have not synced for 24 hours; their usage is not up to date.",
            "",
            *lines,
            "",
            f"All of them: {_admin_url('admin:usage_keysyncstate_changelist')}?freshness=stale",
        ]
    )
    _mail(f"{count} Deepgram keys have not synced for 24 h", body)
    return count
