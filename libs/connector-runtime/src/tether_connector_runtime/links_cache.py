"""Which links each task has at this connector, kept for the task changes that ask.

Every TaskChanged reaches every connector, and most tasks are linked at one provider or none:
without a cache each event costs each connector a lookup, mostly to learn there is nothing to
write. The answer is kept per task with the ``links_version`` of the event that asked
(task-core raises that count with every export and every link news of the task, in the same
transaction, and every TaskChanged carries it), and is used again only for events naming the
same count. No invalidation message has to reach every replica before the next event: the
event itself says whether the cached answer can still hold.

Why the same count suffices: a link is only made or revived here by an export, which raises
the count before it is requested. An event published between the export and the link's
activation may still be answered "no link" (the lookup ran before the link was made), and is
dropped, as it would be without the cache (a link not yet active has no base to write
against); task-core then finds the new item behind the task when the activation comes, and
sends the task again with the count the activation raised, which asks afresh. A link that
went away since the answer costs nothing: each link is read again in its turn, and one no
longer live is skipped there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tether_common.lru import BoundedCache

CACHE_NAME = "links_of_task"


@dataclass(frozen=True)
class TaskLinks:
    """The ids of a task's links (those task changes go to) as of ``links_version``."""

    links_version: int
    link_ids: tuple[str, ...]


Lookup = Callable[[str], Awaitable[tuple[str, ...]]]


class LinksOfTask:
    """At most ``size`` tasks' links (least recently used dropped first), counted as
    ``tether_cache_hits_total{cache="links_of_task"}`` and ``..._misses_total``."""

    def __init__(self, size: int) -> None:
        self._cache: BoundedCache[str, TaskLinks] = BoundedCache(CACHE_NAME, size)

    async def of(self, task_id: str, links_version: int | None, lookup: Lookup) -> tuple[str, ...]:
        """The ids of ``task_id``'s links: cached when the event's ``links_version`` is the
        one the answer was looked up for, else from ``lookup`` (then kept, unless an answer
        for a later count is already kept). An event without a count (an older publisher)
        always looks up and leaves the cache alone."""
        if links_version is None:
            return await lookup(task_id)
        kept = self._cache.peek(task_id)
        hit = kept is not None and kept.links_version == links_version
        self._cache.record(hit=hit)
        if kept is not None and hit:
            return kept.link_ids
        link_ids = await lookup(task_id)
        # An older event (redelivered, or resent late) must not replace a later answer.
        latest = self._cache.peek(task_id)
        if latest is None or latest.links_version <= links_version:
            self._cache.put(task_id, TaskLinks(links_version, link_ids))
        return link_ids

    def __len__(self) -> int:
        return len(self._cache)
