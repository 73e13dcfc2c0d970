"""No bad input is a 5xx: text JSON cannot mean, numbers JSON does not have, forged cursors and
ids no row can have are 422s naming the field, in the one error shape every service shares."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

TASKS = "/internal/v1/tenants/acme/tasks"
CONFLICTS = "/internal/v1/tenants/acme/conflicts"
JSON = {"content-type": "application/json"}


def strict_json(response: httpx.Response) -> Any:
    """The body, parsed as JSON text must be: no NaN, no lone surrogate left unescaped."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in an answer")

    return json.loads(response.content.decode("utf-8"), parse_constant=refuse)


def invalid_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    error = strict_json(response)["error"]
    assert error["code"] == "invalid_input"
    assert error["details"][0]["field"] in error["message"]
    return [problem["field"] for problem in error["details"]]


async def create(api: httpx.AsyncClient) -> str:
    created = await api.post(TASKS, json={"title": "Plan"})
    assert created.status_code == 201, created.text
    task_id: str = created.json()["id"]
    return task_id


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"title": "a\\ud800b"}', "body.title"),
        ('{"title": "a\\udfffb"}', "body.title"),
        ('{"title": "ok", "description": "\\ud83d"}', "body.description"),
        ('{"title": "a\\u0000b"}', "body.title"),
        ('{"title": "ok", "\\ud800": 1}', "body"),
        ('{"title": NaN}', "body.title"),
        ('{"title": "ok", "completed": Infinity}', "body.completed"),
        ('{"title": "ok", "due_date": -Infinity}', "body.due_date"),
    ],
    ids=["lone-high", "lone-low", "half-a-pair", "nul", "in-a-key", "nan", "inf", "-inf"],
)
async def test_a_body_json_cannot_mean_is_a_422_naming_the_field(
    api: httpx.AsyncClient, raw: str, field: str
) -> None:
    task_id = await create(api)
    created = await api.post(TASKS, content=raw, headers=JSON)
    patched = await api.patch(f"{TASKS}/{task_id}", content=raw, headers=JSON)

    assert invalid_fields(created) == [field]
    assert invalid_fields(patched) == [field]
    listed = (await api.get(TASKS)).json()["items"]
    assert [task["title"] for task in listed] == ["Plan"]


async def test_a_properly_paired_surrogate_is_text(api: httpx.AsyncClient) -> None:
    created = await api.post(TASKS, content='{"title": "go \\ud83d\\ude80"}', headers=JSON)
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "go \N{ROCKET}"


async def test_a_body_nested_beyond_the_parser_is_a_400(api: httpx.AsyncClient) -> None:
    raw = '{"title": ' + "[" * 5_000 + "]" * 5_000 + "}"
    response = await api.post(TASKS, content=raw, headers=JSON)
    assert response.status_code == 400
    assert strict_json(response)["error"]["code"] == "bad_request"


def cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


TASK = "0b7e4c1e-5d1c-4f0e-9c59-1d1f3f0b8a11"
LIST_CURSORS = {
    "overflows-in-utc": cursor(["9999-12-31T23:59:59.999999-23:59", TASK]),
    "before-year-one-in-utc": cursor(["0001-01-01T00:00:00+14:00", TASK]),
    "year-ten-thousand": cursor(["10000-01-01T00:00:00+00:00", TASK]),
    "nul-in-the-id": cursor(["2026-01-01T00:00:00+00:00", "a\x00b"]),
    "surrogate-in-the-id": cursor(["2026-01-01T00:00:00+00:00", "a\ud800b"]),
    "not-base64": "!!!",
    "not-ascii": "é",
}
VERSION_CURSORS = {
    "2^63": cursor({"v": 2**63}),
    "2^31": cursor({"v": 2**31}),
    "negative": cursor({"v": -1}),
    "a-float": cursor({"v": 1.5}),
    "not-base64": "!!!",
}


@pytest.mark.parametrize("url", [TASKS, CONFLICTS])
@pytest.mark.parametrize("forged", list(LIST_CURSORS.values()), ids=list(LIST_CURSORS))
async def test_a_forged_list_cursor_is_a_422_naming_the_cursor(
    api: httpx.AsyncClient, url: str, forged: str
) -> None:
    await create(api)
    response = await api.get(url, params={"cursor": forged})
    assert invalid_fields(response) == ["query.cursor"]
    assert "not a cursor this service issued" in strict_json(response)["error"]["message"]


@pytest.mark.parametrize("forged", list(VERSION_CURSORS.values()), ids=list(VERSION_CURSORS))
async def test_a_forged_history_cursor_is_a_422_naming_the_cursor(
    api: httpx.AsyncClient, forged: str
) -> None:
    task_id = await create(api)
    response = await api.get(f"{TASKS}/{task_id}/history", params={"cursor": forged})
    assert invalid_fields(response) == ["query.cursor"]


async def test_the_largest_version_a_row_can_hold_is_still_a_cursor(
    api: httpx.AsyncClient,
) -> None:
    task_id = await create(api)
    response = await api.get(
        f"{TASKS}/{task_id}/history", params={"cursor": cursor({"v": 2**31 - 1})}
    )
    assert response.status_code == 200, response.text
    assert [entry["version"] for entry in response.json()["items"]] == [1]


@pytest.mark.parametrize("task_id", ["a%00b", "a%0Db", "a%3Fb", "a%23b", "%2E%2E"])
async def test_a_task_id_no_task_can_have_is_a_422(api: httpx.AsyncClient, task_id: str) -> None:
    response = await api.get(f"{TASKS}/{task_id}")
    assert invalid_fields(response) == ["path.task_id"]


async def test_a_conflicts_filter_no_task_can_have_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.get(CONFLICTS, params={"task_id": "a\x00b"})
    assert invalid_fields(response) == ["query.task_id"]


async def test_every_error_has_the_one_shape(api: httpx.AsyncClient) -> None:
    unknown_route = await api.get("/internal/v1/nothing-here")
    wrong_method = await api.put(TASKS, json={})
    missing_task = await api.get(f"{TASKS}/no-such-task")
    not_json = await api.post(TASKS, content="{", headers=JSON)

    shapes = {
        name: (response.status_code, strict_json(response))
        for name, response in {
            "route": unknown_route,
            "method": wrong_method,
            "task": missing_task,
            "json": not_json,
        }.items()
    }
    for status, body in shapes.values():
        assert list(body) == ["error"], (status, body)
        assert set(body["error"]) <= {"code", "message", "details"}
        assert body["error"]["message"]
    assert {name: (status, body["error"]["code"]) for name, (status, body) in shapes.items()} == {
        "route": (404, "route_not_found"),
        "method": (405, "method_not_allowed"),
        "task": (404, "task_not_found"),
        "json": (422, "invalid_input"),
    }
    assert shapes["task"][1]["error"]["details"] == {"task_id": "no-such-task"}
    assert shapes["json"][1]["error"]["details"][0]["field"] == "body"
