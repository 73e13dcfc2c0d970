"""One account's session against the Asana emulator in memory: targets, the task's life
(create, read, update, section move, trash), the markers that find a crashed export's task,
webhooks with the handshake, and the events API's sync tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from asana_connector.client import AsanaClient
from asana_connector.session import AsanaSession
from tether_connector_runtime.port import Placement
from tether_connector_runtime.retry import AuthRevokedError, PermanentProviderError
from tether_emulators.asana import AsanaEmulator
from tether_emulators.asana.store import Project
from tether_emulators.asana.testing import HookRecorder
from tether_sync import TaskFields

FIELDS = TaskFields(
    title="Write the launch post",
    description="Draft, then **review**:\n\n- facts\n- tone",
    due=date(2026, 12, 1),
    completed=False,
)


async def test_targets_are_projects_grouped_by_workspace_with_their_sections(
    pat_session: AsanaSession, emu: AsanaEmulator, project: Project
) -> None:
    # More than a page of projects: the listing follows next_page.
    for n in range(105):
        emu.store.add_project(emu.workspace, f"P{n}", ["Only"])
    containers = await pat_session.targets()
    launch = next(c for c in containers if c.id == project.gid)
    assert len(containers) == 106
    assert launch.kind == "project"
    assert launch.group == emu.workspace.name
    assert [p.name for p in launch.places] == ["To do", "Doing", "Done"]
    # Each section's export target places a new task there.
    for place in launch.places:
        assert place.target is not None
        assert await pat_session.resolve(place.target) == Placement(project.gid, place.id)


async def test_a_target_names_a_project_and_maybe_one_of_its_sections(
    pat_session: AsanaSession, emu: AsanaEmulator, project: Project, sections: list[str]
) -> None:
    assert await pat_session.resolve({"project_gid": project.gid}) == Placement(project.gid)
    placed = await pat_session.resolve({"project_gid": project.gid, "section_gid": sections[1]})
    assert placed == Placement(project.gid, sections[1])
    other = emu.store.add_project(emu.workspace, "Other", ["Elsewhere"])
    foreign = emu.store.first_section(other.gid).gid
    with pytest.raises(PermanentProviderError, match="not in project"):
        await pat_session.resolve({"project_gid": project.gid, "section_gid": foreign})
    with pytest.raises(PermanentProviderError, match="project_gid"):
        await pat_session.resolve({"list_id": "x"})
    with pytest.raises(PermanentProviderError, match="gid"):
        await pat_session.resolve({"project_gid": "../users/me"})


@pytest.fixture(params=["pat", "oauth"])
def session(
    request: pytest.FixtureRequest, pat_session: AsanaSession, oauth_session: AsanaSession
) -> AsanaSession:
    """Each kind of connection in turn."""
    return pat_session if request.param == "pat" else oauth_session


async def test_a_created_task_reads_back_as_exported_in_its_section(
    session: AsanaSession, emu: AsanaEmulator, project: Project, sections: list[str]
) -> None:
    created = await session.create(Placement(project.gid, sections[1]), FIELDS, "link-1")
    assert created.fields == FIELDS
    assert (created.container_id, created.place_id) == (project.gid, sections[1])
    assert created.marker == "link-1"
    read = await session.read(created.external_id)
    assert read == created
    task = emu.store.tasks[created.external_id]
    assert task.due_on == "2026-12-01"
    assert task.due_at is None
    assert "<p>" not in task.html_notes
    # The marker is invisible in the plain rendering people and other apps see.
    # (after a list the marker's line ends the plain text, as any inline text there would)
    assert task.notes.replace("\u200b", "").rstrip() == "Draft, then review:\n• facts\n• tone"


async def test_an_update_sends_only_what_changed_and_moves_sections(
    pat_session: AsanaSession, emu: AsanaEmulator, project: Project, sections: list[str]
) -> None:
    item = await pat_session.create(Placement(project.gid), FIELDS, "link-1")
    assert item.place_id == sections[0]
    emu.requests.clear()
    due = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    updated = await pat_session.update(
        item, {"title": "Renamed", "due": due, "completed": True}, "link-1", sections[2]
    )
    assert updated.fields == FIELDS.model_copy(
        update={"title": "Renamed", "due": due, "completed": True}
    )
    assert updated.place_id == sections[2]
    assert [(r["method"], r["path"]) for r in emu.requests] == [
        ("PUT", f"/api/1.0/tasks/{item.external_id}"),
        ("POST", f"/api/1.0/sections/{sections[2]}/addTask"),
    ]
    read = await pat_session.read(item.external_id)
    assert read is not None
    assert read.fields == updated.fields
    assert read.place_id == sections[2]


async def test_an_unchanged_description_is_never_rewritten(
    pat_session: AsanaSession, emu: AsanaEmulator, project: Project
) -> None:
    item = await pat_session.create(Placement(project.gid), FIELDS, "link-1")
    person = '<body>See <a data-asana-gid="42" data-asana-type="user"/> <u>now</u></body>'
    emu.store.tasks[item.external_id].html_notes = person
    await pat_session.update(item, {"title": "Only the title"}, "link-1", None)
    assert emu.store.tasks[item.external_id].html_notes == person


async def test_oauth_marks_with_external_and_finds_a_crashed_exports_task_in_one_call(
    oauth_session: AsanaSession, emu: AsanaEmulator, project: Project
) -> None:
    placement = Placement(project.gid)
    assert await oauth_session.find_marked(placement, "link-1") is None
    created = await oauth_session.create(placement, FIELDS, "link-1")
    assert "tether.invalid" not in emu.store.tasks[created.external_id].html_notes
    emu.requests.clear()
    found = await oauth_session.find_marked(placement, "link-1")
    assert found == created
    assert [r["path"] for r in emu.requests] == ["/api/1.0/tasks/external:link-1"]
    assert await oauth_session.find_marked(placement, "link-2") is None


async def test_a_personal_token_finds_a_crashed_exports_task_by_its_html_notes_marker(
    pat_session: AsanaSession, emu: AsanaEmulator, project: Project
) -> None:
    placement = Placement(project.gid)
    for n in range(120):  # a busy project: the search reads page after page
        await pat_session.create(placement, FIELDS.model_copy(update={"title": f"t{n}"}), f"o{n}")
    created = await pat_session.create(placement, FIELDS, "link-1")
    found = await pat_session.find_marked(placement, "link-1")
    assert found is not None
    assert found.external_id == created.external_id
    assert found.fields == FIELDS
    assert await pat_session.find_marked(placement, "link-2") is None


async def test_a_personal_token_cannot_set_external(
    pat_session: AsanaSession, emu: AsanaEmulator, project: Project
) -> None:
    created = await pat_session.create(Placement(project.gid), FIELDS, "link-1")
    assert emu.store.tasks[created.external_id].externals == {}


async def test_archive_trashes_and_the_task_then_reads_as_gone(
    pat_session: AsanaSession, project: Project
) -> None:
    item = await pat_session.create(Placement(project.gid), FIELDS, "link-1")
    await pat_session.archive(item.external_id)
    assert await pat_session.read(item.external_id) is None
    await pat_session.archive(item.external_id)  # already in the trash: nothing to do
    with pytest.raises(PermanentProviderError, match="no API to take task"):
        await pat_session.restore(item.external_id)


async def test_check_grant_refuses_a_revoked_token(
    pat_session: AsanaSession, emu: AsanaEmulator
) -> None:
    await pat_session.check_grant()
    emu.store.tokens.clear()  # every token revoked
    with pytest.raises(AuthRevokedError):
        await pat_session.check_grant()


async def test_a_project_webhook_is_registered_through_the_handshake_with_its_secret(
    pat_session: AsanaSession, emu: AsanaEmulator, project: Project, hooks: HookRecorder
) -> None:
    url = "http://tether.test/webhooks/asana/key-1"
    hook = await pat_session.ensure_webhook(project.gid, url)
    assert [h.url for h in hooks.handshakes] == [url]
    assert hook.secret == hooks.handshakes[0].secret
    registered = emu.webhooks[hook.webhook_id]
    assert registered.target == url
    assert registered.resource["gid"] == project.gid
    # Registered again (a crash lost our record of it): Asana never shows a secret twice,
    # so the old one goes and a new one comes, secret and all.
    again = await pat_session.ensure_webhook(project.gid, url)
    assert list(emu.webhooks) == [again.webhook_id]
    assert again.secret == hooks.handshakes[1].secret


async def test_a_webhook_tells_of_task_changes_in_the_project(
    pat_session: AsanaSession, project: Project, hooks: HookRecorder, root: httpx.AsyncClient
) -> None:
    hook = await pat_session.ensure_webhook(project.gid, "http://tether.test/webhooks/asana/k")
    item = await pat_session.create(Placement(project.gid), FIELDS, "link-1")
    edit = await root.post(f"/_emulator/tasks/{item.external_id}/edit", json={"name": "Person"})
    edit.raise_for_status()
    await root.post("/_emulator/webhooks/flush")
    named = {
        e["resource"]["gid"] for e in hooks.events() if e["resource"]["resource_type"] == "task"
    }
    assert named == {item.external_id}
    assert hook.secret is not None


async def test_changes_since_starts_with_a_token_then_names_changed_tasks(
    pat_session: AsanaSession, project: Project, root: httpx.AsyncClient
) -> None:
    first = await pat_session.changes_since(project.gid, None)
    assert first.notices == []
    assert first.complete
    assert first.cursor
    one = await pat_session.create(Placement(project.gid), FIELDS, "link-1")
    two = await pat_session.create(Placement(project.gid), FIELDS, "link-2")
    await pat_session.update(one, {"title": "Again"}, "link-1", None)
    later = await pat_session.changes_since(project.gid, first.cursor)
    assert [n.external_id for n in later.notices] == [one.external_id, two.external_id]
    assert later.complete
    quiet = await pat_session.changes_since(project.gid, later.cursor)
    assert quiet.notices == []


async def test_an_expired_sync_token_gives_a_new_one_and_asks_for_a_full_look(
    pat_session: AsanaSession, project: Project, root: httpx.AsyncClient
) -> None:
    first = await pat_session.changes_since(project.gid, None)
    await pat_session.create(Placement(project.gid), FIELDS, "link-1")
    (await root.post("/_emulator/events/expire-sync-tokens")).raise_for_status()
    expired = await pat_session.changes_since(project.gid, first.cursor)
    assert not expired.complete
    assert expired.notices == []
    assert expired.cursor not in (None, first.cursor)
    # The new token works.
    assert (await pat_session.changes_since(project.gid, expired.cursor)).complete


async def test_a_backlog_beyond_the_pages_read_is_incomplete(
    pat_client: AsanaClient, project: Project
) -> None:
    short = AsanaSession(pat_client, oauth=False, event_pages=1)
    first = await short.changes_since(project.gid, None)
    for n in range(60):  # two events each: more than one page of 100
        await short.create(Placement(project.gid), FIELDS, f"l{n}")
    backlog = await short.changes_since(project.gid, first.cursor)
    assert not backlog.complete
    assert len(backlog.notices) == 50


def dates_of(task: Any) -> tuple[str | None, str | None, str | None]:
    """(start_on, due_on, due_at) as the emulator holds them now."""
    return task.start_on, task.due_on, task.due_at


async def test_a_persons_start_date_in_the_way_of_a_due_date_is_cleared_with_it(
    pat_session: AsanaSession, emu: AsanaEmulator, project: Project
) -> None:
    """Asana refuses a start date without a due date or not before it: the due date we sync
    wins, in one request; a start date before the new due date stays."""
    item = await pat_session.create(Placement(project.gid), FIELDS, "link-1")  # due 2026-12-01
    task = emu.store.tasks[item.external_id]
    task.due_on, task.start_on = "2026-12-10", "2026-12-05"  # a person set a span
    read = await pat_session.read(item.external_id)
    assert read is not None
    await pat_session.update(read, {"due": date(2026, 12, 20)}, "link-1", None)
    assert dates_of(task)[:2] == ("2026-12-05", "2026-12-20")
    read = await pat_session.read(item.external_id)
    assert read is not None
    await pat_session.update(read, {"due": date(2026, 12, 5)}, "link-1", None)
    assert dates_of(task)[:2] == (None, "2026-12-05")
    task.start_on = "2026-12-01"
    read = await pat_session.read(item.external_id)
    assert read is not None
    await pat_session.update(read, {"due": None}, "link-1", None)
    assert dates_of(task) == (None, None, None)
