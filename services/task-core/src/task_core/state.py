"""What the lifespan builds and hands to request handlers: no module globals."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from task_core.config import TaskCoreSettings
from task_core.links import LinkService
from task_core.outbox import Outbox
from task_core.relay import OutboxRelay
from task_core.service import TaskService
from tether_common.read_replica import ReadRouting
from tether_events import EventBus

STATE_KEY = "task_core"


@dataclass(frozen=True, slots=True)
class TaskCoreState:
    settings: TaskCoreSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    outbox: Outbox
    tasks: TaskService
    links: LinkService
    relay: OutboxRelay
    relay_task: asyncio.Task[None]
    reads: ReadRouting  # where reads go: the read replica, when configured and caught up


def get_state(request: Request) -> TaskCoreState:
    # The lifespan yields the state (servers copy it into each request's scope) and also puts it
    # on app.state: a host that enters app.router.lifespan_context itself (embedded mode) never
    # hands yielded state to requests.
    state = getattr(request.state, STATE_KEY, None) or getattr(request.app.state, STATE_KEY, None)
    if not isinstance(state, TaskCoreState):
        raise RuntimeError("task-core's lifespan has not run; start the app with its lifespan")
    return state


def get_tasks(request: Request) -> TaskService:
    return get_state(request).tasks


def get_links(request: Request) -> LinkService:
    return get_state(request).links


State = Annotated[TaskCoreState, Depends(get_state)]
Tasks = Annotated[TaskService, Depends(get_tasks)]
Links = Annotated[LinkService, Depends(get_links)]
