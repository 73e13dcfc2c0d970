"""Webhooks that expire (Jira's dynamic webhooks: 30 days) are asked for again once less than
the renewal margin is left, and not before; a connection whose account may register no
webhook (``delivery: polling``) is asked for none, and says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tether_common.db import transaction
from tether_connector_runtime.pipeline import Pipeline, watching
from tether_connector_runtime.testing import FakeProvider
from tether_connector_runtime.testing.running_app import RunningApp, running_app

PROJECT = "project-a"
MARGIN = timedelta(days=15)  # the runtime's default


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[RunningApp]:
    fake = FakeProvider("jira")
    fake.add_container(PROJECT)
    async with running_app(fake, tmp_path / "jira.db") as running:
        assert running.pipeline.webhook_renewal_margin == MARGIN
        yield running


async def connect(api: httpx.AsyncClient, token: str) -> dict[str, Any]:
    created = await api.post("/internal/v1/tenants/acme/connections", json={"token": token})
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


async def webhook_row(p: Pipeline, connection_id: str) -> Any:
    async with transaction(p.sessions) as session:
        return await p.repo.webhook_for(session, connection_id, PROJECT)


async def test_a_webhook_expiring_within_the_margin_is_refreshed(app: RunningApp) -> None:
    app.fake.webhook_lifetime = MARGIN - timedelta(days=1)
    connection = await connect(app.api, "token-1")
    await watching.ensure_webhook(app.pipeline, connection["id"], PROJECT)
    first = await webhook_row(app.pipeline, connection["id"])
    assert first.expires_at is not None

    await watching.ensure_webhook(app.pipeline, connection["id"], PROJECT)

    assert app.fake.webhook_refreshes[PROJECT] == 1
    renewed = await webhook_row(app.pipeline, connection["id"])
    assert renewed.external_webhook_id == first.external_webhook_id
    assert renewed.expires_at > first.expires_at


async def test_a_webhook_with_time_left_is_not_asked_for_again(app: RunningApp) -> None:
    app.fake.webhook_lifetime = timedelta(days=30)
    connection = await connect(app.api, "token-1")
    await watching.ensure_webhook(app.pipeline, connection["id"], PROJECT)

    await watching.ensure_webhook(app.pipeline, connection["id"], PROJECT)

    assert app.fake.webhook_refreshes[PROJECT] == 0
    assert app.fake.calls["ensure_webhook"] == 1


async def test_a_polling_connection_registers_no_webhook_and_says_so(app: RunningApp) -> None:
    app.fake.polling_tokens.add("token-without-admin")
    connection = await connect(app.api, "token-without-admin")
    assert connection["delivery"] == "polling"

    await watching.ensure_webhook(app.pipeline, connection["id"], PROJECT)

    assert app.fake.calls["ensure_webhook"] == 0
    assert await webhook_row(app.pipeline, connection["id"]) is None
    listed = await app.api.get("/internal/v1/tenants/acme/connections")
    assert [c["delivery"] for c in listed.json()] == ["polling"]


async def test_a_connection_that_may_register_webhooks_says_webhook(app: RunningApp) -> None:
    connection = await connect(app.api, "token-1")
    assert connection["delivery"] == "webhook"
