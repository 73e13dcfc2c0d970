"""Where each export target points, kept for the next export to the same place.

An export first asks the provider where its target is (``ProviderSession.resolve``): Trello's
list -> its board (``GET /1/lists/{id}``), Asana's section -> its project, Jira's project and
issue type checked against ``createmeta`` (paged). People export many tasks to the same
place, so the answer is kept per connection and target, which saves that call (or those
pages) on every export after the first.

The facts behind an answer can change at the provider (a Trello list moved to another board,
an Asana section deleted, an issue type taken out of a Jira project), and the provider tells
only the replica its webhook reaches, if any. So nothing here waits to be told: a cached
answer is used only where a stale one cannot misroute anything, and each use checks it.

- The item is created where the target says (the list, the section, the project and type
  themselves), never in a container taken from the answer; the link takes its container from
  the created item (the provider's own answer), and when that differs from the cached one the
  entry is dropped (:meth:`Placements.check`) and the item's container is watched.
- A provider that refuses the create for good (the place is gone, the type not offered)
  drops the entry (:meth:`Placements.forget`): the next attempt asks again.
- An attempt that may follow a crashed one always asks afresh (``fresh``): it looks for the
  item that attempt made in the answer's container, which must be the true one.
- Where the provider says a place moved (a Trello list to another board, heard by the
  replica its webhook or its history reaches: ``pipeline/place_moves.py``), answers naming
  it are dropped (:meth:`Placements.forget_place`).
"""

from __future__ import annotations

from collections.abc import Mapping

from tether_common.lru import BoundedCache
from tether_connector_runtime.port import Placement, ProviderItem, ProviderSession

CACHE_NAME = "placements"

# Targets a pipeline keeps unless told otherwise (settings: placements_cache_size).
PLACEMENTS_CACHED = 1_000

Key = tuple[str, tuple[tuple[str, str], ...]]


def _key(connection_id: str, target: Mapping[str, str]) -> Key:
    return connection_id, tuple(sorted(target.items()))


class Placements:
    """At most ``size`` (connection, target) answers, least recently used dropped first,
    counted as ``tether_cache_hits_total{cache="placements"}`` and ``..._misses_total``."""

    def __init__(self, size: int = PLACEMENTS_CACHED) -> None:
        self._cache: BoundedCache[Key, Placement] = BoundedCache(CACHE_NAME, size)

    async def resolve(
        self,
        connection_id: str,
        target: Mapping[str, str],
        provider: ProviderSession,
        *,
        fresh: bool = False,
    ) -> Placement:
        """Where ``target`` points for the connection: the kept answer, or the provider's
        (``ProviderSession.resolve``: its errors pass), then kept. ``fresh``: always the
        provider's (the kept answer replaced)."""
        key = _key(connection_id, target)
        if not fresh:
            kept = self._cache.get(key)
            if kept is not None:
                return kept
        placement = await provider.resolve(target)
        self._cache.put(key, placement)
        return placement

    def check(
        self,
        connection_id: str,
        target: Mapping[str, str],
        placement: Placement,
        item: ProviderItem,
    ) -> bool:
        """Whether ``item``, created (or found) for ``target``, is in the container
        ``placement`` named; if not, the answer was stale and is dropped."""
        if item.container_id == placement.container_id:
            return True
        self.forget(connection_id, target)
        return False

    def forget(self, connection_id: str, target: Mapping[str, str]) -> None:
        """Drop the answer for ``target``: the provider refused what it said."""
        self._cache.forget(_key(connection_id, target))

    def forget_place(self, place_id: str) -> int:
        """Drop every answer for a target naming ``place_id`` (the provider said it moved);
        returns how many."""
        return self._cache.forget_where(lambda key: place_id in dict(key[1]).values())

    def __len__(self) -> int:
        return len(self._cache)
