"""Fixtures of the dashboard's tests: the operator fakes in place of conftest's plain fake
connectors, and two tenants' worlds with the session logged in as one of them."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tether_contracts.connections import ConnectionStatus
from tether_contracts.operations import WebhookOut
from tether_contracts.tasks import TaskCreate

from .browsing import IssueToken, log_in
from .fakes import NOW, FakeTaskCore, OperatorFakeConnectors, conflict, dead_letter, link


@pytest.fixture
def fake_connectors() -> OperatorFakeConnectors:
    return OperatorFakeConnectors()


@pytest.fixture
async def world(
    client: httpx.AsyncClient,
    fake_task_core: FakeTaskCore,
    fake_connectors: OperatorFakeConnectors,
    issue_token: IssueToken,
) -> dict[str, str]:
    """Two tenants, acme and globex, each with a task, a connection, a link, a conflict and a
    parked event; returns acme's token and ids. The session logs in as acme."""
    ids: dict[str, str] = {}
    for tenant, status in (("acme", "broken"), ("globex", "broken")):
        token = await issue_token(tenant, f"ops@{tenant}.test")
        tenant_id = await _tenant_id(client, token)
        created = await client.post(
            "/v1/tasks",
            json=TaskCreate(title=f"{tenant} task").model_dump(mode="json"),
            headers={"Authorization": f"Bearer {token}"},
        )
        task_id = created.json()["id"]
        connection_status: ConnectionStatus = "broken" if status == "broken" else "active"
        fake_connectors.add(tenant_id, f"trello_{tenant}", connection_status)
        fake_connectors.webhooks[tenant_id] = [
            WebhookOut(
                connection_id=f"trello_{tenant}",
                model_id=f"board-{tenant}",
                registered=True,
                expires_at=NOW + timedelta(days=2),
            )
        ]
        fake_connectors.links[tenant_id] = [
            link(task_id, connection_id=f"trello_{tenant}"),
            link(
                f"{tenant}-waiting",
                status="active",
                state="retrying",
                attempts=3,
                next_attempt_at=NOW + timedelta(minutes=1),
                retry_until=NOW + timedelta(hours=1),
                last_error=f"{tenant}: provider answered 503",
            ),
        ]
        fake_task_core.conflicts[tenant_id] = [
            conflict(f"conflict-{tenant}", task_id, f"{tenant} core title", f"{tenant} card title")
        ]
        fake_connectors.parked[tenant_id] = [dead_letter(f"0:{len(ids)}", task_id)]
        ids |= {f"{tenant}_token": token, f"{tenant}_task": task_id, f"{tenant}_id": tenant_id}
    await log_in(client, ids["acme_token"])
    return ids


async def _tenant_id(client: httpx.AsyncClient, token: str) -> str:
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    return str(me.json()["tenant"]["id"])
