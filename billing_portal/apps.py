from django.apps import AppConfig


class BillingPortalConfig(AppConfig):
    name = "billing_portal"
    verbose_name = "Billing portal"

    def ready(self):
        from . import bulk  # noqa: F401 - registers the `ids_in` lookup before any query uses it
