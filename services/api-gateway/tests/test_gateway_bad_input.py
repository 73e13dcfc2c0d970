"""Bad input stops at the gateway as a 4xx in the one error shape, never a 5xx: text JSON cannot
mean, numbers JSON does not have, bodies nested beyond the parser, routes and methods that do
not exist; task-core's own 422s come back naming the field in the same shape."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

IssueToken = Callable[[str, str], Awaitable[str]]
JSON = {"content-type": "application/json"}


@pytest.fixture
async def ann(issue_token: IssueToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await issue_token('acme', 'ann@acme.test')}", **JSON}


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error, read as strict JSON (no NaN, no raw lone surrogate), in the one shape."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in an answer")

    body = json.loads(response.content.decode("utf-8"), parse_constant=refuse)
    assert list(body) == ["error"], body
    assert set(body["error"]) <= {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str)
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


BODIES = {
    "lone-surrogate": ('{"title": "a\\ud800b"}', "body.title"),
    "nul": ('{"title": "a\\u0000b"}', "body.title"),
    "nan": ('{"title": NaN}', "body.title"),
    "infinity": ('{"title": "ok", "completed": Infinity}', "body.completed"),
}


@pytest.mark.parametrize(("raw", "field"), list(BODIES.values()), ids=list(BODIES))
async def test_a_body_json_cannot_mean_is_a_422_that_never_reaches_task_core(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    task_core_requests: list[httpx.Request],
    raw: str,
    field: str,
) -> None:
    created = await client.post("/v1/tasks", headers=ann, content=raw)
    patched = await client.patch("/v1/tasks/t1", headers=ann, content=raw)

    for response in (created, patched):
        assert response.status_code == 422, response.text
        error = error_of(response)
        assert error["code"] == "invalid_input"
        assert [problem["field"] for problem in error["details"]] == [field]
        assert field in error["message"]
    assert task_core_requests == []


async def test_a_credential_json_cannot_mean_never_reaches_a_connector(
    client: httpx.AsyncClient, ann: dict[str, str], fake_connectors: Any
) -> None:
    raw = '{"provider": "trello", "token": "tok\\ud800en-123"}'
    response = await client.post("/v1/connections", headers=ann, content=raw)
    assert response.status_code == 422, response.text
    assert [p["field"] for p in error_of(response)["details"]] == ["body.token"]
    assert fake_connectors.requests == []


async def test_a_body_nested_beyond_the_parser_is_a_400(
    client: httpx.AsyncClient, ann: dict[str, str], task_core_requests: list[httpx.Request]
) -> None:
    raw = '{"title": ' + "[" * 5_000 + "]" * 5_000 + "}"
    response = await client.post("/v1/tasks", headers=ann, content=raw)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"
    assert task_core_requests == []


async def test_a_forged_cursor_is_task_cores_422_naming_the_cursor(
    client: httpx.AsyncClient, ann: dict[str, str]
) -> None:
    response = await client.get("/v1/tasks", headers=ann, params={"cursor": "forged"})
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], [p["field"] for p in error["details"]]) == (
        "invalid_input",
        ["query.cursor"],
    )


async def test_every_error_has_the_one_shape(
    client: httpx.AsyncClient, ann: dict[str, str]
) -> None:
    answers = {
        "no-route": await client.get("/v1/nothing-here", headers=ann),
        "no-method": await client.put("/v1/tasks", headers=ann, json={}),
        "no-token": await client.get("/v1/tasks"),
        "no-task": await client.get("/v1/tasks/no-such-task", headers=ann),
        "not-json": await client.post("/v1/tasks", headers=ann, content="{"),
        "bad-field": await client.post("/v1/tasks", headers=ann, json={"title": ""}),
    }
    codes = {name: (r.status_code, error_of(r)["code"]) for name, r in answers.items()}
    assert codes == {
        "no-route": (404, "route_not_found"),
        "no-method": (405, "method_not_allowed"),
        "no-token": (401, "unauthorized"),
        "no-task": (404, "task_not_found"),
        "not-json": (422, "invalid_input"),
        "bad-field": (422, "invalid_input"),
    }
    assert error_of(answers["no-task"])["details"] == {"task_id": "no-such-task"}
    [problem] = error_of(answers["bad-field"])["details"]
    assert (problem["field"], problem["loc"], problem["type"]) == (
        "body.title",
        ["body", "title"],
        "string_too_short",
    )
    assert "input" not in problem  # never echoed: it may be a credential
