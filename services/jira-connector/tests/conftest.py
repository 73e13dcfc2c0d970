"""The Jira connector (the runtime with the Jira adapter) over the Jira emulator, in memory:
a ``harness`` that connects (with an API token, or through OAuth 2.0 consent), exports one
task and edits it as core would, and sees what the connector publishes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from jira_connector.app import create_app
from jira_connector.config import JiraSettings
from tether_connector_runtime.state import ConnectorState
from tether_connector_runtime.testing import EventTap, serving
from tether_connector_runtime.testing import until as wait_until
from tether_connector_runtime.testing.scenarios import task_state
from tether_emulators.jira import JiraEmulator, create_jira_emulator, get_emulator
from tether_emulators.jira.emulator import JiraAccount, OAuthApp
from tether_events import (
    ExportRequested,
    LinkChanged,
    TaskChanged,
    Topic,
    topic_name,
)
from tether_events.inprocess import InProcessBus

SITE = "https://tether-emulated.atlassian.net"
ATLASSIAN = "http://127.0.0.1:9103"  # https, or http on a loopback address with a port
ADMIN = {"site_url": SITE, "email": "ada@jira.test", "api_token": "token-of-ada-0001"}
MEMBER = {"site_url": SITE, "email": "bob@jira.test", "api_token": "token-of-bob-0001"}
CLIENT_ID, CLIENT_SECRET = "tether-jira-app", "tether-jira-secret"
CALLBACK = "http://tether.test/v1/connections/jira/callback"
TASK_TYPE = "10001"


class LosingTransport(httpx.AsyncBaseTransport):
    """The connector's way to the emulator, which can lose an answer: for a path in ``lose``,
    the next call is carried out by the emulator and then fails as if the connection dropped
    before its answer arrived (a crash mid-call, as the connector sees it)."""

    def __init__(self, emulator: Any) -> None:
        self._inner = httpx.ASGITransport(app=emulator)
        self.lose: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path in self.lose:
            self.lose.discard(request.url.path)
            await response.aread()
            raise httpx.ReadError("the connection dropped before the answer", request=request)
        return response


@dataclass
class Harness:
    api: httpx.AsyncClient  # the connector's own HTTP API
    jira: httpx.AsyncClient  # the emulator's root: a person in Jira, the control API
    emu: JiraEmulator
    bus: InProcessBus
    tap: EventTap  # what the connector published
    state: ConnectorState
    to_jira: LosingTransport

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait for a condition (never for a time): the pipeline runs in background tasks."""
        await wait_until(condition)

    async def connect(self, credentials: dict[str, str], zone: str = "UTC") -> dict[str, Any]:
        created = await self.api.post(
            "/internal/v1/tenants/acme/connections",
            json=credentials,
            params={"owner_id": "ada", "time_zone": zone},
        )
        assert created.status_code == 201, created.text
        answer: dict[str, Any] = created.json()
        return answer

    async def consent(self, account_id: str) -> dict[str, Any]:
        """Connect through OAuth 2.0: the runtime's authorize URL, the person's consent (the
        emulator's control shortcut), the return with ``code`` and ``state``."""
        started = await self.api.post(
            "/internal/v1/tenants/acme/oauth/authorize", json={"user_id": "ada"}
        )
        assert started.status_code == 201, started.text
        query = parse_qs(urlsplit(started.json()["authorize_url"]).query)
        consent = await self.jira.post(
            "/_emulator/oauth/authorize",
            json={"client_id": CLIENT_ID, "redirect_uri": CALLBACK, "account_id": account_id,
                  "scope": query["scope"][0]},
        )  # fmt: skip
        consent.raise_for_status()
        back = {"code": consent.json()["code"], "state": query["state"][0]}
        connected = await self.api.post("/internal/v1/oauth/callback", json=back)
        assert connected.status_code == 201, connected.text
        answer: dict[str, Any] = connected.json()
        return answer

    async def export(self, connection_id: str, **fields: Any) -> str:
        request = ExportRequested(
            link_id="link-1",
            task_id="task-1",
            tenant_id="acme",
            provider="jira",
            connection_id=connection_id,
            target={"project_key": "OPS", "issue_type_id": TASK_TYPE},
            task=task(1, {"core": 1}, **fields),
        )
        await self.bus.publish(
            topic_name(Topic.LINK_EVENTS),
            request.envelope(source="/test", subject="task-1", tenant_id="acme"),
        )
        await self.until(lambda: any(x.status == "active" for x in self.tap.of(LinkChanged)))
        await self.jira.post("/_emulator/webhooks/flush")
        return str(self.tap.of(LinkChanged)[0].external_id)

    async def core_edit(self, version: int, **fields: Any) -> None:
        changed = task(version, {"core": version}, **fields)
        await self.bus.publish(
            topic_name(Topic.TASK_CHANGED),
            changed.envelope(source="/test", subject="task-1", tenant_id="acme"),
        )

    async def person_edits(self, issue_id: str, **fields: Any) -> None:
        edit = await self.jira.post(f"/_emulator/issues/{issue_id}/edit", json={"fields": fields})
        edit.raise_for_status()
        await self.jira.post("/_emulator/webhooks/flush")


# The exported task as core first publishes it.
SAMPLE: dict[str, Any] = {
    "title": "Plan the launch",
    "description": "Who, **what**, when",
    "due_date": date(2026, 12, 1),
}


def task(version: int, clock: dict[str, int], **fields: Any) -> TaskChanged:
    return task_state(version, clock, **(SAMPLE | fields))


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    to_connector = httpx.ASGITransport(app=None)  # type: ignore[arg-type]  # wired below
    emulator = create_jira_emulator(
        accounts=[
            JiraAccount(ADMIN["email"], ADMIN["api_token"], "Ada Lovelace", admin=True),
            JiraAccount(MEMBER["email"], MEMBER["api_token"], "Bob", "America/Los_Angeles"),
        ],
        apps=[OAuthApp(CLIENT_ID, CLIENT_SECRET, (CALLBACK,))],
        site_url=SITE,
        webhook_transport=to_connector,
        webhook_retry_delays=(0, 0, 0),
    )
    settings = JiraSettings(
        bus="inprocess",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/jira.db",
        public_url="http://tether.test",
        reconcile_interval=3600,
        api_url=ATLASSIAN,
        auth_url=ATLASSIAN,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    bus = InProcessBus()
    to_jira = LosingTransport(emulator)
    connector = create_app(settings, bus=bus, transport=to_jira)
    to_connector.app = connector
    tap = EventTap(bus)
    emu = get_emulator(emulator)
    emu.store.add_project("OPS", "Operations")
    async with serving(connector, bus, emulator, SITE) as (api, jira):
        yield Harness(api, jira, emu, bus, tap, connector.state.connector, to_jira)
    await emu.aclose()
