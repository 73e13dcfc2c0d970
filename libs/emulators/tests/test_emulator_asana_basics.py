"""The shape of every answer: ``/api/1.0``, the ``data`` envelope, Bearer auth, Asana's error
body, and the containers (user, workspaces, projects, sections)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

HELP = "https://developers.asana.com/docs/errors"


async def test_users_me_is_wrapped_in_data(asana: httpx.AsyncClient) -> None:
    response = await asana.get("/users/me")
    assert response.status_code == 200
    me = response.json()["data"]
    assert set(me) >= {"gid", "resource_type", "name", "email", "workspaces"}
    assert (me["resource_type"], me["name"]) == ("user", "Tether")
    assert me["gid"].isdigit()  # gids are strings of digits


async def test_missing_or_unknown_token_is_401_with_asana_error_body(
    asana_as: Callable[[str | None], httpx.AsyncClient],
) -> None:
    for token in (None, "not-a-token"):
        async with asana_as(token) as client:
            response = await client.get("/users/me")
        assert response.status_code == 401
        [error] = response.json()["errors"]
        assert error["message"] == "Not Authorized"
        assert HELP in error["help"]


async def test_unknown_object_and_unknown_route_are_404(asana: httpx.AsyncClient) -> None:
    unknown = await asana.get("/tasks/1234567890")
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["message"] == "Unknown object: 1234567890"
    route = await asana.get("/no/such/route")
    assert route.status_code == 404
    assert route.json()["errors"][0]["message"] == "No matching route for request"


async def test_containers(asana: httpx.AsyncClient, project: dict[str, Any]) -> None:
    [workspace] = (await asana.get("/workspaces")).json()["data"]
    assert set(workspace) == {"gid", "resource_type", "name"}  # compact records in lists
    projects = (await asana.get("/projects", params={"workspace": workspace["gid"]})).json()
    assert [p["name"] for p in projects["data"]] == ["Team"]
    assert "next_page" not in projects  # no limit asked: no pagination
    sections = (await asana.get(f"/projects/{project['gid']}/sections")).json()["data"]
    assert [s["name"] for s in sections] == ["To do", "Doing", "Done"]
    assert all(s["resource_type"] == "section" for s in sections)
    without = await asana.get("/projects")
    assert without.status_code == 400
    assert without.json()["errors"][0]["message"] == "workspace: Missing input"


async def test_pagination_limit_offset_next_page(
    asana: httpx.AsyncClient, asana_control: httpx.AsyncClient
) -> None:
    for index in range(5):
        await asana_control.post("/projects", json={"name": f"P{index}"})
    [workspace] = (await asana.get("/workspaces")).json()["data"]
    seen: list[str] = []
    params: dict[str, Any] = {"workspace": workspace["gid"], "limit": 2}
    while True:
        answer = (await asana.get("/projects", params=params)).json()
        seen += [p["name"] for p in answer["data"]]
        if answer["next_page"] is None:
            break
        next_page = answer["next_page"]
        assert next_page["path"].startswith("/projects?")
        assert next_page["uri"].startswith("http://asana.test/api/1.0/projects?")
        params["offset"] = next_page["offset"]
    assert seen == ["P0", "P1", "P2", "P3", "P4"]
    for bad in (0, 101):
        refused = await asana.get("/projects", params={"workspace": workspace["gid"], "limit": bad})
        assert refused.status_code == 400
    forged = await asana.get(
        "/projects", params={"workspace": workspace["gid"], "limit": 2, "offset": "forged"}
    )
    assert forged.status_code == 400


async def test_numbers_are_not_gids(asana: httpx.AsyncClient) -> None:
    response = await asana.post("/tasks", json={"data": {"workspace": 123, "name": "x"}})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "workspace: Not a valid GID type: number"


async def test_writes_need_the_data_envelope(
    asana: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    bare = await asana.post("/tasks", json={"projects": [project["gid"]], "name": "x"})
    assert bare.status_code == 400
    form = await asana.post("/tasks", data={"projects": project["gid"], "name": "From a form"})
    assert form.status_code == 201, form.text
    assert form.json()["data"]["name"] == "From a form"
