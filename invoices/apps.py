from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = "Invoices"

    def ready(self):
        # A signal here, not a call: the usage app, which syncs, must not import the invoices
        # app, which bills what it synced.
        from usage.signals import usage_synced

        usage_synced.connect(_refresh_drafts_after_sync, dispatch_uid="invoices-refresh-drafts")


def _refresh_drafts_after_sync(sender, run_id, **kwargs):
    """Drafts follow the usage until approved: refresh them once a sync has finished."""
    from .tasks import invoice_refresh_open_drafts

    invoice_refresh_open_drafts.delay()
