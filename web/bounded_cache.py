"""A bounded cache for what a portal computes once and shares between its requests.

The dashboard's figures (web/dashboard.py) and the 通报 previews (web/report_preview.py) each keep
the few values used last: a portal runs for months, so what it keeps must not grow with the keys it
has seen (every change of the data, every file written, makes a new one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most `size` values by key; keeping one more lets go of the one used longest ago (LRU).

    One computation at a time: a request for a value being computed waits for it instead of
    computing it again (a province's figure or 通报 takes seconds). The lock is re-entrant, as a
    value's `compute` may ask the same cache for another (a dashboard page asks for its headline).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a bounded cache keeps at least one value, not {size}")
        self.size = size
        self._kept: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value kept under `key`, or `compute()`'s, kept from now on."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
            found = compute()
            self._kept[key] = found
            if len(self._kept) > self.size:
                self._kept.popitem(last=False)
            return found
