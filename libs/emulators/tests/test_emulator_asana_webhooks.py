"""Webhooks: the handshake inside the create call, heartbeats, signed compact events,
at-most-once delivery, retries, listing and deletion."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from tether_emulators.asana import AsanaEmulator, asana_signature
from tether_emulators.asana.testing import HookRecorder

TARGET = "https://tether.test/webhooks/asana/7?kind=project"


async def register(asana: httpx.AsyncClient, resource: str, **extra: Any) -> dict[str, Any]:
    response = await asana.post(
        "/webhooks", json={"data": {"resource": resource, "target": TARGET, **extra}}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def settle(control: httpx.AsyncClient) -> None:
    assert (await control.post("/webhooks/flush")).status_code == 200


async def new_task(asana: httpx.AsyncClient, project: dict[str, Any]) -> str:
    created = await asana.post("/tasks", json={"data": {"projects": [project["gid"]]}})
    return str(created.json()["data"]["gid"])


async def test_handshake_happens_during_the_create_call(
    asana: httpx.AsyncClient,
    asana_control: httpx.AsyncClient,
    project: dict[str, Any],
    hooks: HookRecorder,
) -> None:
    created = await register(asana, project["gid"])
    [handshake] = hooks.handshakes  # already there when the create call answered
    assert handshake.url == TARGET
    assert created["X-Hook-Secret"] == handshake.secret
    webhook = created["data"]
    assert webhook["resource"] == {
        "gid": project["gid"],
        "resource_type": "project",
        "name": "Team",
    }
    assert (webhook["resource_type"], webhook["target"]) == ("webhook", TARGET)
    await settle(asana_control)
    [heartbeat] = hooks.deliveries  # right after the handshake
    assert heartbeat.json() == {"events": []}
    assert heartbeat.signature == asana_signature(handshake.secret or "", heartbeat.body)


async def test_a_target_that_does_not_echo_the_secret_gets_no_webhook(
    asana: httpx.AsyncClient, project: dict[str, Any], hooks: HookRecorder
) -> None:
    hooks.echo_secret = False
    refused = await asana.post(
        "/webhooks", json={"data": {"resource": project["gid"], "target": TARGET}}
    )
    assert refused.status_code == 400
    hooks.echo_secret, hooks.handshake_status = True, 201  # 200 or 204 only
    refused = await asana.post(
        "/webhooks", json={"data": {"resource": project["gid"], "target": TARGET}}
    )
    assert refused.status_code == 400
    listed = await asana.get("/webhooks", params={"workspace": await _workspace(asana)})
    assert listed.json()["data"] == []


async def _workspace(asana: httpx.AsyncClient) -> str:
    return str((await asana.get("/workspaces")).json()["data"][0]["gid"])


async def test_localhost_targets_are_forbidden(
    asana: httpx.AsyncClient, project: dict[str, Any], hooks: HookRecorder
) -> None:
    for target in ("http://localhost:8000/hook", "http://127.0.0.1:8000/hook"):
        refused = await asana.post(
            "/webhooks", json={"data": {"resource": project["gid"], "target": target}}
        )
        assert refused.status_code == 403
    assert hooks.handshakes == []


async def test_deliveries_are_signed_compact_events(
    asana: httpx.AsyncClient,
    asana_control: httpx.AsyncClient,
    project: dict[str, Any],
    hooks: HookRecorder,
) -> None:
    secret = (await register(asana, project["gid"]))["X-Hook-Secret"]
    task = await new_task(asana, project)
    await asana.put(f"/tasks/{task}", json={"data": {"name": "Renamed", "completed": True}})
    await settle(asana_control)
    for post in hooks.deliveries:
        # Verified independently of the emulator's helper: hex HMAC-SHA256 of the raw body.
        expected = hmac.new(secret.encode(), post.body, hashlib.sha256).hexdigest()
        assert post.signature is not None
        assert hmac.compare_digest(post.signature, expected)
    changes = [e for e in hooks.events() if e["action"] == "changed"]
    assert sorted(e["change"]["field"] for e in changes) == ["completed", "name"]
    for event in changes:
        assert set(event) == {"user", "created_at", "action", "resource", "parent", "change"}
        assert event["resource"] == {
            "gid": task,
            "resource_type": "task",
            "resource_subtype": "default_task",
        }
        assert event["change"] == {"field": event["change"]["field"], "action": "changed"}
        assert event["parent"] is None
        assert event["user"]["resource_type"] == "user"
    added = [e for e in hooks.events() if e["action"] == "added"]
    assert {e["parent"]["resource_type"] for e in added} == {"project", "section"}


async def test_person_edits_and_moves_are_delivered_too(
    asana: httpx.AsyncClient,
    asana_control: httpx.AsyncClient,
    project: dict[str, Any],
    hooks: HookRecorder,
) -> None:
    task = await new_task(asana, project)
    await register(asana, project["gid"])
    edit = await asana_control.post(f"/tasks/{task}/edit", json={"due_on": "2026-12-24"})
    assert edit.status_code == 200
    done = project["sections"][2]["gid"]
    await asana_control.post(f"/tasks/{task}/section", json={"section": done})
    await asana_control.delete(f"/tasks/{task}")
    await settle(asana_control)
    person = (await asana_control.get("")).json()["person"]["gid"]
    events = hooks.events()
    assert {e["user"]["gid"] for e in events} == {person}
    summary = [(e["action"], (e["parent"] or {}).get("gid"), e.get("change")) for e in events]
    assert summary == [
        ("changed", None, {"field": "due_on", "action": "changed"}),
        ("removed", project["sections"][0]["gid"], None),
        ("added", done, None),
        ("deleted", None, None),
    ]


async def test_lost_deliveries_stay_lost(
    asana: httpx.AsyncClient,
    asana_control: httpx.AsyncClient,
    project: dict[str, Any],
    hooks: HookRecorder,
) -> None:
    await register(asana, project["gid"])
    await settle(asana_control)
    await asana_control.post("/webhooks/drop-next", params={"count": 1})
    task = await new_task(asana, project)
    await asana.put(f"/tasks/{task}", json={"data": {"name": "Seen"}})
    await settle(asana_control)
    assert [e["action"] for e in hooks.events()] == ["changed"]
    statuses = [d["status"] for d in (await asana_control.get("/webhooks/deliveries")).json()]
    assert statuses == ["delivered", "dropped", "delivered"]


async def test_failing_target_is_retried_then_the_webhook_is_deleted(
    asana: httpx.AsyncClient,
    asana_control: httpx.AsyncClient,
    project: dict[str, Any],
    hooks: HookRecorder,
) -> None:
    await register(asana, project["gid"])
    await settle(asana_control)
    hooks.answer_next(500, 503)
    await new_task(asana, project)
    await settle(asana_control)
    [_, delivery] = (await asana_control.get("/webhooks/deliveries")).json()
    assert (delivery["attempts"], delivery["status"]) == ([500, 503, 200], "delivered")
    hooks.answer_next(500, 500, 500, 500)
    await new_task(asana, project)
    await settle(asana_control)
    assert (await asana.get("/webhooks", params={"workspace": await _workspace(asana)})).json()[
        "data"
    ] == []


async def test_list_and_delete_webhooks(
    asana: httpx.AsyncClient, asana_control: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    created = (await register(asana, project["gid"]))["data"]
    workspace = await _workspace(asana)
    listed = await asana.get("/webhooks", params={"workspace": workspace})
    assert [w["gid"] for w in listed.json()["data"]] == [created["gid"]]
    assert (await asana.get("/webhooks")).status_code == 400  # workspace is required
    deleted = await asana.delete(f"/webhooks/{created['gid']}")
    assert (deleted.status_code, deleted.json()) == (200, {"data": {}})
    assert (await asana.delete(f"/webhooks/{created['gid']}")).status_code == 404


async def test_handshake_reaches_a_receiver_served_while_the_call_is_open(
    asana: httpx.AsyncClient, asana_emulator: AsanaEmulator, project: dict[str, Any]
) -> None:
    """A real ASGI receiver: it must answer the handshake while POST /webhooks waits."""
    receiver = FastAPI()
    secrets_seen: list[str] = []
    handshake_done = asyncio.Event()

    @receiver.post("/webhooks/asana/7")
    async def hook(request: Request) -> Response:
        secret = request.headers.get("x-hook-secret")
        if secret is None:
            return Response(status_code=204)
        secrets_seen.append(secret)
        handshake_done.set()
        return Response(status_code=204, headers={"X-Hook-Secret": secret})

    asana_emulator.dispatcher.transport = httpx.ASGITransport(app=receiver)
    created = await register(asana, project["gid"])
    assert handshake_done.is_set()
    assert secrets_seen == [created["X-Hook-Secret"]]


async def test_a_delivery_repeated_is_the_same_bytes_and_signature_under_a_new_id(
    asana: httpx.AsyncClient,
    asana_control: httpx.AsyncClient,
    project: dict[str, Any],
    hooks: HookRecorder,
) -> None:
    await register(asana, project["gid"])
    await new_task(asana, project)
    await settle(asana_control)
    logged = (await asana_control.get("/webhooks/deliveries")).json()
    first = logged[-1]
    again = await asana_control.post(f"/webhooks/deliveries/{first['id']}/repeat")
    assert again.status_code == 200, again.text
    assert again.json()["id"] > first["id"]
    await settle(asana_control)
    original, repeated = hooks.deliveries[-2], hooks.deliveries[-1]
    assert (repeated.body, repeated.signature) == (original.body, original.signature)
    unknown = await asana_control.post("/webhooks/deliveries/999999/repeat")
    assert unknown.status_code == 404
