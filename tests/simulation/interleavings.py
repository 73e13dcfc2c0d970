"""Two things the connector does at once for one link, the first held inside a provider call
until the second waits for the link's turn (or is done): no timing involved."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.simulation.constants import CONSUMERS, TASK_TOPIC
from tether_connector_runtime.pipeline import retries
from tether_connector_runtime.testing import Hold
from tether_connector_runtime.turns import LinkTurns
from tether_sync import Provider

if TYPE_CHECKING:
    from tests.simulation.world import World


async def interleave_write(world: World, provider: Provider) -> None:
    """The provider's task changes are delivered until one makes a provider update; that
    update is held once it took effect, before the link's new base is saved, while every
    linked item of that provider is observed."""
    side = world.sides[provider]
    consumer = CONSUMERS.index((provider, TASK_TOPIC))
    held = side.fake.hold("update", when="after")
    try:
        for _ in range(await world.log.pending(provider, TASK_TOPIC)):
            if not await _deliver_until(world, consumer, held):
                return  # nothing left to deliver
            if held.reached.is_set():
                return
    finally:
        side.fake.cancel(held)


async def interleave_retry(world: World, provider: Provider) -> None:
    """The retrier's update of a parked link is held once it took effect while the
    provider's next task change is delivered (the retrier runs beside the consumers)."""
    side = world.sides[provider]
    held = side.fake.hold("update", when="after")
    world.clock.advance(30 * 60)
    retrying = asyncio.create_task(side.run(lambda: retries.retry_due(side.p)))
    try:
        await until(lambda: held.reached.is_set() or retrying.done())
        if held.reached.is_set():
            turns = side.p.turns
            delivering = asyncio.create_task(world.deliver(CONSUMERS.index((provider, TASK_TOPIC))))
            await until(lambda: delivering.done() or _someone_waits(turns))
            held.release()
            await delivering
        await retrying
    finally:
        side.fake.cancel(held)


async def interleave_look(world: World, provider: Provider) -> None:
    """A poll's read of an item is held once answered while the items are polled again."""
    side = world.sides[provider]
    held = side.fake.hold("read", when="after")
    looking = asyncio.create_task(world.poll_items(side))
    try:
        await until(lambda: held.reached.is_set() or looking.done())
        if held.reached.is_set():
            turns = side.p.turns
            again = asyncio.create_task(world.poll_items(side))
            await until(lambda: again.done() or _someone_waits(turns))
            held.release()
            await again
        await looking
    finally:
        side.fake.cancel(held)


async def _deliver_until(world: World, consumer: int, held: Hold) -> bool:
    """Deliver the consumer's next event; if it reaches the hold, observe meanwhile."""
    who, topic = CONSUMERS[consumer]
    if await world.log.next_for(who, topic) is None:
        return False
    side = world.sides[CONSUMERS[consumer][0]]  # type: ignore[index]
    writing = asyncio.create_task(world.deliver(consumer))
    await until(lambda: held.reached.is_set() or writing.done())
    if held.reached.is_set():
        turns = side.p.turns
        looking = asyncio.create_task(world.poll_items(side))
        await until(lambda: looking.done() or _someone_waits(turns))
        held.release()
        await looking
    await writing
    return True


def _someone_waits(turns: LinkTurns) -> bool:
    return any(t.holders >= 2 for t in turns._turns.values())


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    """Let the other tasks run until ``condition`` (each database statement yields to the
    loop once; the deadline only guards against a hang)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("simulation stuck")
        await asyncio.sleep(0)
