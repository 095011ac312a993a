"""Scheduled invoicing. Thin: each task calls one service and is safe to run twice."""

from celery import shared_task

from . import services


@shared_task
def generate_previous_month() -> dict:
    """On the 1st: drafts for the month that just ended."""
    report = services.invoice_generate_drafts(period=services.previous_month())
    return report.counts()


@shared_task
def refresh_open_drafts() -> dict:
    """After a usage sync: recompute every draft not yet approved."""
    return services.invoice_refresh_open_drafts()
