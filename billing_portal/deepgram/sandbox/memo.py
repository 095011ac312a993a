"""A bounded memo of each key's day of lines, for speed only (every answer is the same
without it): the several answers a sync asks about the same days (usage and billing, grouped
and ungrouped) compute a project's lines once instead of once each.

An entry holds for one key (as it is: a deletion makes a new key), day, today and version of
the corrections; any correction makes a new version, so nothing stale is ever answered. The
least recently used entries go first beyond `size` (about 2 kB each).
"""

import threading
from collections import OrderedDict
from datetime import date

from .state import Corrections, Key
from .synthetic import Line, day_lines

DEFAULT_SIZE = 100_000


class DayLinesMemo:
    def __init__(self, size: int = DEFAULT_SIZE):
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[Key, list[Line]]] = OrderedDict()

    def lines(self, key: Key, day: date, corrections: Corrections, today: date) -> list[Line]:
        # By the key object's identity (hashing a Key hashes every field, for every key of
        # every answer); the entry holds the key, so its id names no other key while it lives.
        token = (id(key), day, today, corrections.version)
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None and entry[0] is key:
                self._entries.move_to_end(token)
                return entry[1]
        found = day_lines(key, day, corrections, today)
        with self._lock:
            self._entries[token] = (key, found)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
