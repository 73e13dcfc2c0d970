"""Two replicas (two pipelines, each with its own engine) exporting to one board at once on
real PostgreSQL: the webhook's row is claimed by one of them, and the provider is asked for
the board's webhook once, its answer the row's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tether_common.db import transaction
from tether_connector_runtime.pipeline import exports
from tether_connector_runtime.testing import FakeProvider, PipelineRig, pipeline_rig
from tether_connector_runtime.testing.scenarios import BOARD, export_request
from tether_connector_runtime.testing.scenarios import task_state as state

pytestmark = pytest.mark.integration

EXPORTS = 4  # on each replica


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[PipelineRig, PipelineRig]]:
    fake = FakeProvider("trello")
    fake.add_container(BOARD)
    async with (
        pipeline_rig(fake, database_url) as one,
        pipeline_rig(fake, database_url, migrate=False) as two,
    ):
        yield one, two


async def export_task(rig: PipelineRig, connection_id: str, n: int) -> None:
    task = state(1, {"core": 1}, task_id=f"task-{n}", title=f"Task {n}")
    request = export_request(connection_id, task, link_id=f"link-{n}")
    await exports.export(rig.pipeline, request)
    assert (await rig.link(request.link_id)).status == "active"


async def webhook_row(rig: PipelineRig, connection_id: str) -> Any:
    async with transaction(rig.pipeline.sessions) as session:
        return await rig.pipeline.repo.webhook_for(session, connection_id, BOARD)


async def test_two_replicas_exporting_at_once_register_one_webhook(
    replicas: tuple[PipelineRig, PipelineRig],
) -> None:
    one, two = replicas
    fake = one.fake
    connection_id = await one.connect("acme", "tok-a")
    first = fake.hold("ensure_webhook", container_id=BOARD)
    registering = asyncio.create_task(export_task(one, connection_id, 0))
    await first.wait_reached()  # replica one is inside the provider's registration

    await asyncio.gather(
        *(export_task(two, connection_id, n) for n in range(1, EXPORTS + 1)),
        *(export_task(one, connection_id, n) for n in range(EXPORTS + 1, 2 * EXPORTS)),
    )
    first.release()
    await registering

    assert fake.calls["ensure_webhook"] == 1
    assert (await webhook_row(two, connection_id)).external_webhook_id == f"hook-{BOARD}"
