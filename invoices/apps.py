from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = "Invoices"

    def ready(self):
        from usage.signals import usage_synced

        usage_synced.connect(_refresh_drafts_after_sync, dispatch_uid="invoices-refresh-drafts")


def _refresh_drafts_after_sync(sender, run_id, **kwargs):
    """Drafts follow the usage until approved: refresh them once a sync has finished."""
    from .tasks import refresh_open_drafts

    refresh_open_drafts.delay()
