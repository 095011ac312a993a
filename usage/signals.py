"""Signals the usage app sends; other apps listen without usage importing them."""

from django.dispatch import Signal

# Sent after a sync run closes (after commit), with `run_id`.
usage_synced = Signal()
