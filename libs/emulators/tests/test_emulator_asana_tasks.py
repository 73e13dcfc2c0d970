"""Tasks: creation places, complete vs compact records, ``opt_fields``, partial updates, due
dates, completion, trash, listing with ``modified_since``, and moves between projects and
sections."""

from __future__ import annotations

from typing import Any

import httpx

from tether_emulators.asana.testing import ManualClock


async def create(asana: httpx.AsyncClient, **data: Any) -> dict[str, Any]:
    response = await asana.post("/tasks", json={"data": data})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def section_gid(project: dict[str, Any], name: str) -> str:
    return str(next(s["gid"] for s in project["sections"] if s["name"] == name))


async def test_create_needs_a_workspace_projects_or_parent(asana: httpx.AsyncClient) -> None:
    response = await asana.post("/tasks", json={"data": {"name": "Nowhere"}})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        "You should specify one of workspace, parent, projects"
    )


async def test_memberships_place_the_task_in_a_section(
    asana: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    doing = section_gid(project, "Doing")
    task = await create(
        asana, name="Placed", memberships=[{"project": project["gid"], "section": doing}]
    )
    [membership] = task["memberships"]
    assert membership["project"]["gid"] == project["gid"]
    assert membership["section"] == {"gid": doing, "resource_type": "section", "name": "Doing"}
    plain = await create(asana, name="First section", projects=[project["gid"]])
    assert plain["memberships"][0]["section"]["name"] == "To do"
    # Create-only: later moves go through addProject/removeProject and addTask.
    refused = await asana.put(
        f"/tasks/{task['gid']}", json={"data": {"memberships": [{"project": project["gid"]}]}}
    )
    assert refused.status_code == 400


async def test_single_task_is_the_complete_record_without_opt_in_fields(
    asana: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    task = await create(asana, name="Full", notes="Plain", projects=[project["gid"]])
    got = (await asana.get(f"/tasks/{task['gid']}")).json()["data"]
    assert got == task
    assert {"notes", "completed", "due_on", "due_at", "modified_at", "memberships"} <= set(got)
    assert "html_notes" not in got  # opt-in only
    assert "external" not in got  # never for a personal access token
    asked = await asana.get(f"/tasks/{task['gid']}", params={"opt_fields": "name,html_notes"})
    assert asked.json()["data"] == {
        "gid": task["gid"],
        "name": "Full",
        "html_notes": "<body>Plain</body>",
    }
    nested = await asana.get(
        f"/tasks/{task['gid']}", params={"opt_fields": "memberships.section.name"}
    )
    [membership] = nested.json()["data"]["memberships"]
    assert membership["section"]["name"] == "To do"


async def test_lists_are_compact(asana: httpx.AsyncClient, project: dict[str, Any]) -> None:
    task = await create(asana, name="Listed", projects=[project["gid"]])
    listed = (await asana.get("/tasks", params={"project": project["gid"]})).json()["data"]
    assert listed == [
        {
            "gid": task["gid"],
            "resource_type": "task",
            "name": "Listed",
            "resource_subtype": "default_task",
        }
    ]
    unfiltered = await asana.get("/tasks")
    assert unfiltered.status_code == 400


async def test_put_changes_only_the_fields_sent(
    asana: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    task = await create(
        asana, name="Old", notes="Keep me", due_on="2026-12-01", projects=[project["gid"]]
    )
    updated = await asana.put(f"/tasks/{task['gid']}", json={"data": {"name": "New"}})
    assert updated.status_code == 200
    data = updated.json()["data"]
    assert (data["name"], data["notes"], data["due_on"]) == ("New", "Keep me", "2026-12-01")


async def test_due_on_and_due_at_exclude_each_other(
    asana: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    task = await create(asana, name="Due", due_on="2026-12-01", projects=[project["gid"]])
    path = f"/tasks/{task['gid']}"
    at = (await asana.put(path, json={"data": {"due_at": "2026-12-02T01:00:00Z"}})).json()
    assert (at["data"]["due_at"], at["data"]["due_on"]) == ("2026-12-02T01:00:00.000Z", None)
    on = (await asana.put(path, json={"data": {"due_on": "2026-12-03"}})).json()
    assert (on["data"]["due_on"], on["data"]["due_at"]) == ("2026-12-03", None)
    both = await asana.put(
        path, json={"data": {"due_on": "2026-12-03", "due_at": "2026-12-02T01:00:00Z"}}
    )
    assert both.status_code == 400
    assert both.json()["errors"][0]["message"] == "You may only provide one of due_on or due_at!"
    bad = await asana.put(path, json={"data": {"due_on": "tomorrow"}})
    assert bad.status_code == 400
    cleared = (await asana.put(path, json={"data": {"due_on": None}})).json()["data"]
    assert (cleared["due_on"], cleared["due_at"]) == (None, None)


async def test_completion_records_when_and_who(
    asana: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    task = await create(asana, name="Finish", projects=[project["gid"]])
    done = (await asana.put(f"/tasks/{task['gid']}", json={"data": {"completed": True}})).json()
    assert done["data"]["completed"] is True
    assert done["data"]["completed_at"] is not None
    assert done["data"]["completed_by"]["name"] == "Tether"
    undone = await asana.put(f"/tasks/{task['gid']}", json={"data": {"completed": False}})
    assert undone.json()["data"]["completed_at"] is None


async def test_delete_moves_the_task_to_the_trash(
    asana: httpx.AsyncClient, asana_control: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    task = await create(asana, name="Bin me", projects=[project["gid"]])
    deleted = await asana.delete(f"/tasks/{task['gid']}")
    assert (deleted.status_code, deleted.json()) == (200, {"data": {}})
    assert (await asana.get(f"/tasks/{task['gid']}")).status_code == 404
    assert (await asana.get("/tasks", params={"project": project["gid"]})).json()["data"] == []
    [trashed] = (await asana_control.get(f"/projects/{project['gid']}/tasks")).json()
    assert trashed["trashed"] is True
    restored = await asana_control.post(f"/tasks/{task['gid']}/undelete")
    assert restored.status_code == 200
    assert (await asana.get(f"/tasks/{task['gid']}")).status_code == 200


async def test_modified_since_misses_section_moves(
    asana: httpx.AsyncClient, project: dict[str, Any], clock: ManualClock
) -> None:
    task = await create(asana, name="Watched", projects=[project["gid"]])
    clock.advance(60)
    since = clock.now().isoformat()
    clock.advance(1)
    moved = await asana.post(
        f"/sections/{section_gid(project, 'Done')}/addTask", json={"data": {"task": task["gid"]}}
    )
    assert (moved.status_code, moved.json()) == (200, {"data": {}})
    query = {"project": project["gid"], "modified_since": since}
    assert (await asana.get("/tasks", params=query)).json()["data"] == []
    await asana.put(f"/tasks/{task['gid']}", json={"data": {"name": "Renamed"}})
    [found] = (await asana.get("/tasks", params=query)).json()["data"]
    assert found["name"] == "Renamed"
    in_done = await asana.get(f"/sections/{section_gid(project, 'Done')}/tasks")
    assert [t["gid"] for t in in_done.json()["data"]] == [task["gid"]]


async def test_a_task_moves_to_another_project(
    asana: httpx.AsyncClient, asana_control: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    other = (await asana_control.post("/projects", json={"name": "Other"})).json()
    task = await create(asana, name="Traveller", projects=[project["gid"]])
    path = f"/tasks/{task['gid']}"
    added = await asana.post(
        f"{path}/addProject",
        json={"data": {"project": other["gid"], "section": section_gid(other, "Doing")}},
    )
    assert added.status_code == 200
    removed = await asana.post(f"{path}/removeProject", json={"data": {"project": project["gid"]}})
    assert removed.status_code == 200
    got = (await asana.get(path)).json()["data"]
    assert [p["gid"] for p in got["projects"]] == [other["gid"]]
    assert got["memberships"][0]["section"]["name"] == "Doing"
    wrong = await asana.post(
        f"/sections/{section_gid(project, 'Done')}/addTask", json={"data": {"task": task["gid"]}}
    )
    assert wrong.status_code == 400  # not in that section's project any more


async def test_a_start_date_needs_a_due_date_after_it_and_in_the_same_request(
    asana: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    """OpenAPI, start_on: "due_on or due_at must be present in the request when setting or
    unsetting the start_on parameter"; a start date needs a due date, before it."""
    task = await create(asana, name="Span", due_on="2026-12-10", projects=[project["gid"]])
    path = f"/tasks/{task['gid']}"
    alone = await asana.put(path, json={"data": {"start_on": "2026-12-01"}})
    assert alone.status_code == 400
    assert "must be present in the request" in alone.json()["errors"][0]["message"]
    both = await asana.put(path, json={"data": {"start_on": "2026-12-01", "due_on": "2026-12-10"}})
    assert both.json()["data"]["start_on"] == "2026-12-01"
    for due in ({"due_on": "2026-12-01"}, {"due_on": "2026-11-30"}, {"due_on": None}):
        refused = await asana.put(path, json={"data": due})
        assert refused.status_code == 400, due
    still = (await asana.get(path)).json()["data"]
    assert (still["start_on"], still["due_on"]) == ("2026-12-01", "2026-12-10")
    cleared = await asana.put(path, json={"data": {"due_on": None, "start_on": None}})
    assert (cleared.json()["data"]["start_on"], cleared.json()["data"]["due_on"]) == (None, None)
