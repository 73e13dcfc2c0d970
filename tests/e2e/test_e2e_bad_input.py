"""Bad input never reaches a 5xx, a stuck link or a leak, end to end: the gateway and the
Trello connector running as processes on real Kafka and PostgreSQL, every answer in the one
error shape ``{"error": {"code", "message", "details"?}}``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.trello_world import SECRET, TrelloWorld
from tests.e2e.world import eventually
from tether_connector_runtime.signatures import trello_signature

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def error_of(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    error: dict[str, Any] = body["error"]
    return error


async def test_bad_requests_are_4xx_in_one_shape_and_register_nothing(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    surrogate = await w.api.post(
        "/v1/tasks",
        content=b'{"title": "a\\ud800b"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422, surrogate.text
    assert "body.title" in json.dumps(error_of(surrogate))
    not_a_number = await w.api.post(
        "/v1/tasks",
        content=b'{"title": "x", "completed": NaN}',
        headers={"Content-Type": "application/json"},
    )
    assert not_a_number.status_code == 422, not_a_number.text
    forged = await w.api.get("/v1/tasks", params={"cursor": "ZGF0ZTo5OTk5OTktMDEtMDE"})
    assert forged.status_code in (400, 422), forged.text
    error_of(forged)

    created = await w.api.post("/v1/tasks", json={"title": "Plan"})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    unknown = await w.api.post(
        f"/v1/tasks/{task_id}/exports",
        json={"connection_id": "trello_" + "0" * 24, "target": {"list_id": w.list_id}},
    )
    assert unknown.status_code == 404, unknown.text
    assert error_of(unknown)["code"] == "connection_not_found"
    assert await w.links(task_id) == []  # nothing left pending
    bad_list = await w.api.post(
        f"/v1/tasks/{task_id}/exports",
        json={"connection_id": w.connection_id, "target": {"list_id": "../../boards"}},
    )
    assert bad_list.status_code in (202, 404, 422), bad_list.text
    if bad_list.status_code == 202:
        # Accepted before the connector saw the id: the link must end failed, not pending.
        async def failed() -> Any:
            links = await w.links(task_id)
            return links if links and links[0]["status"] == "failed" else None

        [link] = await eventually(failed, within=60, what="the export to fail")
        assert "id" in str(link["error"])
    else:
        error_of(bad_list)


async def test_a_token_that_could_break_out_of_its_header_never_connects(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    forged = await w.api.post(
        "/v1/connections",
        json={"provider": "trello", "token": 'x", oauth_token="sandbox-token'},
    )
    assert forged.status_code == 400, forged.text
    error = error_of(forged)
    assert "sandbox-token" not in json.dumps(error)
    assert "e2e-key" not in json.dumps(error)


async def test_signed_webhook_bodies_of_the_wrong_shape_are_400(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    url = f"{w.deployment.url('trello-connector')}/webhooks/trello"
    bodies = [
        json.dumps({"action": {"id": "a1", "type": "updateCard", "data": {"card": 5}}}),
        json.dumps({"model": {"id": w.board_id}, "action": {"data": {"card": {"due": 7}}}}),
        "[" * 5000 + "]" * 5000,
    ]
    async with httpx.AsyncClient(timeout=30) as client:
        for body in bodies:
            raw = body.encode()
            answer = await client.post(
                url,
                content=raw,
                headers={
                    "Content-Type": "application/json",
                    "X-Trello-Webhook": trello_signature(SECRET, raw, url),
                },
            )
            assert answer.status_code == 400, (body[:80], answer.text)
            error_of(answer)
