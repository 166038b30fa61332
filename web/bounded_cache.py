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

    One computation per key at a time: the requests that miss a value together (a worker's first
    dashboards after a change) wait for the one computing it, not compute it again (a province's
    figure or 通报 takes seconds), while values already kept, or other keys, are served meanwhile
    (one lock for all made every hit wait behind a cold dashboard's half second). A key's lock is
    re-entrant and the cache's own lock is never held while computing, as a value's `compute` may
    ask the same cache for another (a dashboard page asks for its headline).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a bounded cache keeps at least one value, not {size}")
        self.size = size
        self._kept: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()  # held only to read or change `_kept` and `_computing`
        self._computing: dict[K, threading.RLock] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value kept under `key`, or `compute()`'s, kept from now on."""
        with self._lock:
            if key in self._kept:
                return self._hit(key)
            computing = self._computing.setdefault(key, threading.RLock())
        with computing:
            with self._lock:
                if key in self._kept:  # computed while this request waited
                    return self._hit(key)
            try:
                found = compute()
                with self._lock:
                    self._kept[key] = found
                    while len(self._kept) > self.size:
                        self._kept.popitem(last=False)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            return found

    def _hit(self, key: K) -> V:
        self._kept.move_to_end(key)
        return self._kept[key]
