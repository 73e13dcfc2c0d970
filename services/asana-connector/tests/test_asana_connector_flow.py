"""The Asana connector (the runtime with the Asana adapter) against the emulator, in memory:
connect a personal access token, export one task, its project webhook registered through the
handshake at its own URL, a person's edit in Asana delivered, verified with that webhook's
secret and published, a forged delivery refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from asana_connector.app import create_app
from asana_connector.config import AsanaSettings
from tether_connector_runtime.testing import EventTap, serving, until
from tether_emulators.asana import AsanaEmulator, create_asana_emulator, get_emulator
from tether_events import (
    ExportRequested,
    LinkChanged,
    ProviderItemChanged,
    TaskChanged,
    Topic,
    VectorClock,
    topic_name,
)
from tether_events.inprocess import InProcessBus

TOKEN = "pat-of-ada-0001"


@dataclass
class Harness:
    api: httpx.AsyncClient  # the connector's own HTTP API
    asana: httpx.AsyncClient  # the emulator's root: a person in Asana, the control API
    emu: AsanaEmulator
    bus: InProcessBus
    tap: EventTap  # what the connector published
    project: str
    sections: list[str]


@pytest.fixture
async def harness(
    tmp_path: Path, settings_for: Callable[..., AsanaSettings]
) -> AsyncIterator[Harness]:
    to_connector = httpx.ASGITransport(app=None)  # type: ignore[arg-type]  # wired below
    emulator = create_asana_emulator(
        tokens={TOKEN: "Ada Lovelace"},
        webhook_transport=to_connector,
        allow_local_targets=True,
        per_minute=1_000_000,
    )
    settings = settings_for(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/asana.db", reconcile_interval=3600
    )
    bus = InProcessBus()
    connector = create_app(settings, bus=bus, transport=httpx.ASGITransport(app=emulator))
    to_connector.app = connector
    tap = EventTap(bus)
    emu = get_emulator(emulator)
    project = emu.store.add_project(emu.workspace, "Launch", ["To do", "Done"])
    sections = [s.gid for s in emu.store.project_sections(project.gid)]
    async with serving(connector, bus, emulator, "http://asana.test") as (api, asana):
        yield Harness(api, asana, emu, bus, tap, project.gid, sections)
    await emu.aclose()


def task(version: int, clock: dict[str, int], **fields: Any) -> TaskChanged:
    values: dict[str, Any] = {
        "title": "Plan the launch",
        "description": "Who, **what**, when",
        "due_date": None,
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


async def connect_and_export(h: Harness, **fields: Any) -> str:
    created = await h.api.post("/internal/v1/tenants/acme/connections", json={"token": TOKEN})
    assert created.status_code == 201, created.text
    request = ExportRequested(
        link_id="link-1",
        task_id="task-1",
        tenant_id="acme",
        provider="asana",
        connection_id=created.json()["id"],
        target={"project_gid": h.project, "section_gid": h.sections[0]},
        task=task(1, {"core": 1}, **({"due_date": date(2026, 12, 1)} | fields)),
    )
    # Deliveries wait until the webhook's registration is recorded: the heartbeat Asana
    # sends right after the handshake would otherwise meet a webhook still registering.
    await h.asana.post("/_emulator/webhooks/pause")
    await h.bus.publish(
        topic_name(Topic.LINK_EVENTS),
        request.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )
    await until(lambda: any(x.status == "active" for x in h.tap.of(LinkChanged)))
    await h.asana.post("/_emulator/webhooks/resume")
    await h.asana.post("/_emulator/webhooks/flush")
    return str(h.tap.of(LinkChanged)[0].external_id)


async def test_a_refused_token_is_a_400_with_asanas_reason(harness: Harness) -> None:
    answer = await harness.api.post(
        "/internal/v1/tenants/acme/connections", json={"token": "not-a-token-of-anyone"}
    )
    assert answer.status_code == 400
    assert "Not Authorized" in answer.json()["error"]["message"]


async def test_export_creates_one_task_and_a_webhook_at_its_own_url(harness: Harness) -> None:
    gid = await connect_and_export(harness)
    (only,) = [t for t in harness.emu.store.tasks.values() if t.trashed_at is None]
    assert only.gid == gid
    assert only.name == "Plan the launch"
    assert only.due_on == "2026-12-01"
    assert only.memberships == [(harness.project, harness.sections[0])]
    (hook,) = harness.emu.webhooks.values()
    assert hook.target.startswith("http://tether.test/webhooks/asana/")
    assert hook.resource["gid"] == harness.project
    # The heartbeat after the handshake was verified with the webhook's secret and taken.
    assert [d.status for d in harness.emu.dispatcher.deliveries] == ["delivered"]
    assert harness.tap.of(LinkChanged)[0].replica == f"asana:{gid}"


async def test_a_persons_edit_in_asana_is_published_once(harness: Harness) -> None:
    gid = await connect_and_export(harness)
    edit = await harness.asana.post(f"/_emulator/tasks/{gid}/edit", json={"name": "Launch day"})
    edit.raise_for_status()
    await harness.asana.post("/_emulator/webhooks/flush")
    await until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    assert change.new_values == {"title": "Launch day"}
    assert change.base_values == {"title": "Plan the launch"}


async def test_a_forged_delivery_is_refused_and_changes_nothing(harness: Harness) -> None:
    await connect_and_export(harness)
    (hook,) = harness.emu.webhooks.values()
    path = hook.target.removeprefix("http://tether.test")
    body = b'{"events": [{"resource": {"gid": "1", "resource_type": "task"}}]}'
    forged = await harness.api.post(path, content=body, headers={"X-Hook-Signature": "0" * 64})
    assert forged.status_code == 401
    unknown = await harness.api.post("/webhooks/asana/no-such-key", content=body)
    assert unknown.status_code == 404
    assert harness.tap.of(ProviderItemChanged) == []


async def test_a_task_moved_to_another_project_is_followed_there(harness: Harness) -> None:
    gid = await connect_and_export(harness)
    other = harness.emu.store.add_project(harness.emu.workspace, "Later", ["Inbox"])
    for step in (
        harness.asana.post(f"/_emulator/tasks/{gid}/projects", json={"project": other.gid}),
        harness.asana.delete(f"/_emulator/tasks/{gid}/projects/{harness.project}"),
    ):
        (await step).raise_for_status()
    await harness.asana.post("/_emulator/webhooks/flush")
    # The link follows the task: a webhook on the new project, which hears the next edit.
    await until(lambda: any(h.resource["gid"] == other.gid for h in harness.emu.webhooks.values()))
    await harness.asana.post("/_emulator/webhooks/flush")
    edit = await harness.asana.post(f"/_emulator/tasks/{gid}/edit", json={"name": "Moved on"})
    edit.raise_for_status()
    await harness.asana.post("/_emulator/webhooks/flush")
    await until(
        lambda: any(
            c.new_values.get("title") == "Moved on" for c in harness.tap.of(ProviderItemChanged)
        )
    )
    assert not any(c.deleted for c in harness.tap.of(ProviderItemChanged))


async def test_a_task_taken_out_of_every_project_is_unlinked_and_flagged(harness: Harness) -> None:
    gid = await connect_and_export(harness)
    removed = await harness.asana.delete(f"/_emulator/tasks/{gid}/projects/{harness.project}")
    removed.raise_for_status()
    await harness.asana.post("/_emulator/webhooks/flush")
    # No project's webhook or events would tell of it again: it leaves the link, flagged.
    await until(lambda: any(c.deleted for c in harness.tap.of(ProviderItemChanged)))
    (gone,) = [c for c in harness.tap.of(ProviderItemChanged) if c.deleted]
    assert (gone.external_id, gone.gone) == (gid, "out_of_reach")
    assert harness.emu.store.tasks[gid].trashed_at is None  # the task itself is left alone


async def test_markdown_spelled_otherwise_round_trips_without_a_change(harness: Harness) -> None:
    """Core's ``__what__`` is held as ``<strong>`` and read back as ``**what**``: the same
    text, so neither the export's echo nor a later edit of another field publishes it."""
    gid = await connect_and_export(harness, description="Who, __what__, _when_\n\n* one\n* two")
    assert "<strong>what</strong>" in harness.emu.store.tasks[gid].html_notes
    edit = await harness.asana.post(f"/_emulator/tasks/{gid}/edit", json={"name": "Launch day"})
    edit.raise_for_status()
    await harness.asana.post("/_emulator/webhooks/flush")
    await until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    assert change.new_values == {"title": "Launch day"}
    updates = [r for r in harness.emu.requests if r["method"] == "PUT"]
    assert updates == []  # the export wrote the description once, in its create
