"""Task changes, made by a client through the API or by a person through the control API.

Both go through here, so both record the same events and fire the same webhooks. Facts from
the OpenAPI document (https://raw.githubusercontent.com/Asana/openapi/master/defs/asana_oas.yaml):
``POST /tasks`` needs ``workspace``, ``projects`` or ``parent``; ``memberships`` and
``projects`` are create-only (later, ``addProject``/``removeProject``); ``PUT`` changes only
the fields sent; ``due_on`` and ``due_at`` "should not be used together"; ``modified_at``
changes with name, description, due date, completion and trashing, not with moves between
containers (projects, sections).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether_emulators.asana import params
from tether_emulators.asana.errors import AsanaError, bad_request, forbidden
from tether_emulators.asana.richtext import html_of_plain, parse_html_notes, plain_text
from tether_emulators.asana.store import (
    JSON,
    Credential,
    External,
    Project,
    Section,
    Task,
    User,
    asana_time,
)

if TYPE_CHECKING:
    from tether_emulators.asana.emulator import AsanaEmulator

BOTH_DUES = "You may only provide one of due_on or due_at!"
# The OpenAPI document on start_on: "due_on or due_at must be present in the request when
# setting or unsetting the start_on parameter". The two refusals below are worded by the
# emulator (Asana's own text is not published): a start date needs a due date, before it.
START_NEEDS_DUE_IN_REQUEST = (
    "start_on: due_on or due_at must be present in the request when setting or unsetting start_on"
)
START_WITHOUT_DUE = "start_on: A task with a start date must have a due date"
START_NOT_BEFORE_DUE = "start_on: The start date must be before the due date"
EXTERNAL_GID_MAX, EXTERNAL_DATA_MAX = 1024, 32768
CREATE_ONLY = ("memberships", "projects", "workspace", "parent")


def _patch(data: JSON, credential: Credential) -> JSON:
    """The task fields of a request, validated; keys only for what was sent."""
    patch: JSON = {}
    if "name" in data:
        patch["name"] = params.text(data["name"], "name")
    if "notes" in data and "html_notes" in data:
        raise bad_request("You may only provide one of notes or html_notes!")
    if "notes" in data:
        notes = params.text(data["notes"], "notes")
        patch["notes"], patch["html_notes"] = notes, html_of_plain(notes)
    if "html_notes" in data:
        body = parse_html_notes(data["html_notes"])
        patch["notes"], patch["html_notes"] = plain_text(body), data["html_notes"]
    if data.get("due_on") is not None and data.get("due_at") is not None:
        raise bad_request(BOTH_DUES)
    if "due_on" in data:
        patch["due_on"] = params.due_on(data["due_on"])
        if patch["due_on"] is not None or "due_at" not in data:
            patch["due_at"] = None  # a date replaces a time (and clearing one clears both)
    if "due_at" in data and data["due_at"] is not None:
        moment = params.instant(data["due_at"], "due_at")
        patch["due_at"], patch["due_on"] = asana_time(moment), None
    elif "due_at" in data:
        patch["due_at"] = None
    if "start_on" in data:
        if "due_on" not in data and "due_at" not in data:
            raise bad_request(START_NEEDS_DUE_IN_REQUEST)
        patch["start_on"] = params.due_on(data["start_on"], "start_on")
    if "completed" in data:
        patch["completed"] = params.boolean(data["completed"], "completed")
    if "external" in data:
        patch["external"] = _external(data["external"], credential)
    return patch


def _check_dates(task: Task, patch: JSON) -> None:
    """Refuse a patch that would leave a start date without a due date, or not before it."""
    start = patch.get("start_on", task.start_on)
    if start is None:
        return
    due_on, due_at = patch.get("due_on", task.due_on), patch.get("due_at", task.due_at)
    due_day = due_on or (due_at[:10] if due_at else None)
    if due_day is None:
        raise bad_request(START_WITHOUT_DUE)
    if start >= due_day:
        raise bad_request(START_NOT_BEFORE_DUE)


def _external(value: object, credential: Credential) -> JSON:
    if not credential.is_oauth:
        # "You will need to authenticate with OAuth to access or modify this data"; the
        # OpenAPI document's 403 is the answer for writing properties one may not write.
        raise forbidden("external: Only OAuth apps can read or write external data.")
    if not isinstance(value, dict):
        raise bad_request("external: Not an object")
    gid, data = value.get("gid"), value.get("data")
    if gid is not None and (not isinstance(gid, str) or len(gid) > EXTERNAL_GID_MAX):
        raise bad_request(f"external.gid: Must be a string of at most {EXTERNAL_GID_MAX} chars")
    if data is not None and (not isinstance(data, str) or len(data) > EXTERNAL_DATA_MAX):
        raise bad_request(f"external.data: Must be a string of at most {EXTERNAL_DATA_MAX} chars")
    return {"gid": gid, "data": data}


def create_task(emu: AsanaEmulator, actor: User, credential: Credential, data: JSON) -> Task:
    store = emu.store
    places = _places(emu, actor, data)
    workspace_gid = _workspace_of(emu, actor, data, places)
    patch = _patch(data, credential)
    now = emu.now()
    task = Task(
        gid=store.new_gid(),
        name=patch.pop("name", ""),
        workspace_gid=workspace_gid,
        created_by=actor.gid,
        created_at=now,
        modified_at=now,
    )
    _check_dates(task, patch)
    _apply(emu, actor, task, credential, patch)
    store.tasks[task.gid] = task
    events = []
    for project, section in places:
        task.memberships.append((project.gid, section.gid))
        events += emu.task_event(actor, task, "added", parent=project.compact())
        events += emu.task_event(actor, task, "added", parent=section.compact())
    emu.publish(events or emu.task_event(actor, task, "added", parent=None))
    return task


def _places(emu: AsanaEmulator, actor: User, data: JSON) -> list[tuple[Project, Section]]:
    store = emu.store
    places: list[tuple[Project, Section]] = []
    for membership in data.get("memberships") or []:
        if not isinstance(membership, dict):
            raise bad_request("memberships: Not an array of objects")
        project = emu.visible_project(actor, params.gid(membership.get("project"), "project"))
        section = store.first_section(project.gid)
        if membership.get("section") is not None:
            section = store.section(params.gid(membership["section"], "section"))
            if section.project_gid != project.gid:
                raise bad_request("memberships: The section is not in the project")
        places.append((project, section))
    if "projects" in data:
        for gid in params.gid_list(data["projects"], "projects"):
            if gid not in [p.gid for p, _ in places]:
                project = emu.visible_project(actor, gid)
                places.append((project, store.first_section(gid)))
    return places


def _workspace_of(
    emu: AsanaEmulator, actor: User, data: JSON, places: list[tuple[Project, Section]]
) -> str:
    if data.get("workspace") is not None:
        workspace = emu.visible_workspace(actor, params.gid(data["workspace"], "workspace"))
        if any(project.workspace_gid != workspace.gid for project, _ in places):
            raise bad_request("workspace: The projects are not in this workspace")
        return workspace.gid
    if places:
        return places[0][0].workspace_gid
    if data.get("parent") is not None:
        raise bad_request("parent: Subtasks are not supported by this emulator")
    raise bad_request("You should specify one of workspace, parent, projects")


def update_task(
    emu: AsanaEmulator, actor: User, credential: Credential, task: Task, data: JSON
) -> Task:
    for name in CREATE_ONLY:
        if name in data:
            raise bad_request(f"{name}: Cannot write this property")
    patch = _patch(data, credential)
    _check_dates(task, patch)
    changed = _apply(emu, actor, task, credential, patch)
    if changed:
        task.modified_at = emu.now()
        emu.publish([e for field in changed for e in emu.task_event(actor, task, "changed", field)])
    return task


def _apply(
    emu: AsanaEmulator, actor: User, task: Task, credential: Credential, patch: JSON
) -> list[str]:
    """Set the patch's fields; the names of the fields whose value changed (for events)."""
    changed: list[str] = []
    external = patch.pop("external", None)
    if external is not None and credential.app is not None:
        task.externals[credential.app] = External(external["gid"], external["data"], credential.app)
    for name, value in patch.items():
        if getattr(task, name) != value:
            setattr(task, name, value)
            changed.append(name)
    if "completed" in changed:
        task.completed_at = emu.now() if task.completed else None
        task.completed_by = actor.gid if task.completed else None
    # html_notes and notes are one field to Asana's events: "notes".
    return [name for name in changed if name != "html_notes"]


def delete_task(emu: AsanaEmulator, actor: User, task: Task) -> None:
    """To the trash (recoverable for 30 days in Asana); the gid answers 404 from now on."""
    task.trashed_at = task.modified_at = emu.now()
    emu.publish(emu.task_event(actor, task, "deleted", parent=None))


def undelete_task(emu: AsanaEmulator, actor: User, task: Task) -> None:
    task.trashed_at = None
    task.modified_at = emu.now()
    emu.publish(emu.task_event(actor, task, "undeleted", parent=None))


def add_to_project(
    emu: AsanaEmulator, actor: User, task: Task, project: Project, section: Section | None
) -> None:
    """``addProject``: joins the project (or moves within it to ``section``)."""
    section = section or emu.store.first_section(project.gid)
    if section.project_gid != project.gid:
        raise bad_request("section: The section is not in the project")
    if project.gid in task.project_gids():
        move_to_section(emu, actor, task, section)
        return
    task.memberships.append((project.gid, section.gid))
    events = emu.task_event(actor, task, "added", parent=project.compact())
    emu.publish(events + emu.task_event(actor, task, "added", parent=section.compact()))


def remove_from_project(emu: AsanaEmulator, actor: User, task: Task, project: Project) -> None:
    before = list(task.memberships)
    task.memberships = [(p, s) for p, s in task.memberships if p != project.gid]
    if task.memberships != before:
        # The project's subscribers must still hear that the task left it.
        extra = {project.gid, *(s for p, s in before if p == project.gid)}
        emu.publish(emu.task_event(actor, task, "removed", parent=project.compact(), extra=extra))


def move_to_section(emu: AsanaEmulator, actor: User, task: Task, section: Section) -> None:
    """``POST /sections/{gid}/addTask``: the task must already be in the section's project."""
    old = dict(task.memberships).get(section.project_gid)
    if old is None:
        raise AsanaError(400, "task: The task is not in the section's project")
    if old == section.gid:
        return
    task.memberships = [
        (p, section.gid if p == section.project_gid else s) for p, s in task.memberships
    ]
    old_section = emu.store.sections[old]
    events = emu.task_event(actor, task, "removed", parent=old_section.compact(), extra={old})
    emu.publish(events + emu.task_event(actor, task, "added", parent=section.compact()))
