"""The operator's part of the internal API (links with their sync state, webhooks, dead letters
and their replay), per tenant, on the connector app with the in-memory provider and the
in-process bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tether_connector_runtime.app import create_connector_app
from tether_connector_runtime.deadletter import DeadLetter
from tether_connector_runtime.settings import ConnectorSettings
from tether_connector_runtime.testing import TEST_TOKEN_KEY, FakeProvider
from tether_contracts.operations import DeadLetterOut, LinkHealthOut
from tether_events import CloudEvent, ExportRequested, LinkChanged, TaskChanged, Topic, VectorClock
from tether_events import topic_name as topic
from tether_events.inprocess import InProcessBus


@dataclass
class App:
    api: httpx.AsyncClient
    bus: InProcessBus
    fake: FakeProvider
    events: list[CloudEvent[Any]]


async def until(condition: Callable[[], bool], within: float = 60.0) -> None:
    """Wait for the background consumers (polled; the deadline is only a guard)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def changed(task_id: str, tenant_id: str, version: int, title: str) -> TaskChanged:
    return TaskChanged(
        task_id=task_id,
        tenant_id=tenant_id,
        version=version,
        clock=VectorClock({"core": version}),
        origin="core",
        deleted=False,
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        title=title,
        description="",
        due_date=None,
        completed=False,
    )


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    fake = FakeProvider("asana")
    for container in ("project-a", "project-g"):
        fake.add_container(container)
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

    bus.subscribe([topic(Topic.LINK_EVENTS), topic(Topic.TASK_CHANGED)], "test-tap", tap)
    async with connector.router.lifespan_context(connector):
        await bus.start()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=connector), base_url="http://tether.test"
        ) as api:
            yield App(api, bus, fake, events)
        await bus.stop()


async def export(app: App, tenant_id: str, task_id: str, container: str) -> None:
    created = await app.api.post(
        f"/internal/v1/tenants/{tenant_id}/connections", json={"token": f"tok-{tenant_id}"}
    )
    assert created.status_code == 201, created.text
    request = ExportRequested(
        link_id=f"link-{task_id}",
        task_id=task_id,
        tenant_id=tenant_id,
        provider="asana",
        connection_id=created.json()["id"],
        target={"container_id": container},
        task=changed(task_id, tenant_id, 1, "Plan"),
    )
    await app.bus.publish(
        topic(Topic.LINK_EVENTS),
        request.envelope(source="/test", subject=task_id, tenant_id=tenant_id),
    )
    await until(
        lambda: any(
            isinstance(e.data, LinkChanged)
            and e.data.link_id == f"link-{task_id}"
            and e.data.status == "active"
            for e in app.events
        )
    )


async def links_of(app: App, tenant_id: str) -> list[LinkHealthOut]:
    answer = await app.api.get(f"/internal/v1/tenants/{tenant_id}/links")
    assert answer.status_code == 200, answer.text
    return [LinkHealthOut.model_validate(x) for x in answer.json()]


async def test_links_show_their_state_and_last_sync_per_tenant(app: App) -> None:
    await export(app, "acme", "task-a", "project-a")
    await export(app, "globex", "task-g", "project-g")
    (mine,) = await links_of(app, "acme")
    assert (mine.task_id, mine.status, mine.state, mine.provider) == (
        "task-a",
        "active",
        "ok",
        "asana",
    )
    assert mine.external_id is not None
    assert mine.attempts == 0
    before = mine.last_sync
    # The provider fails: the change waits on the link for a retry.
    app.fake.fail_container("project-a")
    changes = topic(Topic.TASK_CHANGED)
    await app.bus.publish(
        changes,
        changed("task-a", "acme", 2, "v2").envelope(
            source="/test", subject="task-a", tenant_id="acme"
        ),
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60.0  # only a guard
    while not (retrying := [v for v in await links_of(app, "acme") if v.state == "retrying"]):
        assert loop.time() < deadline, "the link never waited for a retry"
        await asyncio.sleep(0.01)
    (waiting,) = retrying
    assert waiting.attempts >= 1
    assert waiting.next_attempt_at is not None
    assert waiting.last_error
    assert waiting.last_sync >= before
    assert [v.task_id for v in await links_of(app, "globex")] == ["task-g"]


async def test_webhooks_are_listed_for_the_tenants_connections_only(app: App) -> None:
    await export(app, "acme", "task-a", "project-a")
    await export(app, "globex", "task-g", "project-g")
    acme = await app.api.get("/internal/v1/tenants/acme/webhooks")
    assert acme.status_code == 200
    watched = {w["model_id"] for w in acme.json()}
    assert "project-a" in watched
    assert "project-g" not in watched


def parked(tenant_id: str, task_id: str, consumer: str) -> bytes:
    event = changed(task_id, tenant_id, 3, "parked").envelope(
        source="/test", subject=task_id, tenant_id=tenant_id
    )
    letter = DeadLetter(
        original_topic=topic(Topic.TASK_CHANGED),
        original_event=event.model_dump(mode="json"),
        error="ValueError: no mapping",
        attempts=5,
        failed_at=datetime(2026, 5, 1, 12, tzinfo=UTC),
        consumer=consumer,
    )
    return letter.model_dump_json().encode()


async def test_dead_letters_are_the_tenants_and_this_connectors_and_replay_republishes(
    app: App,
) -> None:
    dlq = topic(Topic.DEAD_LETTER)
    await app.bus.store.append(
        dlq,
        parked("acme", "task-a", "asana-connector.task-changed"),  # 0:0, acme's here
        parked("globex", "task-g", "asana-connector.task-changed"),  # 0:1, another tenant's
        parked("acme", "task-b", "trello-connector.task-changed"),  # 0:2, another connector's
        b"not a dead letter",  # 0:3, undecodable: skipped
    )
    answer = await app.api.get("/internal/v1/tenants/acme/dead-letters")
    assert answer.status_code == 200
    (letter,) = [DeadLetterOut.model_validate(x) for x in answer.json()]
    assert (letter.id, letter.task_id, letter.provider) == ("0:0", "task-a", "asana")
    assert letter.error == "ValueError: no mapping"
    assert letter.attempts == 5
    for other in ("0:1", "0:2", "0:3", "9:9"):
        refused = await app.api.post(f"/internal/v1/tenants/acme/dead-letters/{other}/replay")
        assert refused.status_code == 404, other
        assert refused.json()["error"]["code"] == "dead_letter_not_found"
    replayed = await app.api.post("/internal/v1/tenants/acme/dead-letters/0:0/replay")
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {
        "id": "0:0",
        "event_id": letter.event_id,
        "original_topic": topic(Topic.TASK_CHANGED),
    }
    # The same event (same id) is on its topic again, for its consumers to take.
    await until(lambda: any(e.id == letter.event_id for e in app.events))
    again = next(e for e in app.events if e.id == letter.event_id)
    assert isinstance(again.data, TaskChanged)
    assert again.data.title == "parked"
    assert again.tenantid == "acme"
