"""Where export targets point, kept per connection (placements_cache.py): one lookup for many
exports to one place, and a cached answer the provider contradicts (a place moved to another
container, a place gone, an attempt after a crash) never misroutes or duplicates an item."""

from __future__ import annotations

import pytest

from tether_common.db import transaction
from tether_common.lru import CACHE_HITS, CACHE_MISSES
from tether_connector_runtime.pipeline import exports, retries
from tether_connector_runtime.pipeline.history import cursor_key
from tether_connector_runtime.placements_cache import CACHE_NAME
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_connector_runtime.testing.scenarios import BOARD, TO_DO_LIST, export_request
from tether_connector_runtime.testing.scenarios import task_state as state

OTHER = "board-2"


@pytest.fixture
def fake() -> FakeProvider:
    provider = FakeProvider("trello", writes_unread=True)
    provider.add_container(BOARD)
    provider.add_container(OTHER)
    return provider


def counted() -> tuple[float, float]:
    return (
        CACHE_HITS.labels(CACHE_NAME)._value.get(),
        CACHE_MISSES.labels(CACHE_NAME)._value.get(),
    )


async def _export(rig: PipelineRig, connection_id: str, n: int) -> str | None:
    """Export task-n to the to-do list as link-n; its link's container when active."""
    task = state(1, {"core": 1}, task_id=f"task-{n}")
    await exports.export(rig.pipeline, export_request(connection_id, task, link_id=f"link-{n}"))
    link = await rig.link(f"link-{n}")
    return link.container_id if link.status == "active" else None


async def test_exports_to_one_place_ask_the_provider_where_it_is_once(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    hits, misses = counted()
    for n in (1, 2, 3):
        assert await _export(rig, connection_id, n) == BOARD
    assert fake.calls["resolve"] == 1
    assert counted() == (hits + 2, misses + 1)
    assert len(rig.pipeline.placements) == 1


async def test_another_connection_asks_for_itself(rig: PipelineRig, fake: FakeProvider) -> None:
    first = await rig.connect("acme", "tok-a")
    second = await rig.connect("acme", "tok-b")
    assert await _export(rig, first, 1) == BOARD
    assert await _export(rig, second, 2) == BOARD
    assert fake.calls["resolve"] == 2, "what one account may see says nothing of another's"


async def test_a_place_moved_to_another_container_is_followed_there(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    assert await _export(rig, connection_id, 1) == BOARD
    fake.move_place(TO_DO_LIST, OTHER)  # a person moves the list to another board

    assert await _export(rig, connection_id, 2) == OTHER, "where the item was made"
    async with transaction(rig.pipeline.sessions) as session:
        cursor = await rig.pipeline.repo.cursor(session, cursor_key(connection_id, OTHER))
    assert cursor is not None, "its history is read where it is"
    assert len(rig.pipeline.placements) == 0, "the stale answer dropped"

    assert await _export(rig, connection_id, 3) == OTHER
    assert fake.calls["resolve"] == 2, "asked again once"


async def test_a_place_gone_is_asked_for_again(rig: PipelineRig, fake: FakeProvider) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    assert await _export(rig, connection_id, 1) == BOARD
    fake.containers[BOARD].remove(TO_DO_LIST)  # the list is gone

    assert await _export(rig, connection_id, 2) is None
    assert (await rig.link("link-2")).status == "failed"
    fake.containers[BOARD].insert(0, TO_DO_LIST)  # and back (say, restored)
    assert await _export(rig, connection_id, 3) == BOARD
    assert fake.calls["resolve"] == 2


async def test_an_attempt_after_a_lost_answer_looks_where_the_place_is_now(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    """The item the failed attempt made is looked for in the place's container: the answer
    cached from before the place moved would miss it there and a second item be made."""
    connection_id = await rig.connect("acme", "tok-a")
    assert await _export(rig, connection_id, 1) == BOARD
    fake.fail_next("create", after_effect=True)  # made, but the answer is a 503
    assert await _export(rig, connection_id, 2) is None
    fake.move_place(TO_DO_LIST, OTHER)  # the list moves, with the item made

    rig.clock.advance(rig.pipeline.retry.base)
    assert await retries.retry_due(rig.pipeline) == 1

    assert (await rig.link("link-2")).container_id == OTHER
    assert fake.creates == 2, "the failed attempt's item adopted, not made again"
    assert len(fake.items_marked("link-2")) == 1
