"""The world a schedule runs in: core, the connectors, the bus and its consumers' offsets, one
clock; a step at a time, then drained until a round changes nothing (quiescence)."""

from __future__ import annotations

import collections
import contextlib
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any

from tests.simulation.constants import (
    CONSUMERS,
    DAY0,
    DRAIN_DELIVERIES,
    DRAIN_ROUNDS,
    PROVIDERS,
    TASK_TOPIC,
)
from tests.simulation.core import Core, EditRecord
from tests.simulation.interleavings import (
    interleave_look,
    interleave_retry,
    interleave_write,
)
from tests.simulation.log import Log
from tests.simulation.side import Side
from tests.simulation.steps import (
    CoreCrash,
    CoreDelete,
    CoreEdit,
    Deliver,
    Export,
    Fail,
    Outage,
    PersonEdit,
    Poll,
    Redeliver,
    Relay,
    Retry,
    Step,
    Tussle,
    Webhook,
)
from tether_common.db import transaction
from tether_connector_runtime.pipeline import exports, observations, retries, writes
from tether_connector_runtime.pipeline.reconcile import reconcile_once
from tether_connector_runtime.port import ItemNotice
from tether_connector_runtime.retry import ProviderError
from tether_connector_runtime.testing import ManualClock
from tether_events import CloudEvent, ExportRequested, LinkChanged, ProviderItemChanged, TaskChanged
from tether_sync import FieldName, FieldValue, Provider


class World:
    def __init__(self, log: Log, core: Core, sides: dict[Provider, Side], clock: ManualClock):
        self.log = log
        self.core = core
        self.sides = sides
        self.clock = clock
        self.edits: list[EditRecord] = []
        self.trace: list[str] = []
        # Per link, person's edits an unread write overwrote and their notice brought back
        # (bench.py counts them): each may cost the item one more write, the edit restored.
        self.recovered: collections.Counter[str] = collections.Counter()

    def now(self) -> datetime:
        return self.clock.now

    def tick(self) -> None:
        # A minute per step; a provider's own clock moves a second per effect within it, so
        # every edit is stamped later than every edit of an earlier step, on every side.
        self.clock.advance(60)
        for side in self.sides.values():
            side.fake.now = max(side.fake.now, self.clock.now)

    @property
    def faults_fired(self) -> int:
        return self.log.crashes + sum(s.crashes + s.fake.faults_fired for s in self.sides.values())

    # Steps -------------------------------------------------------------------------------------
    async def step(self, step: Step) -> None:
        self.tick()
        self.trace.append(repr(step))
        if isinstance(step, CoreEdit):
            await self.core_edit(step.task, step.field)
        elif isinstance(step, CoreDelete):
            await self.core.mirror()
            if not self.core.tasks[step.task].deleted:
                await self.core.delete(step.task)
        elif isinstance(step, Export):
            await self.core.mirror()
            exported = self.core.link_of(step.task, step.provider) is not None
            if not exported and not self.core.tasks[step.task].deleted:
                await self.core.export(
                    step.task, step.provider, self.sides[step.provider].connection_id
                )
        elif isinstance(step, PersonEdit):
            await self.person_edit(step.provider, step.task)
        elif isinstance(step, Tussle):
            await self.person_edit(step.provider, "task-1")
            self.tick()
            await self.core_edit("task-1", "title")
            self.tick()
            await self.person_edit(step.provider, "task-1")
        elif isinstance(step, Deliver):
            who = CONSUMERS[step.consumer][0]
            if who == "core":
                await self.deliver(step.consumer)
            else:
                with self.sides[who].crashing(step.crash):  # type: ignore[index]
                    await self.deliver(step.consumer)
        elif isinstance(step, Redeliver):
            who, topic = CONSUMERS[step.consumer]
            last = await self.log.last_taken(who, topic)
            if last is not None:
                await self.handle(who, last)
        elif isinstance(step, CoreCrash):
            self.core.crash_relay = True
        elif isinstance(step, Relay):
            await self.relay(step.provider, crash=step.crash)
        elif isinstance(step, Webhook):
            with self.sides[step.provider].crashing(step.crash):
                await self.webhook(step.provider, step.index, drop=step.drop)
        elif isinstance(step, Poll):
            side = self.sides[step.provider]
            with side.crashing(step.crash):
                await side.run(lambda: reconcile_once(side.p))
        elif isinstance(step, Fail):
            self.sides[step.provider].fake.fail_next(step.kind)  # type: ignore[arg-type]
        elif isinstance(step, Outage):
            fake = self.sides[step.provider].fake
            fake.fail_container(f"{step.provider}-board")
            await self.deliver(CONSUMERS.index((step.provider, TASK_TOPIC)))
            fake.heal_container(f"{step.provider}-board")
        elif isinstance(step, Retry):
            await self.retry(step.provider)
        elif step.mode == "retry":
            await interleave_retry(self, step.provider)
        elif step.mode == "look":
            await interleave_look(self, step.provider)
        else:
            await interleave_write(self, step.provider)

    async def core_edit(self, task_id: str, name: FieldName) -> None:
        await self.core.mirror()
        task = self.core.tasks[task_id]
        if task.deleted:
            return
        value = self.fresh(name, task.fields.value(name))
        self.edits.append(EditRecord(task_id, name, value, self.now(), "core"))
        await self.core.edit(task_id, name, value)

    def fresh(self, name: FieldName, current: FieldValue) -> FieldValue:
        n = len(self.edits) + 1
        if name == "title":
            return f"t{n}"
        if name == "description":
            return f"d{n}"
        if name == "due":
            # Both kinds of due, a date and an instant, each fresh.
            day = DAY0 + timedelta(days=n)
            return day if n % 2 else datetime.combine(day, time(n % 24), tzinfo=UTC)
        return not current

    async def person_edit(self, provider: Provider, task_id: str) -> None:
        await self.core.mirror()
        side = self.sides[provider]
        link_id = self.core.link_of(task_id, provider)
        items = [i for i in side.fake.items_marked(link_id) if not i.closed] if link_id else []
        if not items or self.core.tasks[task_id].deleted:
            return
        value = self.fresh("title", None)
        notice = side.fake.edit(items[0].external_id, title=value)
        # When the edit happened, as the provider knows it (a compact notice does not say).
        at = items[0].field_edited_at["title"]
        self.edits.append(EditRecord(task_id, "title", value, at, provider))
        side.webhooks.append(notice)

    async def deliver(self, consumer: int) -> bool:
        """The consumer's next event; its group commits only once the handler returned. False
        when there was none, or core could not merge it yet (it stays next: nothing behind it
        is delivered meanwhile, as on a partition)."""
        who, topic = CONSUMERS[consumer]
        taken = await self.log.next_for(who, topic)
        if taken is None:
            return False
        offset, event = taken
        if await self.handle(who, event):
            await self.log.commit(who, topic, offset + 1)
        return who != "core" or self.core.not_ready is None

    async def handle(self, who: str, event: CloudEvent[Any]) -> bool:
        data = event.data
        if who == "core":
            if isinstance(data, ProviderItemChanged):
                return await self.core.on_change(event)
            if isinstance(data, LinkChanged):
                return await self.core.on_link(event)
            return True
        side = self.sides[who]  # type: ignore[index]
        p = side.p
        if isinstance(data, TaskChanged):
            return await side.run(lambda: writes.on_task_changed(p, data))
        if isinstance(data, ExportRequested) and data.provider == who:
            return await side.run(lambda: exports.export(p, data))
        return True

    async def relay(self, provider: Provider, *, crash: bool = False) -> None:
        side = self.sides[provider]
        self.log.crash_next = crash
        if await side.run(side.rig.relay):
            side.unrelayed = False
        self.log.crash_next = False

    async def webhook(self, provider: Provider, index: int, *, drop: bool) -> None:
        side = self.sides[provider]
        if not side.webhooks:
            return
        pending = side.webhooks[index % len(side.webhooks)]
        if drop:
            side.webhooks.remove(pending)
            return
        # The notice as the edit made it (when, and what it set), however late it comes.
        try:
            delivered = await side.run(lambda: observations.observe(side.p, pending))
        except ProviderError:
            delivered = False  # the intake answers 503; the provider delivers it again
        if delivered:
            side.webhooks.remove(pending)

    async def retry(self, provider: Provider) -> None:
        self.clock.advance(30 * 60)
        side = self.sides[provider]
        await side.run(lambda: retries.retry_due(side.p))

    async def poll_items(self, side: Side) -> None:
        """Observe every linked item (as a reconciliation with no history would)."""
        async with transaction(side.p.sessions) as session:
            links = await side.p.repo.active_links(session)
        for link in links:
            assert link.external_id is not None
            notice = ItemNotice(link.external_id, history_lost=True)
            # A 503 while reading: the next poll sees the item.
            with contextlib.suppress(ProviderError):
                await side.run(partial(observations.observe, side.p, notice))

    # Quiescence --------------------------------------------------------------------------------
    def activity(self) -> tuple[int, int]:
        effects = sum(
            s.fake.creates + s.fake.update_count + s.fake.archives for s in self.sides.values()
        )
        return len(self.log.published), effects

    async def quiesce(self) -> None:
        for side in self.sides.values():
            side.armed.clear()
            side.fake.clear_faults()
        self.log.crash_next = self.core.crash_relay = False
        for _ in range(DRAIN_ROUNDS):
            before = self.activity()
            for _ in range(DRAIN_DELIVERIES):
                if self.core.unrelayed:
                    await self.core.relay()
                for provider in PROVIDERS:
                    if self.sides[provider].unrelayed:
                        await self.relay(provider)
                moved = [await self.deliver(c) for c in range(len(CONSUMERS))]
                if not any(moved):
                    break
            else:
                raise AssertionError("loop freedom: the bus never empties")
            for provider in PROVIDERS:
                await self.retry(provider)
                side = self.sides[provider]
                for notice in list(side.webhooks):
                    await self.webhook(provider, side.webhooks.index(notice), drop=False)
                if side.fake.writes_unread:
                    # Its items hold our write, not an edit it overwrote: the repair of a
                    # dropped webhook is reconciliation's, from the container's history.
                    await side.run(partial(reconcile_once, side.p))
                await self.poll_items(side)
                await self.relay(provider)
            if self.activity() == before:
                return
        raise AssertionError("loop freedom: the pipeline never quiesces")
