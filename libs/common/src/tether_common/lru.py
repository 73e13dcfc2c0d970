"""A bounded least-recently-used cache of hot lookups, with hit, miss and size metrics.

``cachetools.LRUCache`` keeps the order and the bound; this adds the counting every cache of
ours reports under one name: ``tether_cache_hits_total{cache}``,
``tether_cache_misses_total{cache}`` and ``tether_cache_entries{cache}``. The size gauge is
moved by each change of an instance, so several instances of one cache (one per site, say)
add up.

What goes in is only what the events that change it can take out again (``forget``): a
cached answer that outlives the truth must cost a retry, never a lost or misrouted write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from cachetools import LRUCache
from prometheus_client import Counter, Gauge

CACHE_HITS = Counter("tether_cache_hits_total", "Lookups a cache answered", ["cache"])
CACHE_MISSES = Counter(
    "tether_cache_misses_total",
    "Lookups a cache could not answer (the source was asked)",
    ["cache"],
)
CACHE_ENTRIES = Gauge("tether_cache_entries", "Entries a cache holds now", ["cache"])

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most ``size`` entries; adding one more drops the least recently used."""

    def __init__(self, name: str, size: int) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.name = name
        self._entries: LRUCache[K, V] = LRUCache(maxsize=size)

    def get(self, key: K) -> V | None:
        """The entry (now the most recently used), counted as a hit; None, counted as a
        miss, when there is none."""
        found: V | None = self._entries.get(key)
        (CACHE_HITS if found is not None else CACHE_MISSES).labels(self.name).inc()
        return found

    def peek(self, key: K) -> V | None:
        """The entry (now the most recently used) without counting a lookup: for a caller
        whose lookup is answered, or not, by what it finds inside the entry (see
        :meth:`record`)."""
        found: V | None = self._entries.get(key)
        return found

    def record(self, *, hit: bool) -> None:
        """Count one lookup the caller judged from :meth:`peek`."""
        (CACHE_HITS if hit else CACHE_MISSES).labels(self.name).inc()

    def put(self, key: K, value: V) -> None:
        before = len(self._entries)
        self._entries[key] = value
        self._moved(before)

    def forget(self, key: K) -> None:
        """Drop ``key``'s entry: what it said is no longer true."""
        before = len(self._entries)
        self._entries.pop(key, None)
        self._moved(before)

    def forget_where(self, match: Callable[[K], bool]) -> int:
        """Drop every entry whose key ``match`` accepts (a scan of the keys: for rare events);
        returns how many were dropped."""
        before = len(self._entries)
        for key in [k for k in self._entries if match(k)]:
            self._entries.pop(key, None)
        self._moved(before)
        return before - len(self._entries)

    def _moved(self, before: int) -> None:
        CACHE_ENTRIES.labels(self.name).inc(len(self._entries) - before)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
