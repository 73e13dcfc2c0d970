"""The connector pipeline under a hostile schedule: the runtime's real code, two providers at
once, crashes and restarts, a bus that delivers late, twice, or after a crash.

Each schedule renews two connector rigs kept for the whole test (their databases emptied, new
pipelines built) on one event loop, over SQLite run on the loop's own thread
(:mod:`tether_connector_runtime.testing.inline_sqlite`): 2,000 schedules in a few minutes.

What is real: every connector step is the runtime's own pipeline function (``exports.export``,
``writes.on_task_changed``, ``observations.observe``, ``reconcile.reconcile_once``,
``retries.retry_due``, the outbox relay), wired by the app factory's ``_build_state`` over its
own SQLite file, one per provider ("trello" and "asana"), against an in-memory provider
(:class:`~tether_connector_runtime.testing.FakeProvider`). Task-core is played by a small core
here that uses the real merge engine (``tether_sync``: ``apply_core_edit``, ``delete_task``,
``merge_provider_change``), parks a change whose predecessor is missing, and re-sends a task
whose activation says its item reflects an older state.

What the schedule controls (hypothesis writes it): edits in core and by persons in the
providers, exports and deletions of several tasks; which consumer takes its next event, or
takes the last one again (at-least-once); when each connector's relay runs; webhooks delivered
in any order, twice, or dropped (polls repair them); provider calls failing with 503 (the link
is parked and retried on a manual clock); crashes at chosen points (after the provider applied
a create or an update, in a link-state write, in an outbox write, after the bus took an event
but before the outbox row went), each followed by a restart (a new pipeline over the same
database; the event is delivered again); and a write held inside the provider while its item is
observed, a retry's write held while the next task change for its link arrives, an item's read
held while it is observed again (the per-link turn). The bus is a durable log: consumers commit
an offset only after their handler returned.

Edit times, so that ``latest_wins`` has one right answer: persons edit titles only (when the
write path finds an edit first it knows only the item's last modification, so a person editing
two fields would make a title look as late as the other field). A webhook carries its edit's
time and the value it set, and may arrive after the title was edited again (the runtime must
then not date the newer value by the older edit); a poll names when each field got its current
value.

After the schedule the world is drained (faults cleared; relay, deliver, retry, deliver
webhooks, poll every linked item, until a round changes nothing) and checked:

- convergence: core, every item and every link's base and clock agree; a deleted task's items
  are archived (closed, never deleted); no provider change waits for a predecessor;
- duplicate items: exactly one item carries each export's marker;
- lost update: each field of a live task holds the value of its latest edit (edits are stamped
  with one clock, core's and the providers', so the latest is the one latest_wins must pick);
- atomicity: no two changes of a link are sent against one base (each commits with the base
  it moves);
- loop freedom: the drain ends; provider changes <= person edits + faults that fired (a crash or
  a lost answer may make one echo); writes to an item <= the task's edits made elsewhere +
  faults that fired.

It must fail for deliberate bugs (the tests at the end find a counterexample for each):
the echo check removed, core's field stamps ignored, the provider's edit time replaced by now,
a late notice's time trusted for a value edited since, the per-link turn removed, the link state saved before (not with) the publish, the outbox
bypassed (a change published straight to the bus inside the transaction, whatever becomes of
it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from sqlalchemy.ext.asyncio import AsyncSession

from tether_common.db import transaction
from tether_connector_runtime.pipeline import (
    RetrySchedule,
    announce,
    exports,
    observations,
    retries,
    writes,
)
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.pipeline.reconcile import reconcile_once
from tether_connector_runtime.port import ItemNotice, ProviderItem
from tether_connector_runtime.retry import ProviderError
from tether_connector_runtime.store.repository import StoredLink
from tether_connector_runtime.testing import (
    FakeProvider,
    Hold,
    ManualClock,
    PipelineRig,
    RecordingBus,
)
from tether_connector_runtime.turns import LinkTurns
from tether_events import (
    CloudEvent,
    ExportRequested,
    LinkChanged,
    ProviderItemChanged,
    TaskChanged,
    Topic,
    VectorClock,
    topic_name,
)
from tether_sync import (
    FIELD_NAMES,
    FieldName,
    FieldValue,
    Provider,
    TaskFields,
    inbound,
    merge,
)
from tether_sync.conflict import Conflict
from tether_sync.inbound import ProviderChange

SIM_EXAMPLES = int(os.environ.get("TETHER_SIM_EXAMPLES", "2000"))
MUTANT_EXAMPLES = 400
TENANT = "acme"
TASKS = ("task-1", "task-2")
PROVIDERS: tuple[Provider, ...] = ("trello", "asana")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAY0 = date(2025, 1, 1)
TASK_TOPIC = topic_name(Topic.TASK_CHANGED)
LINK_TOPIC = topic_name(Topic.LINK_EVENTS)
CHANGE_TOPIC = topic_name(Topic.PROVIDER_CHANGED)
# Consumer groups and what each reads: each connector reads task changes and link events
# (export requests), core reads provider changes and link events (activations).
CONSUMERS: tuple[tuple[str, str], ...] = (
    ("trello", TASK_TOPIC),
    ("trello", LINK_TOPIC),
    ("asana", TASK_TOPIC),
    ("asana", LINK_TOPIC),
    ("core", CHANGE_TOPIC),
    ("core", LINK_TOPIC),
)
CRASH_POINTS = ("create", "update", "save_state", "save_link", "outbox")
FAULT_KINDS = ("read", "update", "create")
DRAIN_ROUNDS = 12
DRAIN_DELIVERIES = 200
# Retries fall due on the manual clock; the limit is far away so a drained link never gives up.
RETRY = RetrySchedule(base=60.0, cap=600.0, limit=30 * 86_400.0)


# The bus of the schedule running now (only the "outbox bypassed" bug publishes to it directly).
_LIVE_LOG: list[Log] = []


class Crash(Exception):
    """The connector process dies here (raised at a chosen point, never caught by the runtime)."""


# Schedule steps ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoreEdit:
    task: str
    field: FieldName

    def __repr__(self) -> str:
        return f"core edits {self.task}.{self.field}"


@dataclass(frozen=True)
class CoreDelete:
    task: str

    def __repr__(self) -> str:
        return f"core deletes {self.task}"


@dataclass(frozen=True)
class Export:
    task: str
    provider: Provider

    def __repr__(self) -> str:
        return f"export {self.task} to {self.provider}"


@dataclass(frozen=True)
class PersonEdit:
    provider: Provider
    task: str

    def __repr__(self) -> str:
        return f"person edits {self.task}'s {self.provider} item"


@dataclass(frozen=True)
class Tussle:
    """A person renames task-1's item, someone renames the task in core, the person renames
    the item again, one after the other: the first rename's webhook may arrive last."""

    provider: Provider

    def __repr__(self) -> str:
        return f"person, core, person rename task-1 ({self.provider})"


def _dies(crash: str | None) -> str:
    return f" (dies at {crash})" if crash else ""


@dataclass(frozen=True)
class Deliver:
    consumer: int
    crash: str | None = None

    def __repr__(self) -> str:
        who, topic = CONSUMERS[self.consumer]
        return f"deliver {topic.split('.')[1]} to {who}{_dies(self.crash)}"


@dataclass(frozen=True)
class Redeliver:
    consumer: int

    def __repr__(self) -> str:
        who, topic = CONSUMERS[self.consumer]
        return f"redeliver last {topic.split('.')[1]} to {who}"


@dataclass(frozen=True)
class Relay:
    provider: Provider
    crash: bool = False

    def __repr__(self) -> str:
        return f"relay {self.provider}{' (crash after 1st publish)' if self.crash else ''}"


@dataclass(frozen=True)
class Webhook:
    provider: Provider
    index: int
    drop: bool = False
    crash: str | None = None

    def __repr__(self) -> str:
        verb = "drop" if self.drop else "deliver"
        return f"{verb} {self.provider} webhook {self.index}{_dies(self.crash)}"


@dataclass(frozen=True)
class Poll:
    provider: Provider
    crash: str | None = None

    def __repr__(self) -> str:
        return f"poll {self.provider}{_dies(self.crash)}"


@dataclass(frozen=True)
class Fail:
    provider: Provider
    kind: str

    def __repr__(self) -> str:
        return f"next {self.provider} {self.kind} is a 503"


@dataclass(frozen=True)
class Retry:
    provider: Provider

    def __repr__(self) -> str:
        return f"{self.provider} retries due links"


@dataclass(frozen=True)
class Outage:
    provider: Provider

    def __repr__(self) -> str:
        return f"deliver task-changed to {self.provider} while its board answers 503"


@dataclass(frozen=True)
class Interleave:
    """Two things the connector does at once for one link, the first held inside a provider
    call: ``write`` (a task change's update) while its items are polled; ``retry`` (the
    retrier's update) while the next task change arrives; ``look`` (a poll's read) while the
    items are polled again (a webhook and reconciliation)."""

    provider: Provider
    mode: str = "write"

    def __repr__(self) -> str:
        held = {"write": "a task change's update", "retry": "a retry's update"}
        meanwhile = {"write": "its items are polled", "retry": "the next task change arrives"}
        if self.mode == "look":
            return f"{self.provider}: a poll's read held while the items are polled again"
        return f"{self.provider}: {held[self.mode]} held while {meanwhile[self.mode]}"


Step = (
    CoreEdit
    | CoreDelete
    | Export
    | PersonEdit
    | Tussle
    | Deliver
    | Redeliver
    | Relay
    | Webhook
    | Poll
    | Fail
    | Outage
    | Retry
    | Interleave
)


# The bus: a durable log ------------------------------------------------------------------------
class Log(RecordingBus):
    """Every topic's events in order (what each consumer reads by offset); ``crash_next``: the
    next publish takes the event and then the relay's process dies."""

    def __init__(self) -> None:
        super().__init__()
        self.topics: dict[str, list[CloudEvent[Any]]] = {t: [] for _, t in CONSUMERS}
        self.crash_next = False
        self.crashes = 0

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        await super().publish(topic, event, key)
        self.topics.setdefault(topic, []).append(event)
        if self.crash_next:
            self.crash_next = False
            self.crashes += 1
            raise Crash("after the bus took the event, before its outbox row was deleted")


# Core ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EditRecord:
    task: str
    field: FieldName
    value: FieldValue
    at: datetime
    site: str


@dataclass
class CoreLink:
    link_id: str
    task_id: str
    provider: Provider
    status: str = "pending"


class Core:
    """Task-core's part: tasks under the real merge engine, links, and their events."""

    def __init__(self, log: Log, now: Callable[[], datetime]) -> None:
        self.log = log
        self.now = now
        self.tasks: dict[str, merge.CoreTask] = {}
        self.versions: dict[str, int] = {}
        self.links: dict[str, CoreLink] = {}
        self.waiting: list[ProviderItemChanged] = []
        self.conflicts: list[Conflict] = []

    async def create(self, task_id: str, fields: TaskFields) -> None:
        self.tasks[task_id] = merge.CoreTask.create(task_id, fields, at=T0)
        self.versions[task_id] = 1
        await self.publish(task_id)

    def changed(self, task_id: str) -> TaskChanged:
        task = self.tasks[task_id]
        return TaskChanged(
            task_id=task_id,
            tenant_id=TENANT,
            version=self.versions[task_id],
            title=task.fields.title,
            description=task.fields.description,
            due_date=task.fields.due_date,
            completed=task.fields.completed,
            deleted=task.deleted,
            clock=task.clock,
            origin="core",
            updated_at=self.now(),
        )

    async def publish(self, task_id: str) -> None:
        await self.log.publish(
            TASK_TOPIC,
            self.changed(task_id).envelope(source="/core", subject=task_id, tenant_id=TENANT),
        )

    async def accept(self, task_id: str, task: merge.CoreTask) -> None:
        self.tasks[task_id] = task
        self.versions[task_id] += 1
        await self.publish(task_id)

    async def edit(self, task_id: str, name: FieldName, value: FieldValue) -> None:
        task = self.tasks[task_id]
        await self.accept(task_id, merge.apply_core_edit(task, {name: value}, at=self.now()))

    async def delete(self, task_id: str) -> None:
        await self.accept(task_id, merge.delete_task(self.tasks[task_id]))

    async def export(self, task_id: str, provider: Provider, connection_id: str) -> str:
        link_id = f"link-{task_id}-{provider}"
        self.links[link_id] = CoreLink(link_id, task_id, provider)
        request = ExportRequested(
            link_id=link_id,
            task_id=task_id,
            tenant_id=TENANT,
            provider=provider,
            connection_id=connection_id,
            target={"container_id": f"{provider}-board"},
            task=self.changed(task_id),
        )
        await self.log.publish(
            LINK_TOPIC, request.envelope(source="/core", subject=task_id, tenant_id=TENANT)
        )
        return link_id

    async def on_change(self, event: ProviderItemChanged) -> None:
        link = self.links.get(event.link_id)
        task = self.tasks[event.task_id]
        if link is None or task.deleted:
            return
        if event.deleted:
            link.status = "unlinked"
            return
        change = ProviderChange.model_validate(
            {
                "task_id": event.task_id,
                "link_id": event.link_id,
                "replica": event.replica,
                "base_clock": event.base_clock,
                "base_values": event.base_values,
                "new_values": event.new_values,
                "edited_at": event.edited_at,
                "field_edited_at": event.field_edited_at,
            }
        )
        outcome = merge.merge_provider_change(task, change, now=self.now())
        if outcome.status is merge.MergeStatus.NOT_READY:
            self.waiting.append(event)  # until its predecessor is merged
        elif outcome.status is merge.MergeStatus.APPLIED:
            self.conflicts.extend(outcome.conflicts)
            await self.accept(event.task_id, outcome.task)
            waiting, self.waiting = self.waiting, []
            for parked in waiting:
                await self.on_change(parked)

    async def on_link(self, event: LinkChanged) -> None:
        link = self.links.get(event.link_id)
        if link is None:
            return
        if event.status == "active":
            link.status = "active"
            task = self.tasks[link.task_id]
            if event.synced_clock is not None and not task.clock.dominated_by(event.synced_clock):
                await self.publish(link.task_id)  # an edit made while the item was created
        elif event.status != "retrying":
            link.status = event.status


# One connector --------------------------------------------------------------------------------
@dataclass
class Side:
    provider: Provider
    fake: FakeProvider
    rig: PipelineRig
    connection_id: str = ""
    webhooks: list[ItemNotice] = field(default_factory=list)
    armed: set[str] = field(default_factory=set)
    crashes: int = 0
    # The outbox may hold rows (written since the last relay that finished): the drain relays
    # only then (a relay is a transaction; draining calls for one per delivery otherwise).
    unrelayed: bool = False

    @property
    def p(self) -> Pipeline:
        return self.rig.pipeline

    def install(self) -> None:
        """Crash points on the pipeline's own store and outbox (again after each restart)."""
        p = self.p
        p.repo.save_state = self._crashing("save_state", p.repo.save_state)  # type: ignore[method-assign]
        p.repo.save_link = self._crashing("save_link", p.repo.save_link)  # type: ignore[method-assign]
        p.outbox.add = self._crashing("outbox", self._noting(p.outbox.add))  # type: ignore[method-assign]

    def _noting(self, add: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def noted(*args: Any, **kwargs: Any) -> None:
            self.unrelayed = True
            await add(*args, **kwargs)

        return noted

    def _crashing(
        self, point: str, real: Callable[..., Awaitable[None]]
    ) -> Callable[..., Coroutine[Any, Any, None]]:
        async def maybe_crash(*args: Any, **kwargs: Any) -> None:
            if point in self.armed:
                self.armed.discard(point)
                self.crashes += 1
                raise Crash(point)
            await real(*args, **kwargs)

        return maybe_crash

    def restart(self) -> None:
        self.rig.restart()
        self.install()

    @contextlib.contextmanager
    def crashing(self, point: str | None) -> Iterator[None]:
        """The process dies at ``point`` (a provider call once it took effect, a link-state
        write, an outbox write) if the step reaches it."""
        fault = None
        if point in ("create", "update"):

            def crash() -> Exception:
                return Crash(f"after the provider applied the {point}")

            # Counted by the fake among the faults that fired.
            fault = self.fake.fail_next(point, after_effect=True, error=crash)  # type: ignore[arg-type]
        elif point is not None:
            self.armed.add(point)
        try:
            yield
        finally:
            self.armed.clear()
            if fault is not None:
                self.fake.withdraw(fault)

    async def run(self, work: Callable[[], Awaitable[Any]]) -> bool:
        """Run a pipeline step; False when the process crashed (it is restarted)."""
        try:
            await work()
        except Crash:
            self.restart()
            return False
        return True


# The world -------------------------------------------------------------------------------------
class World:
    def __init__(self, log: Log, core: Core, sides: dict[Provider, Side], clock: ManualClock):
        self.log = log
        self.core = core
        self.sides = sides
        self.clock = clock
        self.offsets = [0] * len(CONSUMERS)
        self.edits: list[EditRecord] = []
        self.trace: list[str] = []

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
            if not self.core.tasks[step.task].deleted:
                await self.core.delete(step.task)
        elif isinstance(step, Export):
            link_id = f"link-{step.task}-{step.provider}"
            if link_id not in self.core.links and not self.core.tasks[step.task].deleted:
                await self.core.export(
                    step.task, step.provider, self.sides[step.provider].connection_id
                )
        elif isinstance(step, PersonEdit):
            self.person_edit(step.provider, step.task)
        elif isinstance(step, Tussle):
            self.person_edit(step.provider, "task-1")
            self.tick()
            await self.core_edit("task-1", "title")
            self.tick()
            self.person_edit(step.provider, "task-1")
        elif isinstance(step, Deliver):
            who = CONSUMERS[step.consumer][0]
            if who == "core":
                await self.deliver(step.consumer)
            else:
                with self.sides[who].crashing(step.crash):  # type: ignore[index]
                    await self.deliver(step.consumer)
        elif isinstance(step, Redeliver):
            if self.offsets[step.consumer] > 0:
                who, topic = CONSUMERS[step.consumer]
                await self.handle(who, self.log.topics[topic][self.offsets[step.consumer] - 1])
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
            await self.interleave_retry(step.provider)
        elif step.mode == "look":
            await self.interleave_look(step.provider)
        else:
            await self.interleave(step.provider)

    async def core_edit(self, task_id: str, name: FieldName) -> None:
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
        if name == "due_date":
            return DAY0 + timedelta(days=n)
        return not current

    def person_edit(self, provider: Provider, task_id: str) -> None:
        side = self.sides[provider]
        items = [i for i in side.fake.items_marked(f"link-{task_id}-{provider}") if not i.closed]
        if not items or self.core.tasks[task_id].deleted:
            return
        value = self.fresh("title", None)
        notice = side.fake.edit(items[0].external_id, title=value)
        self.edits.append(
            EditRecord(task_id, "title", value, notice.field_edited_at["title"], provider)
        )
        side.webhooks.append(notice)

    async def deliver(self, consumer: int) -> bool:
        """The consumer's next event; its offset moves only once the handler returned."""
        who, topic = CONSUMERS[consumer]
        events = self.log.topics[topic]
        offset = self.offsets[consumer]
        if offset >= len(events):
            return False
        if await self.handle(who, events[offset]):
            self.offsets[consumer] = offset + 1
        return True

    async def handle(self, who: str, event: CloudEvent[Any]) -> bool:
        data = event.data
        if who == "core":
            if isinstance(data, ProviderItemChanged):
                await self.core.on_change(data)
            elif isinstance(data, LinkChanged):
                await self.core.on_link(data)
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
            notice = ItemNotice(link.external_id)
            # A 503 while reading: the next poll sees the item.
            with contextlib.suppress(ProviderError):
                await side.run(partial(observations.observe, side.p, notice))

    async def interleave(self, provider: Provider) -> None:
        """The provider's task changes are delivered until one makes a provider update; that
        update is held once it took effect, before the link's new base is saved, while every
        linked item of that provider is observed."""
        side = self.sides[provider]
        consumer = CONSUMERS.index((provider, TASK_TOPIC))
        held = side.fake.hold("update", when="after")
        try:
            for _ in range(len(self.log.topics[TASK_TOPIC])):
                if not await self._deliver_until(consumer, held):
                    return  # nothing left to deliver
                if held.reached.is_set():
                    return
        finally:
            side.fake.cancel(held)

    async def interleave_retry(self, provider: Provider) -> None:
        """The retrier's update of a parked link is held once it took effect while the
        provider's next task change is delivered (the retrier runs beside the consumers)."""
        side = self.sides[provider]
        held = side.fake.hold("update", when="after")
        self.clock.advance(30 * 60)
        retrying = asyncio.create_task(side.run(lambda: retries.retry_due(side.p)))
        try:
            await until(lambda: held.reached.is_set() or retrying.done())
            if held.reached.is_set():
                turns = side.p.turns
                delivering = asyncio.create_task(
                    self.deliver(CONSUMERS.index((provider, TASK_TOPIC)))
                )
                await until(lambda: delivering.done() or _someone_waits(turns))
                held.release()
                await delivering
            await retrying
        finally:
            side.fake.cancel(held)

    async def interleave_look(self, provider: Provider) -> None:
        """A poll's read of an item is held once answered while the items are polled again."""
        side = self.sides[provider]
        held = side.fake.hold("read", when="after")
        looking = asyncio.create_task(self.poll_items(side))
        try:
            await until(lambda: held.reached.is_set() or looking.done())
            if held.reached.is_set():
                turns = side.p.turns
                again = asyncio.create_task(self.poll_items(side))
                await until(lambda: again.done() or _someone_waits(turns))
                held.release()
                await again
            await looking
        finally:
            side.fake.cancel(held)

    async def _deliver_until(self, consumer: int, held: Hold) -> bool:
        """Deliver the consumer's next event; if it reaches the hold, observe meanwhile."""
        if self.offsets[consumer] >= len(self.log.topics[CONSUMERS[consumer][1]]):
            return False
        side = self.sides[CONSUMERS[consumer][0]]  # type: ignore[index]
        writing = asyncio.create_task(self.deliver(consumer))
        await until(lambda: held.reached.is_set() or writing.done())
        if held.reached.is_set():
            turns = side.p.turns
            looking = asyncio.create_task(self.poll_items(side))
            await until(lambda: looking.done() or _someone_waits(turns))
            held.release()
            await looking
        await writing
        return True

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
        self.log.crash_next = False
        for _ in range(DRAIN_ROUNDS):
            before = self.activity()
            for _ in range(DRAIN_DELIVERIES):
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
                await self.poll_items(side)
                await self.relay(provider)
            if self.activity() == before:
                return
        raise AssertionError("loop freedom: the pipeline never quiesces")


def _someone_waits(turns: LinkTurns) -> bool:
    return any(t.holders >= 2 for t in turns._turns.values())


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    """Let the other tasks run until ``condition`` (the database answers from a thread; the
    deadline only guards against a hang)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("simulation stuck")
        await asyncio.sleep(0)


# Checks ----------------------------------------------------------------------------------------
async def check(world: World) -> None:
    _check_atomicity(world)
    core = world.core
    assert not core.waiting, "convergence: provider changes still wait for predecessors"
    for side in world.sides.values():
        assert await side.rig.outbox_rows() == [], "convergence: events left in an outbox"
    for link in core.links.values():
        side = world.sides[link.provider]
        task = core.tasks[link.task_id]
        items = side.fake.items_marked(link.link_id)
        assert len(items) <= 1, f"duplicate items: {len(items)} for {link.link_id}"
        assert items, f"convergence: {link.link_id} has no item"
        (item,) = items
        stored = await _stored(side, link.link_id)
        if task.deleted:
            assert item.closed, f"convergence: {link.link_id}'s item of a deleted task is open"
            assert stored.status == "archived", f"convergence: {link.link_id} is {stored.status}"
            continue
        assert (link.status, stored.status) == ("active", "active"), (
            f"convergence: {link.link_id} is {link.status} in core, {stored.status} here"
        )
        assert stored.state is not None
        assert item.fields == task.fields, f"convergence: {link.link_id}'s item differs"
        assert stored.state.synced_fields == task.fields, f"convergence: {link.link_id} base"
        assert stored.state.synced_clock == task.clock, f"convergence: {link.link_id} clock"
    for task_id, task in core.tasks.items():
        if task.deleted:
            continue
        for name in FIELD_NAMES:
            edits = [e for e in world.edits if e.task == task_id and e.field == name]
            latest = max(edits, key=lambda e: e.at)
            assert task.fields.value(name) == latest.value, (
                f"lost update: {task_id}.{name} is {task.fields.value(name)!r}, its latest "
                f"edit ({latest.site} at {latest.at:%H:%M:%S}) {latest.value!r}"
            )
    _check_loop_freedom(world)


def _check_atomicity(world: World) -> None:
    # A change commits with the base it moves (one outbox transaction), so each published change
    # of a link is one more event of its replica: two events with one clock are one change
    # sent twice against one base (a relay's retry resends the same event id, which is fine).
    sent: dict[tuple[str, VectorClock], str] = {}
    for event in world.log.topics[CHANGE_TOPIC]:
        change = event.data
        if not isinstance(change, ProviderItemChanged) or change.deleted:
            continue
        first = sent.setdefault(
            (change.link_id, change.base_clock.increment(change.replica)), event.id
        )
        assert first == event.id, (
            f"atomicity: {change.link_id} sent two changes against one base "
            f"{change.base_clock.to_dict()}"
        )


async def _stored(side: Side, link_id: str) -> StoredLink:
    return await side.rig.link(link_id)


def _check_loop_freedom(world: World) -> None:
    fired = world.faults_fired
    person = [e for e in world.edits if e.site != "core"]
    changes = {
        e.id
        for e in world.log.topics[CHANGE_TOPIC]
        if isinstance(e.data, ProviderItemChanged) and not e.data.deleted
    }
    assert len(changes) <= len(person) + fired, (
        f"loop freedom: {len(changes)} provider changes for {len(person)} person edits "
        f"and {fired} faults"
    )
    for provider, side in world.sides.items():
        for link in (x for x in world.core.links.values() if x.provider == provider):
            elsewhere = [
                e
                for e in world.edits
                if e.task == link.task_id and e.site != provider and e.at > T0
            ]
            for item in side.fake.items_marked(link.link_id):
                writes_to = [u for u in side.fake.updates if u.external_id == item.external_id]
                assert len(writes_to) <= len(elsewhere) + fired, (
                    f"loop freedom: {len(writes_to)} writes to {link.link_id}'s item for "
                    f"{len(elsewhere)} edits elsewhere and {fired} faults"
                )


# Running a schedule ----------------------------------------------------------------------------
@dataclass
class Bench:
    """One event loop and one connector rig per provider for every schedule of a test: each
    schedule renews the rigs (empties their databases, builds new pipelines) instead of
    migrating new databases."""

    runner: asyncio.Runner
    rigs: dict[Provider, PipelineRig]


@asynccontextmanager
async def world_of(bench: Bench) -> AsyncIterator[World]:
    log = Log()
    _LIVE_LOG[:] = [log]
    clock = ManualClock(T0)
    core = Core(log, lambda: clock.now)
    sides: dict[Provider, Side] = {}
    for provider, rig in bench.rigs.items():
        fake = FakeProvider(provider)
        fake.add_container(f"{provider}-board")
        fake.now = clock.now
        await rig.renew(fake, log, clock)
        side = Side(provider, fake, rig)
        side.install()
        side.connection_id = await rig.connect(TENANT, f"token-{provider}")
        sides[provider] = side
    world = World(log, core, sides, clock)
    for task_id in TASKS:
        initial = TaskFields(title=f"t-{task_id}", description="", due_date=None)
        await core.create(task_id, initial)
        # Creation is every field's first edit.
        for name in FIELD_NAMES:
            world.edits.append(EditRecord(task_id, name, initial.value(name), T0, "core"))
    yield world


# Every schedule starts with task-1 exported to both providers (the items exist, core knows the
# links are active); task-2's exports, if any, race with everything else.
PRELUDE: tuple[Step, ...] = (
    Export("task-1", "trello"),
    Export("task-1", "asana"),
    Deliver(CONSUMERS.index(("trello", LINK_TOPIC))),
    *[Deliver(CONSUMERS.index(("asana", LINK_TOPIC)))] * 2,  # the first is trello's
    Relay("trello"),
    Relay("asana"),
    *[Deliver(CONSUMERS.index(("core", LINK_TOPIC)))] * 4,
    # The connectors take the tasks' first states (nothing to write): what follows is news.
    *[Deliver(CONSUMERS.index(("trello", TASK_TOPIC)))] * 2,
    *[Deliver(CONSUMERS.index(("asana", TASK_TOPIC)))] * 2,
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


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    """A migrated database and a connector rig per provider, renewed for each schedule."""
    with asyncio.Runner() as runner:
        rigs: dict[Provider, PipelineRig] = {}
        for provider in PROVIDERS:
            rig = PipelineRig(
                FakeProvider(provider),
                f"sqlite+aiosqlite:///{tmp_path / provider}.db",
                retry=RETRY,
                clock=ManualClock(T0),
                deletion_burst_threshold=1000,
                bus=Log(),
                inline_sqlite=True,
            )
            runner.run(rig.start())
            rigs[provider] = rig
        try:
            yield Bench(runner, rigs)
        finally:
            for rig in rigs.values():
                runner.run(rig.close())


# Strategies ------------------------------------------------------------------------------------
_task = st.sampled_from(TASKS)
_provider = st.sampled_from(PROVIDERS)
_consumer = st.integers(0, len(CONSUMERS) - 1)
_index = st.integers(0, 5)
_crash = st.sampled_from((None, *CRASH_POINTS))
# Actions lean on task-1 (exported to both providers from the start) and on titles (the field
# both core and persons edit): that is where edits meet.
_action = st.one_of(
    st.builds(CoreEdit, st.just("task-1"), st.just("title")),
    st.builds(PersonEdit, _provider, st.just("task-1")),
    st.builds(CoreEdit, _task, st.sampled_from(FIELD_NAMES)),
    st.builds(PersonEdit, _provider, _task),
    st.builds(Export, st.just("task-2"), _provider),
    st.builds(CoreDelete, st.sampled_from(("task-2", "task-2", "task-1"))),
    st.builds(Tussle, _provider),
)
# Deliveries are listed more than once to weigh them: most of the interest is in the order
# events meet their consumers.
_noise = st.one_of(
    st.builds(Deliver, _consumer, _crash),
    st.builds(Deliver, _consumer, _crash),
    st.builds(Deliver, _consumer),
    st.builds(Relay, _provider),
    st.builds(Relay, _provider),
    st.builds(Webhook, _provider, _index, st.just(False), _crash),
    st.builds(Webhook, _provider, _index, st.just(False), _crash),
    st.builds(Poll, _provider, _crash),
    # A webhook whose handling dies as it commits what it saw: what the outbox is for.
    st.builds(
        Webhook, _provider, _index, st.just(False), st.sampled_from(("save_state", "outbox"))
    ),
    st.builds(Relay, _provider, st.just(True)),
    st.builds(Redeliver, _consumer),
    st.builds(Webhook, _provider, _index, st.just(True)),
    st.builds(Fail, _provider, st.sampled_from(FAULT_KINDS)),
    st.builds(Retry, _provider),
    st.builds(Interleave, _provider, st.sampled_from(("write", "retry", "look"))),
    st.builds(Outage, _provider),
    st.builds(Interleave, _provider, st.just("look")),
)


def _burst(action: Step, noise: list[Step]) -> list[Step]:
    return [action, *noise]


def _flatten(bursts: list[list[Step]]) -> list[Step]:
    return [step for burst in bursts for step in burst]


# 2 to 6 bursts: an action (an edit, an export, a deletion), then what the world does next.
schedules = st.lists(
    st.builds(_burst, _action, st.lists(_noise, max_size=6)), min_size=2, max_size=6
).map(_flatten)


# A hang guard, not a speed goal: a schedule takes about a tenth of a second.
@pytest.mark.timeout(max(300, SIM_EXAMPLES * 3))
def test_any_schedule_converges_once_without_duplicates_loops_or_lost_updates(
    bench: Bench,
) -> None:
    @settings(
        max_examples=SIM_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(schedules)
    def property_holds(schedule: list[Step]) -> None:
        run(bench, schedule)

    property_holds()


# The simulation must be able to fail: deliberate bugs in the pipeline and the engine ---------
_real_decide_inbound = inbound.decide_inbound
_real_resolve = merge._resolve


def _never_an_echo(link: Any, observed: Any) -> bool:
    return False


def _resolve_without_stamps(
    task: merge.CoreTask, change: ProviderChange, name: FieldName, *args: Any
) -> Any:
    # Core's side of every conflict looks as old as the task.
    stamps = {n: s.model_copy(update={"edited_at": T0}) for n, s in task.stamps.items()}
    return _real_resolve(task.model_copy(update={"stamps": stamps}), change, name, *args)


def _decide_inbound_at_now(link: Any, observed: Any, **kwargs: Any) -> Any:
    return _real_decide_inbound(link, observed, edited_at=datetime.now(UTC), field_edited_at={})


def _every_stated_time(notice: ItemNotice, item: Any) -> dict[FieldName, datetime]:
    return dict(notice.field_edited_at)


@asynccontextmanager
async def _no_turn(self: LinkTurns, link_id: str) -> AsyncIterator[None]:
    yield


_real_publish_news = observations.publish_news
_real_provider_changed = announce.provider_changed


async def _publish_after_saving(
    p: Pipeline,
    session: AsyncSession,
    link: StoredLink,
    connection: Any,
    item: ProviderItem,
    field_edited_at: Mapping[FieldName, datetime],
) -> bool:
    # The real decision, but the new base commits on its own, before the change is written to
    # the outbox (in the caller's transaction).
    held: list[ProviderChange] = []

    async def hold_back(pipeline: Pipeline, _: AsyncSession, __: StoredLink, change: Any) -> None:
        held.append(change)

    announce.provider_changed = hold_back  # type: ignore[assignment]
    try:
        async with transaction(p.sessions) as own:
            published = await _real_publish_news(p, own, link, connection, item, field_edited_at)
    finally:
        announce.provider_changed = _real_provider_changed
    for change in held:
        await _real_provider_changed(p, session, link, change)
    return published


async def _publish_straight_to_the_bus(
    pipeline: Pipeline, session: AsyncSession, link: StoredLink, event: ProviderItemChanged
) -> None:
    # Published inside the transaction, whatever becomes of it.
    await _LIVE_LOG[-1].publish(
        topic_name(Topic.PROVIDER_CHANGED, pipeline.namespace),
        event.envelope(source=pipeline.source, subject=link.task_id, tenant_id=link.tenant_id),
    )


# (the bug, what replaces what, the property that catches it)
MUTANTS: list[tuple[str, list[tuple[Any, str, Any]], str]] = [
    ("echo check removed", [(inbound, "is_echo", _never_an_echo)], "loop freedom"),
    ("core stamps ignored", [(merge, "_resolve", _resolve_without_stamps)], "lost update"),
    (
        "provider edit time is now",
        [(observations, "decide_inbound", _decide_inbound_at_now)],
        "lost update",
    ),
    (
        "a late notice dates the newer value",
        [(ItemNotice, "times_still_true", _every_stated_time)],
        "lost update",
    ),
    ("per-link turn removed", [(LinkTurns, "turn", _no_turn)], "atomicity"),
    (
        "state saved before the publish",
        [
            (observations, "publish_news", _publish_after_saving),
            (writes, "publish_news", _publish_after_saving),
            (exports, "publish_news", _publish_after_saving),
        ],
        "convergence",
    ),
    (
        "outbox bypassed",
        [(announce, "_provider_event", _publish_straight_to_the_bus)],
        "atomicity",
    ),
]


def _find_failure(bench: Bench, category: str) -> list[Step]:
    def fails_so(schedule: list[Step]) -> bool:
        failure = failure_of(bench, schedule)
        return failure is not None and failure.startswith(category)

    # derandomize: a bug is caught by the same schedules on every run, never by luck. No
    # shrinking: each schedule costs real database work; the first counterexample is printed.
    found: list[Step] = find(
        schedules,
        fails_so,
        settings=settings(
            max_examples=MUTANT_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
    return found


@pytest.mark.parametrize(
    ("patches", "category"),
    [pytest.param(patches, category, id=label) for label, patches, category in MUTANTS],
)
def test_simulation_catches_a_broken_pipeline(
    bench: Bench,
    monkeypatch: pytest.MonkeyPatch,
    patches: list[tuple[Any, str, Any]],
    category: str,
) -> None:
    for owner, name, mutant in patches:
        monkeypatch.setattr(owner, name, mutant)
    try:
        counterexample = _find_failure(bench, category)
    except NoSuchExample:
        pytest.fail(f"no schedule exposes the bug (expected a {category} failure)")
    print(f"counterexample: {counterexample}")
