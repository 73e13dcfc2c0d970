"""Asana end to end: the services as separate processes on real Kafka and PostgreSQL, the Asana
emulator as one more process, driven through the gateway, the emulator's "person in Asana"
controls, and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.e2e.asana_world import AsanaWorld
from tests.e2e.world import core_has, eventually
from tether_connector_runtime.signatures import asana_signature
from tether_devinfra.services import SERVICES

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 60.0


def asana_has(world: AsanaWorld, gid: str, **values: Any) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        task = await world.asana_task(gid)
        return task if all(task.get(k) == v for k, v in values.items()) else None

    return probe


async def test_export_makes_one_task_and_edits_flow_both_ways_without_echo(
    asana_world: AsanaWorld,
) -> None:
    world = asana_world
    task_id, gid = await world.export_new_task(description="Who, **what**, when")
    [made] = await world.project_tasks()
    assert (made["gid"], made["name"]) == (gid, "Plan the week")
    assert "<strong>what</strong>" in made["html_notes"]
    writes = await world.writes_to(gid)  # what the export itself needed, if anything

    # A core edit reaches the task.
    await world.edit_core(task_id, title="Plan the week (v2)")
    await eventually(asana_has(world, gid, name="Plan the week (v2)"), within=WITHIN)

    # A person's edit in Asana reaches the core, Markdown from Asana's rich text.
    await world.person_edits(gid, html_notes="<body>Agenda <em>first</em></body>")
    await eventually(core_has(world, task_id, description="Agenda *first*"), within=WITHIN)

    # A barrier, not a pause: core's change after the merge is one more TaskChanged of this
    # task, behind the merge's on the task's partition, so once it has reached Asana any echo of
    # the merged description would have been written already.
    await world.edit_core(task_id, title="Barrier")
    await eventually(asana_has(world, gid, name="Barrier"), within=WITHIN)
    assert await world.writes_to(gid) == writes + 2  # the two core edits, no echo
    assert "<em>first</em>" in (await world.asana_task(gid))["html_notes"]
    assert [t["gid"] for t in await world.project_tasks()] == [gid]


async def test_concurrent_edits_to_different_fields_both_survive(asana_world: AsanaWorld) -> None:
    world = asana_world
    task_id, gid = await world.export_new_task()
    await asyncio.gather(
        world.edit_core(task_id, due_date="2027-01-15"),
        world.person_edits(gid, name="Renamed in Asana"),
    )

    async def converged() -> bool:
        task, there = await world.task(task_id), await world.asana_task(gid)
        return (
            task["title"] == "Renamed in Asana"
            and task["due_date"] == "2027-01-15"
            and there["name"] == "Renamed in Asana"
            and there["due_on"] == "2027-01-15"
            and there["due_at"] is None
        )

    await eventually(converged, within=WITHIN, what="both edits on both sides")


async def test_completion_flows_both_ways(asana_world: AsanaWorld) -> None:
    world = asana_world
    task_id, gid = await world.export_new_task()
    await world.edit_core(task_id, completed=True)
    await eventually(asana_has(world, gid, completed=True), within=WITHIN)
    await world.person_edits(gid, completed=False)
    await eventually(core_has(world, task_id, completed=False), within=WITHIN)


async def _webhook_target(world: AsanaWorld) -> str:
    webhooks = (await world.asana.get("/_emulator/webhooks")).json()
    [webhook] = [w for w in webhooks if w["resource"]["gid"] == world.project_gid]
    return str(webhook["target"])


async def test_a_bad_signature_is_refused_and_an_unknown_webhook_is_not_found(
    asana_world: AsanaWorld,
) -> None:
    world = asana_world
    await world.export_new_task()
    target = await _webhook_target(world)
    body = b'{"events": [{"action": "changed", "resource": {"gid": "1", "resource_type": "task"}}]}'
    async with httpx.AsyncClient() as http:
        forged = await http.post(
            target, content=body, headers={"X-Hook-Signature": asana_signature("guess", body)}
        )
        unsigned = await http.post(target, content=body)
        unknown = await http.post(
            target.rsplit("/", 1)[0] + "/no-such-webhook",
            content=body,
            headers={"X-Hook-Signature": asana_signature("guess", body)},
        )
    for refused in (forged, unsigned):
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "signature_invalid"
    assert unknown.status_code == 404, unknown.text
    assert "error" in unknown.json()


async def test_a_dropped_delivery_is_repaired_by_the_events_api(asana_world: AsanaWorld) -> None:
    world = asana_world
    task_id, gid = await world.export_new_task()
    await world.flush_webhooks()
    dropped = await world.asana.post("/_emulator/webhooks/drop-next", params={"count": 5})
    assert dropped.status_code == 200, dropped.text
    await world.person_edits(gid, name="Missed delivery")
    await eventually(
        core_has(world, task_id, title="Missed delivery"),
        within=WITHIN,
        what="reconciliation to bring the lost edit",
    )
    deliveries = (await world.asana.get("/_emulator/webhooks/deliveries")).json()
    assert any(d["status"] == "dropped" for d in deliveries), "nothing was dropped: proves nothing"


async def test_an_expired_sync_token_is_a_recrawl_that_still_finds_the_edit(
    asana_world: AsanaWorld,
) -> None:
    world = asana_world
    task_id, gid = await world.export_new_task()
    await world.flush_webhooks()
    await world.asana.post("/_emulator/webhooks/drop-next", params={"count": 5})
    expired = await world.asana.post("/_emulator/events/expire-sync-tokens")
    assert expired.status_code == 200, expired.text
    await world.person_edits(gid, notes="Written while the sync token expired")
    await eventually(
        core_has(world, task_id, description="Written while the sync token expired"),
        within=WITHIN,
    )
    answered_412 = [
        r for r in await world.requests() if r["path"].endswith("/events") and r["status"] == 412
    ]
    assert answered_412, "the events API never answered 412: the re-crawl was not exercised"


async def test_a_revoked_token_breaks_the_connection_until_connected_again(
    asana_world: AsanaWorld,
) -> None:
    world = asana_world
    task_id, gid = await world.export_new_task()
    overview = (await world.asana.get("/_emulator")).json()
    user = next(u["gid"] for u in overview["users"] if world.token in u["tokens"])
    revoked = await world.asana.delete(f"/_emulator/tokens/{world.token}")
    assert revoked.json() == {"revoked": True}

    await world.edit_core(task_id, title="Edited while broken")

    async def broken() -> Any:
        answer = await world.api.get("/v1/connections")
        mine: dict[str, Any] = next(
            (c for c in answer.json() if c["id"] == world.connection_id), {}
        )
        return mine if mine.get("status") == "broken" else None

    assert (await eventually(broken, within=WITHIN))["broken_since"] is not None
    link = await eventually(world.link_in(task_id, "paused"), within=WITHIN)
    assert "reconnect" in str(link["error"])

    granted = await world.asana.post("/_emulator/tokens", json={"user": user})
    assert granted.status_code == 200, granted.text
    again = await world.api.post(
        "/v1/connections", json={"provider": "asana", "token": granted.json()["token"]}
    )
    assert again.status_code == 201, again.text
    assert (again.json()["id"], again.json()["status"]) == (world.connection_id, "active")
    await eventually(world.link_in(task_id, "active"), within=WITHIN, what="resumed")
    await eventually(asana_has(world, gid, name="Edited while broken"), within=WITHIN)


async def test_trash_in_asana_flags_the_task_and_a_core_delete_trashes(
    asana_world: AsanaWorld,
) -> None:
    world = asana_world
    trashed_task, trashed_gid = await world.export_new_task(title="Trashed in Asana")
    deleted_task, deleted_gid = await world.export_new_task(title="Deleted in Tether")

    assert (await world.asana.delete(f"/_emulator/tasks/{trashed_gid}")).status_code == 200

    async def flagged() -> Any:
        page = (await world.api.get("/v1/tasks", params={"needs_review": "true"})).json()
        return next((t for t in page["items"] if t["id"] == trashed_task), None)

    task = await eventually(flagged, within=WITHIN, what="the task flagged")
    assert task["deleted"] is False
    assert task["review"]["reason"] in ("provider_deleted", "provider_archived")

    assert (await world.api.delete(f"/v1/tasks/{deleted_task}")).status_code == 204
    await eventually(asana_has(world, deleted_gid, trashed=True), within=WITHIN)


async def test_a_repeated_delivery_is_taken_once_and_writes_nothing(
    asana_world: AsanaWorld,
) -> None:
    world = asana_world
    task_id, gid = await world.export_new_task()
    await world.flush_webhooks()
    await world.person_edits(gid, name="Edited once")
    await eventually(core_has(world, task_id, title="Edited once"), within=WITHIN)
    await world.flush_webhooks()
    version = (await world.task(task_id))["version"]
    deliveries = (await world.asana.get("/_emulator/webhooks/deliveries")).json()
    delivered = [d for d in deliveries if d["status"] == "delivered" and d["events"]]
    assert delivered, "no delivery carried events: nothing to repeat"
    before = await world.requests()

    # Asana sends the same bytes again (it never heard our answer): taken as a duplicate.
    for delivery in delivered:
        again = await world.asana.post(f"/_emulator/webhooks/deliveries/{delivery['id']}/repeat")
        assert again.status_code == 200, again.text
    await world.flush_webhooks()
    repeats = (await world.asana.get("/_emulator/webhooks/deliveries")).json()[-len(delivered) :]
    assert [d["status"] for d in repeats] == ["delivered"] * len(delivered)
    # The connector knew them again: answered as duplicates, not handled a second time.
    spec = next(s for s in SERVICES if s.name == "asana-connector")
    log = world.deployment.log_file(spec).read_text()
    assert log.count("webhook_duplicate") == len(delivered)

    # A barrier through the task's partition: once a later core edit is in Asana, anything
    # the repeats caused would have happened.
    await world.edit_core(task_id, title="Barrier")
    await eventually(asana_has(world, gid, name="Barrier"), within=WITHIN)
    after = (await world.requests())[len(before) :]
    # No write but the barrier's, and the core saw one change: the barrier, no repeat.
    writes = [r for r in after if r["method"] in ("PUT", "POST", "DELETE") and gid in r["path"]]
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in writes] == [("PUT", gid)]
    assert (await world.task(task_id))["version"] == version + 1
