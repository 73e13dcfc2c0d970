"""Task-core's part in the simulation: tasks under the real merge engine (``tether_sync``),
links, and the events core publishes; a provider change whose predecessor is missing waits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tether_connector_runtime.testing.simulation.constants import LINK_TOPIC, T0, TASK_TOPIC, TENANT
from tether_connector_runtime.testing.simulation.log import Log
from tether_events import ExportRequested, LinkChanged, ProviderItemChanged, TaskChanged
from tether_sync import FieldName, FieldValue, Provider, TaskFields, due_parts, merge
from tether_sync.conflict import Conflict
from tether_sync.inbound import ProviderChange


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
            due_date=due_parts(task.fields.due)[0],
            due_at=due_parts(task.fields.due)[1],
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
