"""The links of each task, cached for task changes (links_cache.py): answered from memory
only for events naming the links_version the answer was looked up for."""

from __future__ import annotations

import pytest

from tether_common.lru import CACHE_HITS, CACHE_MISSES
from tether_connector_runtime.links_cache import CACHE_NAME, LinksOfTask
from tether_connector_runtime.pipeline import removals, writes
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_connector_runtime.testing.scenarios import exported
from tether_connector_runtime.testing.scenarios import task_state as state


class Lookups:
    """A lookup that answers ``answer`` and counts the calls."""

    def __init__(self, *answer: str) -> None:
        self.answer = tuple(answer)
        self.calls = 0

    async def __call__(self, task_id: str) -> tuple[str, ...]:
        self.calls += 1
        return self.answer


def counted() -> tuple[float, float]:
    hits = CACHE_HITS.labels(CACHE_NAME)._value.get()
    misses = CACHE_MISSES.labels(CACHE_NAME)._value.get()
    return hits, misses


async def test_an_answer_holds_for_the_same_count_only() -> None:
    cache = LinksOfTask(10)
    lookup = Lookups("link-1")
    hits, misses = counted()
    assert await cache.of("task-1", 3, lookup) == ("link-1",)
    assert await cache.of("task-1", 3, lookup) == ("link-1",)
    assert lookup.calls == 1
    lookup.answer = ("link-1", "link-2")
    assert await cache.of("task-1", 4, lookup) == ("link-1", "link-2"), "a new count asks"
    assert lookup.calls == 2
    assert counted() == (hits + 1, misses + 2)


async def test_an_older_event_does_not_replace_a_later_answer() -> None:
    cache = LinksOfTask(10)
    assert await cache.of("task-1", 5, Lookups("link-1")) == ("link-1",)
    stale = Lookups()  # looked up for count 4 (say, a redelivery) when nothing was linked
    assert await cache.of("task-1", 4, stale) == ()
    later = Lookups("other")
    assert await cache.of("task-1", 5, later) == ("link-1",)
    assert later.calls == 0


async def test_an_event_without_a_count_always_looks_up_and_keeps_nothing() -> None:
    cache = LinksOfTask(10)
    lookup = Lookups("link-1")
    await cache.of("task-1", None, lookup)
    await cache.of("task-1", None, lookup)
    assert lookup.calls == 2
    assert len(cache) == 0


async def test_the_least_recently_used_task_is_dropped_past_the_bound() -> None:
    cache = LinksOfTask(2)
    lookup = Lookups()
    for task_id in ("task-1", "task-2", "task-1", "task-3"):
        await cache.of(task_id, 1, lookup)
    assert len(cache) == 2
    calls = lookup.calls
    await cache.of("task-1", 1, lookup)
    assert lookup.calls == calls, "task-1 was used recently: kept"
    await cache.of("task-2", 1, lookup)
    assert lookup.calls == calls + 1, "task-2 was the least recently used: dropped"


def test_a_cache_holds_a_task_at_least() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LinksOfTask(0)


# On the pipeline -------------------------------------------------------------------------------
async def test_a_task_not_linked_here_costs_one_lookup_per_count(
    rig: PipelineRig, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rig.pipeline.repo.links_of_task
    asked: list[str] = []

    async def counting(session: object, task_id: str) -> object:
        asked.append(task_id)
        return await real(session, task_id)  # type: ignore[arg-type]

    monkeypatch.setattr(rig.pipeline.repo, "links_of_task", counting)
    for version in (1, 2, 3):
        await writes.on_task_changed(
            rig.pipeline, state(version, {"core": version}, task_id="task-9", links_version=0)
        )
    assert asked == ["task-9"]

    # Exported meanwhile (the export raised the count): the next change asks and is written.
    item_id = await exported(rig, state(3, {"core": 3}, task_id="task-9", links_version=1))
    changed = state(4, {"core": 4}, task_id="task-9", title="v4", links_version=2)
    await writes.on_task_changed(rig.pipeline, changed)
    assert asked == ["task-9", "task-9"]
    assert fake.items[item_id].fields.title == "v4"


async def test_a_cached_link_that_went_away_is_skipped(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}, links_version=1))
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2", links_version=1))
    assert fake.items[item_id].fields.title == "v2"
    link = await rig.link("link-1")
    await removals.unlink(rig.pipeline, link)  # its item deleted, say
    updates = fake.update_count

    # The same count: the cached answer names the link, which is read and skipped.
    await writes.on_task_changed(rig.pipeline, state(3, {"core": 3}, title="v3", links_version=1))
    assert fake.update_count == updates
    assert (await rig.link("link-1")).status == "unlinked"
