"""What the usage app does when another app's rows change (connected in `UsageConfig.ready`).

Rules:
- A new key (provisioned, imported by reconcile, made by rotation) has its sync status row at
  once, never synced, so that it shows in key sync status before the first sync reads it. The
  sync makes the rows it misses too (`sync_window`), so both insert with ignore_conflicts: the
  one that comes second changes nothing. Fixtures being loaded (`raw`) are left alone.
"""

from .models import KeySyncState


def key_sync_state_for_new_key(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        KeySyncState.objects.bulk_create(
            [KeySyncState(api_key_id=instance.pk)], ignore_conflicts=True
        )
