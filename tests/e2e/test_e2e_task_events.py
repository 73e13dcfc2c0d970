"""A task created through the gateway becomes a TaskChanged event on the real Kafka topic."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import task_changed_topic
from tests.e2e.kafka_tap import read_events
from tether_devinfra.services import Deployment
from tether_events import TaskChanged, VectorClock

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


async def test_created_and_edited_task_reaches_kafka_with_its_clock(
    deployment: Deployment, api_token: str
) -> None:
    headers = {"Authorization": f"Bearer {api_token}"}
    async with httpx.AsyncClient(base_url=deployment.url("api-gateway"), headers=headers) as api:
        body = {"title": "Plan the week", "due_date": "2026-12-01"}
        created = await api.post("/v1/tasks", json=body)
        assert created.status_code == 201, created.text
        task = created.json()
        patched = await api.patch(f"/v1/tasks/{task['id']}", json={"completed": True})
        assert patched.status_code == 200, patched.text

    events = await read_events(
        deployment.kafka_bootstrap_servers, task_changed_topic(deployment), until=2
    )
    mine = [e for e in events if e.subject == task["id"]]
    assert [e.type for e in mine] == ["tether.task.changed.v1"] * 2
    first, second = (e.data for e in mine)
    assert isinstance(first, TaskChanged)
    assert isinstance(second, TaskChanged)
    assert first.title == "Plan the week"
    assert str(first.due_date) == "2026-12-01"
    assert first.clock == VectorClock({"core": 1})
    assert second.completed is True
    assert second.clock == VectorClock({"core": 2})
    assert mine[0].tenantid == task["tenant_id"]


async def test_gateway_rejects_requests_without_a_valid_token(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.url("api-gateway")) as api:
        missing = await api.get("/v1/tasks")
        wrong = await api.get("/v1/tasks", headers={"Authorization": "Bearer tth_wrong"})
    assert missing.status_code == 401
    assert wrong.status_code == 401
