"""What each dashboard panel shows, gathered through the same clients the JSON API uses.

A panel whose source cannot answer (task-core or a connector down) shows that source's error
instead of its rows; the other panels still show theirs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from api_gateway.connections.client import ConnectorClient
from api_gateway.dashboard.values import holds
from api_gateway.tasks.client import TaskCoreClient
from tether_common.errors import DomainError
from tether_contracts.connections import ConnectionOut
from tether_contracts.operations import DeadLetterOut, LinkHealthOut, WebhookOut
from tether_contracts.sync import ConflictOut, FieldValue
from tether_contracts.tasks import TaskOut

T = TypeVar("T")

# A webhook this close to its expiry is shown as expiring (connectors renew well before).
EXPIRING_WITHIN = timedelta(days=7)
# Rows per panel: the newest; the JSON API and `tether` reach the rest.
ROWS = 50
# Tasks are looked up in one page; a task beyond it is named by its id.
TASK_PAGE = 200


@dataclass(frozen=True)
class Panel(Generic[T]):
    rows: list[T] = field(default_factory=list)
    error: str | None = None  # why the rows could not be read


async def panel(read: Callable[[], Awaitable[list[T]]]) -> Panel[T]:
    try:
        return Panel(await read())
    except DomainError as exc:
        return Panel(error=f"{exc.code}: {exc}")


@dataclass(frozen=True)
class ConnectionHealth:
    connection: ConnectionOut
    webhooks: list[WebhookOut]
    expiring: list[WebhookOut]  # expired, or expiring within EXPIRING_WITHIN

    @property
    def health(self) -> str:
        """``broken``, ``webhook expiring`` or ``ok``."""
        if self.connection.status == "broken":
            return "broken"
        return "webhook expiring" if self.expiring else "ok"


@dataclass(frozen=True)
class ConflictView:
    conflict: ConflictOut
    task: TaskOut | None  # None: not among the tasks read

    @property
    def title(self) -> str | None:
        return self.task.title if self.task else None

    @property
    def other_value(self) -> FieldValue:
        """The value the policy did not keep: what "choose the other value" writes."""
        c = self.conflict
        return c.provider_value if c.winning_value == c.core_value else c.core_value

    @property
    def chosen(self) -> bool:
        """Whether the task holds the other value now (chosen, or set since)."""
        return self.task is not None and holds(self.task, self.conflict.field, self.other_value)


@dataclass(frozen=True)
class LinkView:
    link: LinkHealthOut
    task: TaskOut | None

    @property
    def title(self) -> str | None:
        return self.task.title if self.task else None


async def connection_health(
    connectors: ConnectorClient, tenant_id: str, now: datetime
) -> list[ConnectionHealth]:
    connections = await connectors.connections(tenant_id)
    hooks = await connectors.webhooks(tenant_id)
    found = []
    for c in connections:
        mine = [h for h in hooks if h.connection_id == c.id]
        expiring = [h for h in mine if h.expires_at and h.expires_at - now < EXPIRING_WITHIN]
        found.append(ConnectionHealth(c, mine, expiring))
    return found


async def tasks(core: TaskCoreClient, tenant_id: str) -> dict[str, TaskOut]:
    """Task id -> task for the first page of the tenant's tasks; empty when task-core fails
    (rows are then named by task id)."""
    try:
        page = await core.list_tasks(tenant_id, limit=TASK_PAGE, cursor=None)
    except DomainError:
        return {}
    return {t.id: t for t in page.items}


async def links(
    connectors: ConnectorClient,
    tenant_id: str,
    known: dict[str, TaskOut],
    *,
    retrying_only: bool = False,
) -> list[LinkView]:
    """The newest :data:`ROWS` links by last sync; ``retrying_only``: of those whose failed
    work waits for a retry."""
    found = await connectors.links(tenant_id)
    if retrying_only:
        found = [v for v in found if v.state == "retrying"]
    found.sort(key=lambda v: v.last_sync, reverse=True)
    return [LinkView(v, known.get(v.task_id)) for v in found[:ROWS]]


async def conflicts(
    core: TaskCoreClient, tenant_id: str, known: dict[str, TaskOut], task_id: str | None = None
) -> list[ConflictView]:
    page = await core.list_conflicts(tenant_id, task_id=task_id, limit=ROWS, cursor=None)
    return [ConflictView(c, known.get(c.task_id)) for c in page.items]


async def dead_letters(connectors: ConnectorClient, tenant_id: str) -> list[DeadLetterOut]:
    found = await connectors.dead_letters(tenant_id)
    return sorted(found, key=lambda d: d.failed_at, reverse=True)[:ROWS]
