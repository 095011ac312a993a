from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = "Invoices"

    def ready(self):
        # A signal here, not a call: the usage app, which syncs, must not import the invoices
        # app, which bills what it synced.
        from usage.services import issued_months
        from usage.signals import usage_synced

        usage_synced.connect(_refresh_drafts_after_sync, dispatch_uid="invoices-refresh-drafts")
        issued_months.connect(_issued_months, dispatch_uid="invoices-issued-months")


def _refresh_drafts_after_sync(sender, run_id, **kwargs):
    """Drafts follow the usage until approved: refresh them once a sync has finished."""
    from .tasks import invoice_refresh_open_drafts

    invoice_refresh_open_drafts.delay()


def _issued_months(sender, customer, since, **kwargs) -> set:
    """The months (first days) from `since` on that a live invoice of the customer billed: an
    accessor's usage may not be moved onto the customer's key inside them."""
    from .models import Invoice

    return set(
        Invoice.objects.issued_invoices()
        .filter(customer=customer, period__gte=since)
        .values_list("period", flat=True)
    )
