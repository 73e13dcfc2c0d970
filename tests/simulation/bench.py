"""Running a schedule: the bench (one event loop, task-core's database and a connector rig per
provider, kept for a whole test), the world each schedule starts from, the prelude every
schedule begins with, and :func:`simulate` (steps, drain, checks; a failure carries the
schedule's trace)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from tests.simulation.checks import check
from tests.simulation.constants import (
    CONSUMERS,
    LINK_TOPIC,
    PROVIDERS,
    T0,
    TASK_TOPIC,
    TASKS,
    TENANT,
)
from tests.simulation.core import Core, CoreDatabase, EditRecord, seeded_ids
from tests.simulation.log import Log
from tests.simulation.side import Side
from tests.simulation.steps import Deliver, Export, Relay, Step
from tests.simulation.world import World
from tether_connector_runtime.pipeline import observations
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.testing import FakeProvider, ManualClock, PipelineRig
from tether_sync import FIELD_NAMES, Provider, TaskFields

# The bus of the schedule running now (only the "outbox bypassed" bug publishes to it directly).
_LIVE_LOG: list[Log] = []


@dataclass
class Bench:
    """One event loop, task-core's database and one connector rig per provider for every
    schedule of a test: each schedule empties the databases and builds new services and
    pipelines over them, instead of migrating new databases."""

    runner: asyncio.Runner
    core: CoreDatabase
    rigs: dict[Provider, PipelineRig]


@asynccontextmanager
async def world_of(bench: Bench) -> AsyncIterator[World]:
    log = Log()
    _LIVE_LOG[:] = [log]
    clock = ManualClock(T0)
    await bench.core.renew()
    with seeded_ids():
        core = Core(bench.core, log, lambda: clock.now)
        sides: dict[Provider, Side] = {}
        for provider, rig in bench.rigs.items():
            # One Trello-like provider (notices name each field's edit time and value, as
            # Trello's actions do, so its items are written unread), and Asana- and Jira-like
            # ones (compact notices naming only the item, as their webhooks and polls do).
            trello = provider == "trello"
            fake = FakeProvider(provider, compact_notices=not trello, writes_unread=trello)
            fake.add_container(f"{provider}-board")
            fake.now = clock.now
            await rig.renew(fake, log, clock)
            side = Side(provider, fake, rig)
            side.install()
            side.connection_id = await rig.connect(TENANT, f"token-{provider}")
            sides[provider] = side
        world = World(log, core, sides, clock)
        for task_id in TASKS:
            initial = TaskFields(title=f"t-{task_id}", description="", due=None)
            await core.create(task_id, initial)
            # Creation is every field's first edit.
            for name in FIELD_NAMES:
                world.edits.append(EditRecord(task_id, name, initial.value(name), T0, "core"))
        real = observations.recover_overwritten

        async def counted(p: Pipeline, session: Any, link_id: str, *args: Any) -> bool:
            recovered = await real(p, session, link_id, *args)
            world.recovered[link_id] += recovered
            return recovered

        observations.recover_overwritten = counted  # type: ignore[assignment]
        try:
            yield world
        finally:
            observations.recover_overwritten = real
            await log.close()


# Every schedule starts with task-1 exported to every provider (the items exist, core knows the
# links are active); task-2's exports, if any, race with everything else.
PRELUDE: tuple[Step, ...] = (
    *[Export("task-1", provider) for provider in PROVIDERS],
    # Each connector reads the export requests in order: its own is after the ones before it.
    *[
        Deliver(CONSUMERS.index((provider, LINK_TOPIC)))
        for n, provider in enumerate(PROVIDERS)
        for _ in range(n + 1)
    ],
    *[Relay(provider) for provider in PROVIDERS],
    # Core reads every export request and every activation.
    *[Deliver(CONSUMERS.index(("core", LINK_TOPIC)))] * (2 * len(PROVIDERS)),
    # The connectors take the tasks' first states (nothing to write): what follows is news.
    *[Deliver(CONSUMERS.index((provider, TASK_TOPIC))) for provider in PROVIDERS for _ in TASKS],
)


async def simulate(bench: Bench, steps: Sequence[Step]) -> World:
    async with world_of(bench) as world:
        try:
            for step in (*PRELUDE, *steps):
                await world.step(step)
            world.trace.append("-- drain --")
            await world.quiesce()
            await check(world)
        except AssertionError as failure:
            trace = "\n".join(world.trace)
            raise AssertionError(f"{failure}\nschedule:\n{trace}") from None
        return world


def run(bench: Bench, steps: Sequence[Step]) -> None:
    bench.runner.run(simulate(bench, steps))


def failure_of(bench: Bench, steps: Sequence[Step]) -> str | None:
    try:
        run(bench, steps)
    except AssertionError as failure:
        return str(failure)
    return None
