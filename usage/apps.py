from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage"

    def ready(self):
        from .signals import usage_synced

        usage_synced.connect(_sum_costs_after_sync, dispatch_uid="usage-sum-month-costs")

        from django.db.models.signals import post_save

        from customers.models import ApiKey

        from .receivers import key_sync_state_for_new_key

        post_save.connect(
            key_sync_state_for_new_key, sender=ApiKey, dispatch_uid="usage-key-sync-state"
        )


def _sum_costs_after_sync(sender, run_id, **kwargs):
    """Once a sync's rows have settled, the worker brings the kept monthly cost sums up to
    date, so that the Margin page's next view sums nothing again (`usage.month_costs`)."""
    from .month_costs import SETTLE
    from .tasks import usage_sum_month_costs

    usage_sum_month_costs.apply_async(countdown=SETTLE.total_seconds() + 60)
