"""Exports and the links registry end to end: the gateway's export becomes an ExportRequested
on Kafka, a connector's LinkChanged activates the link, a provider-side delete unlinks it.

A Jira connection is used because the Jira connector does not hold connections yet: this test
plays the connector's part itself, on the real topics. The gateway refuses an export to a
connection no connector knows (tested in the gateway's own tests), so the export is registered
with task-core's internal API, as the gateway does once the connection checks out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests.e2e.kafka_tap import read_events
from tether_devinfra.services import Deployment
from tether_events import (
    CloudEvent,
    EventData,
    ExportRequested,
    LinkChanged,
    ProviderItemChanged,
    Topic,
    VectorClock,
    encode,
    topic_name,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CONNECTION = "jira_acme01"


@pytest.fixture
async def api(deployment: Deployment, api_token: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {api_token}"}
    async with httpx.AsyncClient(base_url=deployment.url("api-gateway"), headers=headers) as api:
        yield api


async def publish(
    deployment: Deployment, topic: Topic, data: EventData, task: dict[str, Any]
) -> None:
    """As the connector would: on the real topic, keyed by the task id."""
    task_id = str(task["id"])
    event: CloudEvent[Any] = data.envelope(
        source="/tether/jira-connector", subject=task_id, tenant_id=task["tenant_id"]
    )
    producer = AIOKafkaProducer(bootstrap_servers=deployment.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_name(topic, deployment.topic_namespace), encode(event), key=task_id.encode()
        )
    finally:
        await producer.stop()


async def link_once(
    api: httpx.AsyncClient, task_id: str, status: str, within: float = 30.0
) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            links = (await api.get(f"/v1/tasks/{task_id}/links")).json()
            if links and links[0]["status"] == status:
                link: dict[str, Any] = links[0]
                return link
            await asyncio.sleep(0.2)


async def test_an_export_reaches_the_connector_and_its_answer_the_link(
    deployment: Deployment, api: httpx.AsyncClient
) -> None:
    task = (await api.post("/v1/tasks", json={"title": "Ship it"})).json()
    body = {"provider": "jira", "connection_id": CONNECTION, "target": {"project": "TT"}}
    links_url = (
        f"{deployment.url('task-core')}/internal/v1/tenants/{task['tenant_id']}"
        f"/tasks/{task['id']}/links"
    )
    async with httpx.AsyncClient() as core:
        exported = await core.post(links_url, json=body)

    assert exported.status_code == 202, exported.text
    link = exported.json()
    assert (link["provider"], link["status"]) == ("jira", "pending")
    events = await read_events(
        deployment.kafka_bootstrap_servers,
        topic_name(Topic.LINK_EVENTS, deployment.topic_namespace),
        until=1,
    )
    [request] = [e.data for e in events if isinstance(e.data, ExportRequested)]
    assert (request.link_id, request.provider, request.connection_id) == (
        link["id"],
        "jira",
        CONNECTION,
    )
    assert request.target == {"project": "TT"}
    assert (request.task.title, request.task.clock) == ("Ship it", VectorClock({"core": 1}))

    # This deployment's Jira connector cannot export yet (no such connection there): it says
    # so, and the link fails visibly. Exporting again then reuses the link, whose id is the
    # marker a connector looks for, rather than registering a second one.
    failed = await link_once(api, task["id"], "failed")
    assert failed["id"] == link["id"]
    assert failed["error"], "a failed link says why"
    async with httpx.AsyncClient() as core:
        again = await core.post(links_url, json=body)
    assert again.status_code == 202, again.text
    assert (again.json()["id"], again.json()["status"]) == (link["id"], "pending")

    # The connector created the issue and says so.
    await publish(
        deployment,
        Topic.LINK_EVENTS,
        LinkChanged(
            link_id=link["id"],
            task_id=task["id"],
            tenant_id=task["tenant_id"],
            provider="jira",
            status="active",
            replica="jira:acme/TT-1",
            external_id="TT-1",
            url="https://acme.atlassian.net/browse/TT-1",
        ),
        task,
    )
    active = await link_once(api, task["id"], "active")
    assert (active["external_id"], active["url"], active["error"]) == (
        "TT-1",
        "https://acme.atlassian.net/browse/TT-1",
        None,
    )
    # An active link is never registered twice (the connector's late "failed" for the repeated
    # request cannot undo it: a failure of an active link is ignored).
    async with httpx.AsyncClient() as core:
        twice = await core.post(links_url, json=body)
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "already_exported"

    # Someone deletes the issue in Jira: the link goes, the task stays, its history says so.
    await publish(
        deployment,
        Topic.PROVIDER_CHANGED,
        ProviderItemChanged(
            task_id=task["id"],
            tenant_id=task["tenant_id"],
            link_id=link["id"],
            provider="jira",
            replica="jira:acme/TT-1",
            external_id="TT-1",
            base_clock=VectorClock({"core": 1}),
            base_values={},
            new_values={},
            deleted=True,
            edited_at=datetime.now(UTC),
        ),
        task,
    )
    await link_once(api, task["id"], "unlinked")
    kept = await api.get(f"/v1/tasks/{task['id']}")
    assert (kept.status_code, kept.json()["title"]) == (200, "Ship it")
    newest = (await api.get(f"/v1/tasks/{task['id']}/history")).json()["items"][0]
    assert (newest["origin"], newest["changed_fields"]) == ("jira:acme/TT-1", ["unlinked"])
    # Unlinked, the task can be exported to the same place again.
    async with httpx.AsyncClient() as core:
        anew = await core.post(links_url, json=body)
    assert anew.status_code == 202, anew.text
