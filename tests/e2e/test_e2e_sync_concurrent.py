"""Concurrent provider edits on real Kafka and PostgreSQL, every service its own process:
edits of different fields both survive; edits of one field are a conflict, resolved the same
way whatever the order and recorded for review."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests.e2e.conftest import task_changed_topic
from tests.e2e.kafka_tap import read_events
from tether_devinfra.services import Deployment
from tether_events import ProviderItemChanged, TaskChanged, Topic, VectorClock, encode, topic_name

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

EDITED = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
async def api(deployment: Deployment, api_token: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {api_token}"}
    async with httpx.AsyncClient(base_url=deployment.url("api-gateway"), headers=headers) as api:
        yield api


async def create_task(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    created = await api.post("/v1/tasks", json={"title": "Plan", **fields})
    assert created.status_code == 201, created.text
    task: dict[str, Any] = created.json()
    return task


def provider_change(
    task: dict[str, Any],
    replica: str,
    *,
    base: dict[str, Any],
    new: dict[str, Any],
    edited_at: datetime,
) -> ProviderItemChanged:
    provider, _, external_id = replica.partition(":")
    return ProviderItemChanged(
        task_id=task["id"],
        tenant_id=task["tenant_id"],
        link_id=f"link-{provider}",
        provider=provider,
        replica=replica,
        external_id=external_id,
        # Both connectors last synced the task as created: their edits are concurrent.
        base_clock=VectorClock(task["clock"]),
        base_values=base,
        new_values=new,
        edited_at=edited_at,
    )


async def publish(deployment: Deployment, *changes: ProviderItemChanged) -> None:
    """As connectors publish: the provider-changed topic, keyed by task id, acks=all."""
    producer = AIOKafkaProducer(
        bootstrap_servers=deployment.kafka_bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for change in changes:
            event = change.envelope(
                source=f"/tether/{change.provider}-connector",
                subject=change.task_id,
                tenant_id=change.tenant_id,
            )
            await producer.send_and_wait(
                topic_name(Topic.PROVIDER_CHANGED, deployment.topic_namespace),
                encode(event),
                key=change.task_id.encode(),
            )
    finally:
        await producer.stop()


async def task_once_merged(
    api: httpx.AsyncClient, task_id: str, replicas: set[str], within: float = 30.0
) -> dict[str, Any]:
    """The task as soon as its clock includes every one of ``replicas``."""
    async with asyncio.timeout(within):
        while True:
            response = await api.get(f"/v1/tasks/{task_id}")
            assert response.status_code == 200, response.text
            task: dict[str, Any] = response.json()
            if replicas <= set(task["clock"]):
                return task
            await asyncio.sleep(0.2)


async def test_concurrent_edits_of_different_fields_on_two_providers_both_survive(
    deployment: Deployment, api: httpx.AsyncClient
) -> None:
    task = await create_task(api, due_date="2026-12-01")
    assert task["clock"] == {"core": 1}
    await publish(
        deployment,
        provider_change(
            task,
            "trello:card1",
            base={"title": "Plan"},
            new={"title": "Plan (from Trello)"},
            edited_at=EDITED,
        ),
        provider_change(
            task,
            "asana:gid1",
            base={"due_date": "2026-12-01"},
            new={"due_date": "2026-12-24"},
            edited_at=EDITED,
        ),
    )

    merged = await task_once_merged(api, task["id"], {"trello:card1", "asana:gid1"})

    assert (merged["title"], merged["due_date"]) == ("Plan (from Trello)", "2026-12-24")
    assert merged["clock"] == {"core": 3, "trello:card1": 1, "asana:gid1": 1}
    assert merged["version"] == 3
    history = (await api.get(f"/v1/tasks/{task['id']}/history")).json()["items"]
    assert [(h["origin"], h["changed_fields"]) for h in history[:2]] == [
        ("asana:gid1", ["due_date"]),
        ("trello:card1", ["title"]),
    ]
    conflicts = await api.get("/v1/conflicts", params={"task_id": task["id"]})
    assert conflicts.json()["items"] == []
    # Every other copy hears the merged task: its event carries the merged clock.
    events = await read_events(
        deployment.kafka_bootstrap_servers, task_changed_topic(deployment), until=3
    )
    mine = [e.data for e in events if e.subject == task["id"]]
    assert all(isinstance(d, TaskChanged) for d in mine)
    assert [d.clock for d in mine] == [
        VectorClock({"core": 1}),
        VectorClock({"core": 2, "trello:card1": 1}),
        VectorClock(merged["clock"]),
    ]
    assert (mine[-1].title, str(mine[-1].due_date)) == ("Plan (from Trello)", "2026-12-24")


async def test_concurrent_edits_of_one_field_are_one_recorded_conflict_latest_wins(
    deployment: Deployment, api: httpx.AsyncClient
) -> None:
    task = await create_task(api)
    # Asana's edit is the later one, yet it is published first: the later edit must win
    # whatever order the changes arrive in.
    await publish(
        deployment,
        provider_change(
            task,
            "asana:gid1",
            base={"title": "Plan"},
            new={"title": "Asana's title"},
            edited_at=EDITED + timedelta(minutes=1),
        ),
        provider_change(
            task,
            "trello:card1",
            base={"title": "Plan"},
            new={"title": "Trello's title"},
            edited_at=EDITED,
        ),
    )

    merged = await task_once_merged(api, task["id"], {"trello:card1", "asana:gid1"})

    assert merged["title"] == "Asana's title"
    assert merged["clock"] == {"core": 3, "trello:card1": 1, "asana:gid1": 1}
    response = await api.get("/v1/conflicts", params={"task_id": task["id"]})
    assert response.status_code == 200, response.text
    [conflict] = response.json()["items"]
    assert (conflict["task_id"], conflict["field"], conflict["policy"]) == (
        task["id"],
        "title",
        "latest_wins",
    )
    assert (conflict["base_value"], conflict["core_value"], conflict["provider_value"]) == (
        "Plan",
        "Asana's title",
        "Trello's title",
    )
    assert (conflict["core_replica"], conflict["provider_replica"]) == (
        "asana:gid1",
        "trello:card1",
    )
    assert (conflict["winner"], conflict["winning_value"]) == ("asana:gid1", "Asana's title")
    # The losing side's change was still merged: its clock entry is in the task's clock,
    # and its history row changed nothing.
    history = (await api.get(f"/v1/tasks/{task['id']}/history")).json()["items"]
    assert (history[0]["origin"], history[0]["changed_fields"]) == ("trello:card1", [])
    everything = (await api.get("/v1/conflicts")).json()["items"]
    assert [c["id"] for c in everything] == [conflict["id"]]
