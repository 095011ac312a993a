from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = "Invoices"

    def ready(self):
        from usage.signals import usage_synced

        from .signals import document_issued

        usage_synced.connect(_refresh_drafts_after_sync, dispatch_uid="invoices-refresh-drafts")
        document_issued.connect(_deliver_issued_document, dispatch_uid="invoices-deliver")


def _refresh_drafts_after_sync(sender, run_id, **kwargs):
    """Drafts follow the usage until approved: refresh them once a sync has finished."""
    from .tasks import refresh_open_drafts

    refresh_open_drafts.delay()


def _deliver_issued_document(sender, invoice_id, **kwargs):
    """After issue (after commit): render and store the PDF, then e-mail it. If the broker is
    down, `deliver_pending_documents` picks the document up later."""
    from .tasks import store_invoice_pdf

    store_invoice_pdf.delay(invoice_id)
