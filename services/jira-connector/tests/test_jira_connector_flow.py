"""The Jira connector (the runtime with the Jira adapter) against the Jira emulator, in memory:
connect with an API token (an administrator's: admin webhooks; anyone else's: polling), export
one task (one issue, marked by an entity property), a person's edit delivered signed and
published once, completion walked through a workflow with no direct way to Done, a forged or
repeated delivery refused, and a polling connection's edits found through JQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from jira_connector.app import create_app
from jira_connector.config import JiraSettings
from tether_connector_runtime.pipeline import reconcile
from tether_connector_runtime.state import ConnectorState
from tether_emulators.jira import JiraEmulator, create_jira_emulator, get_emulator
from tether_emulators.jira.emulator import JiraAccount
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

SITE = "https://tether-emulated.atlassian.net"
ADMIN = {"site_url": SITE, "email": "ada@jira.test", "api_token": "token-of-ada-0001"}
MEMBER = {"site_url": SITE, "email": "bob@jira.test", "api_token": "token-of-bob-0001"}
TASK_TYPE = "10001"


@dataclass
class Harness:
    api: httpx.AsyncClient  # the connector's own HTTP API
    jira: httpx.AsyncClient  # the emulator's root: a person in Jira, the control API
    emu: JiraEmulator
    bus: InProcessBus
    events: list[CloudEvent[Any]]
    state: ConnectorState

    def of(self, kind: type) -> list[Any]:
        return [e.data for e in self.events if isinstance(e.data, kind)]


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a condition (never for a time): the pipeline runs in background tasks."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120  # only a guard against a hang
    while loop.time() < deadline:
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    to_connector = httpx.ASGITransport(app=None)  # type: ignore[arg-type]  # wired below
    emulator = create_jira_emulator(
        accounts=[
            JiraAccount(ADMIN["email"], ADMIN["api_token"], "Ada Lovelace", admin=True),
            JiraAccount(MEMBER["email"], MEMBER["api_token"], "Bob", "America/Los_Angeles"),
        ],
        site_url=SITE,
        webhook_transport=to_connector,
        webhook_retry_delays=(0, 0, 0),
    )
    settings = JiraSettings(
        bus="inprocess",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/jira.db",
        public_url="http://tether.test",
        reconcile_interval=3600,
    )
    bus = InProcessBus()
    connector = create_app(settings, bus=bus, transport=httpx.ASGITransport(app=emulator))
    to_connector.app = connector
    events: list[CloudEvent[Any]] = []

    async def tap(event: CloudEvent[Any]) -> None:
        events.append(event)

    bus.subscribe(
        [topic_name(t) for t in (Topic.LINK_EVENTS, Topic.PROVIDER_CHANGED)], "test-tap", tap
    )
    emu = get_emulator(emulator)
    emu.store.add_project("OPS", "Operations")
    async with connector.router.lifespan_context(connector):
        await bus.start()
        async with (
            httpx.AsyncClient(transport=to_connector, base_url="http://tether.test") as api,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url=SITE) as jira,
        ):
            yield Harness(api, jira, emu, bus, events, connector.state.connector)
            await jira.post("/_emulator/webhooks/flush")
        await bus.stop()
    await emu.aclose()


def task(version: int, clock: dict[str, int], **fields: Any) -> TaskChanged:
    values: dict[str, Any] = {
        "title": "Plan the launch",
        "description": "Who, **what**, when",
        "due_date": date(2026, 12, 1),
        "completed": False,
        "deleted": False,
    }
    return TaskChanged(
        task_id="task-1",
        tenant_id="acme",
        version=version,
        clock=VectorClock(clock),
        origin="core",
        updated_at=datetime.now(UTC),
        **(values | fields),
    )


async def connect(h: Harness, credentials: dict[str, str]) -> dict[str, Any]:
    created = await h.api.post("/internal/v1/tenants/acme/connections", json=credentials)
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


async def export(h: Harness, credentials: dict[str, str] = ADMIN, **fields: Any) -> str:
    connection = await connect(h, credentials)
    request = ExportRequested(
        link_id="link-1",
        task_id="task-1",
        tenant_id="acme",
        provider="jira",
        connection_id=connection["id"],
        target={"project_key": "OPS", "issue_type_id": TASK_TYPE},
        task=task(1, {"core": 1}, **fields),
    )
    await h.bus.publish(
        topic_name(Topic.LINK_EVENTS),
        request.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )
    await until(lambda: any(x.status == "active" for x in h.of(LinkChanged)))
    await h.jira.post("/_emulator/webhooks/flush")
    return str(h.of(LinkChanged)[0].external_id)


async def core_edit(h: Harness, version: int, **fields: Any) -> None:
    changed = task(version, {"core": version}, **fields)
    await h.bus.publish(
        topic_name(Topic.TASK_CHANGED),
        changed.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )


async def test_a_refused_api_token_is_a_400_with_jiras_reason(harness: Harness) -> None:
    answer = await harness.api.post(
        "/internal/v1/tenants/acme/connections", json={**ADMIN, "api_token": "not-the-token"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("Jira rejected the credentials")


async def test_a_site_outside_jira_cloud_is_refused_before_any_call(harness: Harness) -> None:
    answer = await harness.api.post(
        "/internal/v1/tenants/acme/connections",
        json={**ADMIN, "site_url": "https://intranet.example.com"},
    )
    assert answer.status_code == 400
    assert "TETHER_JIRA_SITE_HOSTS" in answer.json()["error"]["message"]
    assert list(harness.emu.requests) == []


async def test_an_administrator_gets_webhooks_anyone_else_polls(harness: Harness) -> None:
    assert (await connect(harness, ADMIN))["delivery"] == "webhook"
    assert (await connect(harness, MEMBER))["delivery"] == "polling"


async def test_export_creates_one_marked_issue_and_an_admin_webhook(harness: Harness) -> None:
    issue_id = await export(harness)
    (only,) = harness.emu.store.issues.values()
    assert only.id == issue_id
    assert (only.summary, only.duedate, only.issuetype_id) == (
        "Plan the launch",
        "2026-12-01",
        TASK_TYPE,
    )
    assert only.properties["tether.link"] == {"id": "link-1"}
    assert only.description is not None
    assert only.description["type"] == "doc"
    (hook,) = harness.emu.webhooks.values()
    assert (hook.kind, hook.jql) == ("admin", "project = OPS")
    assert hook.url.startswith("http://tether.test/webhooks/jira/")
    assert harness.of(LinkChanged)[0].replica == f"jira:{issue_id}"


async def test_a_persons_edit_in_jira_is_published_once(harness: Harness) -> None:
    issue_id = await export(harness)
    edit = await harness.jira.post(
        f"/_emulator/issues/{issue_id}/edit", json={"fields": {"summary": "Launch day"}}
    )
    edit.raise_for_status()
    await harness.jira.post("/_emulator/webhooks/flush")
    await until(lambda: bool(harness.of(ProviderItemChanged)))
    (change,) = harness.of(ProviderItemChanged)
    assert change.new_values == {"title": "Launch day"}
    assert change.base_values == {"title": "Plan the launch"}


async def test_a_repeated_delivery_is_a_duplicate_and_a_forged_one_is_refused(
    harness: Harness,
) -> None:
    issue_id = await export(harness)
    edit = await harness.jira.post(
        f"/_emulator/issues/{issue_id}/edit", json={"fields": {"summary": "Launch day"}}
    )
    edit.raise_for_status()
    await harness.jira.post("/_emulator/webhooks/flush")
    await until(lambda: bool(harness.of(ProviderItemChanged)))
    deliveries = (await harness.jira.get("/_emulator/webhooks/deliveries")).json()
    delivered = [d for d in deliveries if d["status"] == "delivered"]
    repeat = await harness.jira.post(f"/_emulator/webhooks/deliveries/{delivered[-1]['id']}/repeat")
    repeat.raise_for_status()
    await harness.jira.post("/_emulator/webhooks/flush")
    assert len(harness.of(ProviderItemChanged)) == 1
    (hook,) = harness.emu.webhooks.values()
    path = hook.url.removeprefix("http://tether.test")
    body = b'{"webhookEvent": "jira:issue_updated", "issue": {"id": "1"}}'
    forged = await harness.api.post(path, content=body, headers={"X-Hub-Signature": "sha256=00"})
    assert forged.status_code == 401
    unsigned = await harness.api.post("/webhooks/jira", content=body)
    assert unsigned.status_code == 401


async def test_completion_walks_the_workflow_to_done_and_back(harness: Harness) -> None:
    issue_id = await export(harness)
    await core_edit(harness, 2, completed=True)
    await until(lambda: harness.emu.store.issues[issue_id].status_id == "10002")
    walked = [r for r in harness.emu.requests if r["path"].endswith("/transitions")]
    # To Do -> In Progress -> In Review -> Done: three hops, each read then taken.
    assert [r["method"] for r in walked] == ["GET", "POST"] * 3
    await core_edit(harness, 3, completed=False)
    await until(lambda: harness.emu.store.issues[issue_id].status_id == "10000")
    await harness.jira.post("/_emulator/webhooks/flush")
    assert harness.of(ProviderItemChanged) == []  # our own moves are no person's edits


async def test_a_polling_connection_finds_edits_through_jql(harness: Harness) -> None:
    issue_id = await export(harness, MEMBER)
    assert harness.emu.webhooks == {}
    pipeline = harness.state.pipeline
    await reconcile.reconcile_once(pipeline)  # the first pass sets the watermark
    edit = await harness.jira.post(
        f"/_emulator/issues/{issue_id}/edit", json={"fields": {"summary": "Polled"}}
    )
    edit.raise_for_status()
    await reconcile.reconcile_once(pipeline)
    await until(lambda: bool(harness.of(ProviderItemChanged)))
    (change,) = harness.of(ProviderItemChanged)
    assert change.new_values == {"title": "Polled"}
    searches = [r for r in harness.emu.requests if r["path"].endswith("/search/jql")]
    assert searches, "reconciliation asked JQL what changed"
