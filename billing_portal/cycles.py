"""Pausing CPython's cycle collector around work that makes many objects and keeps them alive
until it returns (an invoice generation, a PDF render).

Left running, the collector walks those objects again and again while they are still in use,
promotes them to the old generations, and later walks the process's whole heap to free them.
Process-wide, as the collector is: a pause someone else started is left alone.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collector_paused(*, collect_young_after: bool = False) -> Iterator[None]:
    """Pause the collector for the block. `collect_young_after`: free the block's own
    reference cycles right after it with one young-generation pass (they were never
    promoted, so it walks nothing older)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        if collect_young_after:
            gc.collect(0)
