"""The connector app as a service runs it (lifespan, bus subscriptions, relay, webhook intake),
with the in-memory provider as its adapter: what reaches the bus, end to end.

Waiting here is only for the background consumers and relay to catch up (a condition polled
with a deadline); the order of everything that matters is decided by the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tether_common.db import transaction
from tether_connector_runtime.app import create_connector_app
from tether_connector_runtime.pipeline import Pipeline
from tether_connector_runtime.port import PlaceMove
from tether_connector_runtime.settings import ConnectorSettings
from tether_connector_runtime.store.repository import StoredLink
from tether_connector_runtime.testing import TEST_TOKEN_KEY, FakeProvider
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
from tether_events.inprocess import InProcessBus


@dataclass
class App:
    api: httpx.AsyncClient
    bus: InProcessBus
    fake: FakeProvider
    events: list[CloudEvent[Any]]
    pipeline: Pipeline

    def of(self, kind: type) -> list[Any]:
        return [e.data for e in self.events if isinstance(e.data, kind)]


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait for the background consumers and relay (polled; the deadline is only a guard)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def task(task_id: str, tenant_id: str, version: int, **fields: Any) -> TaskChanged:
    values: dict[str, Any] = {
        "title": "Plan",
        "description": "",
        "due_date": None,
        "completed": False,
    }
    values.update(fields)
    return TaskChanged(
        task_id=task_id,
        tenant_id=tenant_id,
        version=version,
        clock=VectorClock({"core": version}),
        origin="core",
        deleted=False,
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        **values,
    )


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    fake = FakeProvider("asana")
    fake.add_container("project-a")
    fake.add_container("project-g")
    settings = ConnectorSettings(
        bus="inprocess",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/asana.db",
        token_encryption_key=TEST_TOKEN_KEY,
        public_url="http://tether.test",
        reconcile_interval=3600,
        retry_poll_interval=3600,
    )
    bus = InProcessBus()
    connector = create_connector_app("asana", settings, lambda http: fake, bus=bus)
    events: list[CloudEvent[Any]] = []

    async def tap(event: CloudEvent[Any]) -> None:
        events.append(event)

    topics = (Topic.LINK_EVENTS, Topic.PROVIDER_CHANGED)
    bus.subscribe([topic_name(t) for t in topics], "test-tap", tap)
    async with connector.router.lifespan_context(connector):
        await bus.start()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=connector), base_url="http://tether.test"
        ) as api:
            yield App(api, bus, fake, events, connector.state.connector.pipeline)
        await bus.stop()


async def export(app: App, tenant_id: str, token: str, task_id: str, container: str) -> str:
    created = await app.api.post(
        f"/internal/v1/tenants/{tenant_id}/connections", json={"token": token}
    )
    assert created.status_code == 201, created.text
    link_id = f"link-{task_id}"
    request = ExportRequested(
        link_id=link_id,
        task_id=task_id,
        tenant_id=tenant_id,
        provider="asana",
        connection_id=created.json()["id"],
        target={"container_id": container},
        task=task(task_id, tenant_id, 1),
    )
    await app.bus.publish(
        topic_name(Topic.LINK_EVENTS),
        request.envelope(source="/test", subject=task_id, tenant_id=tenant_id),
    )
    await until(
        lambda: any(x.link_id == link_id and x.status == "active" for x in app.of(LinkChanged))
    )
    return next(str(x.external_id) for x in app.of(LinkChanged) if x.link_id == link_id)


async def app_link(app: App, link_id: str) -> StoredLink:
    p = app.pipeline
    async with transaction(p.sessions) as session:
        found = await p.repo.link(session, link_id)
    assert found is not None
    return found


async def publish(app: App, changed: TaskChanged) -> None:
    await app.bus.publish(
        topic_name(Topic.TASK_CHANGED),
        changed.envelope(source="/test", subject=changed.task_id, tenant_id=changed.tenant_id),
    )


async def test_a_failing_link_does_not_hold_up_the_partition(app: App) -> None:
    await export(app, "acme", "tok-a", "task-a", "project-a")
    item_g = await export(app, "globex", "tok-g", "task-g", "project-g")
    app.fake.fail_container("project-a")
    # One partition, in this order: the failing link's change first.
    await publish(app, task("task-a", "acme", 2, title="a v2"))
    await publish(app, task("task-g", "globex", 2, title="g v2"))

    await until(lambda: app.fake.items[item_g].fields.title == "g v2")
    await until(lambda: any(x.status == "retrying" for x in app.of(LinkChanged)))
    (retrying,) = [x for x in app.of(LinkChanged) if x.status == "retrying"]
    assert retrying.link_id == "link-task-a"
    assert retrying.error == "RetryableProviderError: the provider is unavailable"
    assert retrying.next_attempt_at is not None
    # Parked on its link, not retried in place, not dead-lettered.
    assert app.fake.calls["update"] == 1
    assert app.bus.store.logs[topic_name(Topic.DEAD_LETTER)].records == []
    parked = await app_link(app, "link-task-a")
    assert parked.parked is not None
    assert parked.parked.task["title"] == "a v2"


async def test_a_webhook_carries_the_fields_edit_time_to_the_change(app: App) -> None:
    item_id = await export(app, "acme", "tok-a", "task-a", "project-a")
    titled_at = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    notice = app.fake.edit(item_id, title="Renamed", at=titled_at)
    app.fake.move(item_id, "project-a/done", at=datetime(2026, 5, 2, tzinfo=UTC))
    body, headers = app.fake.webhooks.delivery("delivery-1", "project-a", [notice])
    answer = await app.api.post("/webhooks/asana", content=body, headers=headers)
    assert answer.status_code < 300, answer.text

    await until(lambda: bool(app.of(ProviderItemChanged)))
    (change,) = app.of(ProviderItemChanged)
    assert change.provider == "asana"
    assert change.new_values == {"title": "Renamed"}
    assert change.field_edited_at == {"title": titled_at}
    assert change.edited_at == datetime(2026, 5, 2, tzinfo=UTC)

    forged = await app.api.post(
        "/webhooks/asana", content=body.replace(b"delivery-1", b"delivery-2"), headers=headers
    )
    assert forged.status_code == 401


async def test_a_write_refused_for_good_is_the_links_error_not_a_dead_letter(app: App) -> None:
    item_id = await export(app, "acme", "tok-a", "task-a", "project-a")
    words = "the provider's workflow offers no way to a done status"
    app.fake.refuse("completed", words)
    await publish(app, task("task-a", "acme", 2, title="a v2", completed=True))

    await until(lambda: any(x.error == words for x in app.of(LinkChanged)))
    assert [(x.status, x.error) for x in app.of(LinkChanged)] == [
        ("active", None),
        ("active", words),
    ]
    # Not retried in place, not parked, not dead-lettered; what the provider took is there.
    assert app.fake.calls["update"] == 1
    assert app.bus.store.logs[topic_name(Topic.DEAD_LETTER)].records == []
    link = await app_link(app, "link-task-a")
    assert (link.status, link.parked, link.refusal) == ("active", None, words)
    assert app.fake.items[item_id].fields.title == "a v2"

    # The link keeps syncing: the next change goes through, the refused value with it.
    app.fake.accept("completed")
    await publish(app, task("task-a", "acme", 3, title="a v3", completed=True))
    await until(lambda: len(app.of(LinkChanged)) == 3)
    assert (app.of(LinkChanged)[-1].status, app.of(LinkChanged)[-1].error) == ("active", None)
    assert app.fake.items[item_id].fields.completed is True


async def test_a_core_change_written_through_the_app_observes_its_propagation_latency(
    app: App,
) -> None:
    def observed() -> tuple[float, float]:
        """(observations, their sum) of asana's propagation histogram."""
        name, labels = "tether_connector_propagation_seconds", {"provider": "asana"}
        count = REGISTRY.get_sample_value(f"{name}_count", labels) or 0.0
        return count, REGISTRY.get_sample_value(f"{name}_sum", labels) or 0.0

    item_id = await export(app, "acme", "tok-a", "t1", "project-a")
    count, total = observed()
    await publish(app, task("t1", "acme", 2, title="Plan B"))
    await until(lambda: app.fake.items[item_id].fields.title == "Plan B")
    await until(lambda: observed()[0] == count + 1)
    # Measured from the change's commit (2026-01-01 here), not from its arrival.
    assert observed()[1] - total > 86_400


async def test_a_place_moved_with_its_items_takes_their_links_along(app: App) -> None:
    """A list moved to another board names no card (Trello): the webhook's word that it moved
    has every linked item of the old board looked at, and those now elsewhere followed."""
    app.fake.add_container("project-b")
    item_id = await export(app, "acme", "tok-a", "task-a", "project-a")
    place = app.fake.items[item_id].place_id
    assert place is not None
    app.fake.move_place(place, "project-b")

    body, headers = app.fake.webhooks.delivery(
        "delivery-1", "project-a", [], places_moved=[PlaceMove(place, "project-a")]
    )
    answer = await app.api.post("/webhooks/asana", content=body, headers=headers)
    assert answer.status_code < 300, answer.text

    link = await app_link(app, "link-task-a")
    assert link.container_id == "project-b"
    async with transaction(app.pipeline.sessions) as session:
        hook = await app.pipeline.repo.webhook_for(session, link.connection_id, "project-b")
    assert hook is not None, "its new container is watched"
