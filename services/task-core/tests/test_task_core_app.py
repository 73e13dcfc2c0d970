"""The service around the API: health, readiness, metrics, and hosting by an embedding process."""

from __future__ import annotations

import httpx
import pytest

from task_core.app import create_app
from task_core.config import TaskCoreSettings
from task_core.readiness import kafka_reachable
from tether_events.inprocess import InProcessBus


async def test_health_readiness_and_metrics(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "outbox_relay": "ok"}

    await api.post("/internal/v1/tenants/acme/tasks", json={"title": "counted"})
    metrics = (await api.get("/metrics")).text
    assert 'tether_task_core_task_changes_total{change="created"}' in metrics
    assert "tether_task_core_outbox_backlog" in metrics
    assert "tether_task_core_outbox_published_total" in metrics


async def test_an_embedding_host_can_enter_the_lifespan_itself(
    settings: TaskCoreSettings, bus: InProcessBus
) -> None:
    # Embedded mode runs lifespans itself and sends requests without lifespan state.
    app = create_app(settings, bus=bus)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api,
    ):
        response = await api.post("/internal/v1/tenants/acme/tasks", json={"title": "x"})
        assert response.status_code == 201
    assert not hasattr(app.state, "task_core")  # nothing left behind for requests to misuse


async def test_the_kafka_probe_fails_fast_when_no_broker_answers() -> None:
    # Nothing listens on port 1: the probe must fail within its timeout rather than hang.
    with pytest.raises(Exception):  # noqa: B017, PT011 - aiokafka's error types vary by cause
        await kafka_reachable("127.0.0.1:1", timeout=2.0)
