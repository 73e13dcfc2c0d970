"""Tasks through the gateway: the caller's tenant scopes everything, bad input stops here."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tether_contracts.tasks import TaskReview

IssueToken = Callable[[str, str], Awaitable[str]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def ann(issue_token: IssueToken) -> dict[str, str]:
    return bearer(await issue_token("acme", "ann@acme.test"))


@pytest.fixture
async def bob(issue_token: IssueToken) -> dict[str, str]:
    return bearer(await issue_token("globex", "bob@globex.test"))


def error_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [
        ".".join(str(part) for part in error["loc"])
        for error in response.json()["error"]["details"]
    ]


async def test_create_read_update_delete(client: httpx.AsyncClient, ann: dict[str, str]) -> None:
    created = await client.post(
        "/v1/tasks", headers=ann, json={"title": "  Write report ", "due_date": "2030-01-31"}
    )
    assert created.status_code == 201, created.text
    task: dict[str, Any] = created.json()
    assert task["title"] == "Write report"
    assert task["due_date"] == "2030-01-31"

    fetched = await client.get(f"/v1/tasks/{task['id']}", headers=ann)
    assert fetched.status_code == 200
    assert fetched.json() == task

    patched = await client.patch(
        f"/v1/tasks/{task['id']}", headers=ann, json={"completed": True, "due_date": None}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["completed"] is True
    assert patched.json()["due_date"] is None
    assert patched.json()["title"] == "Write report"

    deleted = await client.delete(f"/v1/tasks/{task['id']}", headers=ann)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(f"/v1/tasks/{task['id']}", headers=ann)).status_code == 404


async def test_a_patch_sends_only_the_fields_present(
    client: httpx.AsyncClient, ann: dict[str, str], task_core_requests: list[httpx.Request]
) -> None:
    task = (await client.post("/v1/tasks", headers=ann, json={"title": "a"})).json()
    await client.patch(f"/v1/tasks/{task['id']}", headers=ann, json={"due_date": None})
    assert json.loads(task_core_requests[-1].content) == {"due_date": None}


async def test_tenants_see_only_their_own_tasks(
    client: httpx.AsyncClient, ann: dict[str, str], bob: dict[str, str]
) -> None:
    task = (await client.post("/v1/tasks", headers=ann, json={"title": "acme only"})).json()

    assert (await client.get("/v1/tasks", headers=bob)).json()["items"] == []
    for method, body in (("GET", None), ("PATCH", {"title": "mine now"}), ("DELETE", None)):
        response = await client.request(method, f"/v1/tasks/{task['id']}", headers=bob, json=body)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["error"]["code"] == "task_not_found"

    mine = await client.get(f"/v1/tasks/{task['id']}", headers=ann)
    assert mine.json()["title"] == "acme only"


async def test_the_tenant_in_task_core_urls_is_the_callers(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    task_core_requests: list[httpx.Request],
) -> None:
    me = (await client.get("/v1/me", headers=ann)).json()
    await client.post("/v1/tasks", headers=ann, json={"title": "a"})
    assert task_core_requests[-1].url.path == f"/internal/v1/tenants/{me['tenant']['id']}/tasks"


async def test_unknown_task_is_404(client: httpx.AsyncClient, ann: dict[str, str]) -> None:
    response = await client.get("/v1/tasks/0123456789abcdef", headers=ann)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "task_not_found"
    assert "0123456789abcdef" in response.json()["error"]["message"]


async def test_pages_follow_the_cursor(client: httpx.AsyncClient, ann: dict[str, str]) -> None:
    for n in range(5):
        await client.post("/v1/tasks", headers=ann, json={"title": f"task {n}"})

    titles: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = (await client.get("/v1/tasks", headers=ann, params=params)).json()
        assert len(page["items"]) <= 2
        titles += [item["title"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page["next_cursor"]}
    assert titles == [f"task {n}" for n in range(5)]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/tasks", {}, "body.title"),
        ("POST", "/v1/tasks", {"title": "   "}, "body.title"),
        ("POST", "/v1/tasks", {"title": "x" * 16385}, "body.title"),
        ("POST", "/v1/tasks", {"title": "x", "due_date": "tomorrow"}, "body.due_date"),
        ("POST", "/v1/tasks", {"title": "x", "priority": 1}, "body.priority"),
        ("POST", "/v1/tasks", {"title": "x", "description": "d" * 32768}, "body.description"),
        ("PATCH", "/v1/tasks/abc", {"completed": "maybe"}, "body.completed"),
        ("PATCH", "/v1/tasks/abc", {}, "body"),
        ("PATCH", "/v1/tasks/abc", {"title": None}, "body"),
        ("GET", "/v1/tasks?limit=0", None, "query.limit"),
        ("GET", "/v1/tasks?limit=many", None, "query.limit"),
        ("GET", "/v1/tasks/-dash-first", None, "path.task_id"),
        ("GET", "/v1/tasks/a%3Fb", None, "path.task_id"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_never_reaches_task_core(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    task_core_requests: list[httpx.Request],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    response = await client.request(method, path, headers=ann, json=body)
    assert field in error_fields(response)
    assert task_core_requests == []


async def test_a_cursor_task_core_refuses_is_422_naming_the_cursor(
    client: httpx.AsyncClient, ann: dict[str, str]
) -> None:
    response = await client.get("/v1/tasks", headers=ann, params={"cursor": "not-a-cursor"})
    assert error_fields(response) == ["query.cursor"]


async def test_the_request_id_follows_the_request_to_task_core(
    client: httpx.AsyncClient, ann: dict[str, str], task_core_requests: list[httpx.Request]
) -> None:
    response = await client.get("/v1/tasks", headers={**ann, "X-Request-ID": "req-42"})
    assert response.headers["X-Request-ID"] == "req-42"
    assert task_core_requests[-1].headers["X-Request-ID"] == "req-42"
    # The caller's token is ours to check, never passed on.
    assert "authorization" not in task_core_requests[-1].headers


async def test_flagged_tasks_are_listed_for_review_and_cleared_by_their_tenant_only(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    bob: dict[str, str],
    fake_task_core: Any,
) -> None:
    flagged = (await client.post("/v1/tasks", headers=ann, json={"title": "lost copy"})).json()
    quiet = (await client.post("/v1/tasks", headers=ann, json={"title": "fine"})).json()
    tasks = next(iter(fake_task_core.tasks.values()))
    tasks[flagged["id"]] = tasks[flagged["id"]].model_copy(
        update={
            "review": TaskReview(
                reason="provider_deleted",
                message="Its Trello copy was deleted",
                provider="trello",
                link_id="l1",
                flagged_at=datetime.now(UTC),
            )
        }
    )

    listed = await client.get("/v1/tasks", headers=ann, params={"needs_review": "true"})
    assert [t["id"] for t in listed.json()["items"]] == [flagged["id"]]
    assert listed.json()["items"][0]["review"]["reason"] == "provider_deleted"
    others = await client.get("/v1/tasks", headers=ann, params={"needs_review": "false"})
    assert [t["id"] for t in others.json()["items"]] == [quiet["id"]]
    assert error_fields(
        await client.get("/v1/tasks", headers=ann, params={"needs_review": "maybe"})
    ) == ["query.needs_review"]

    stranger = await client.delete(f"/v1/tasks/{flagged['id']}/review", headers=bob)
    assert stranger.status_code == 404
    cleared = await client.delete(f"/v1/tasks/{flagged['id']}/review", headers=ann)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["review"] is None
    listed = await client.get("/v1/tasks", headers=ann, params={"needs_review": "true"})
    assert listed.json()["items"] == []
