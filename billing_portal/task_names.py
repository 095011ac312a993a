"""Renaming a Celery task without breaking a running deployment.

A task's name is what the broker's messages and the stored beat schedules carry. A task that
is renamed is registered under its new name and, for a release, under its former one too, so
messages queued before the upgrade still run; a migration moves the stored schedules
(`django_celery_beat.PeriodicTask.task`) to the new name.
"""

from celery import shared_task


def shared_task_renamed(*, formerly: str, **options):
    """`shared_task(**options)`, also registered as `formerly` (its full former name, say
    "invoices.tasks.store_invoice_pdf") with the same options."""

    def register(run):
        shared_task(name=formerly, **options)(run)
        return shared_task(**options)(run)

    return register
