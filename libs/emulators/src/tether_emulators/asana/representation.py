"""How objects look in Asana's answers: full records, compact records, ``opt_fields``.

From the OpenAPI document's ``TaskCompact``/``TaskBase``/``TaskResponse`` schemas
(https://raw.githubusercontent.com/Asana/openapi/master/defs/asana_oas.yaml): a single task
(``GET``/``POST``/``PUT``) comes as its complete record, without the opt-in fields
(``html_notes``, ``created_by``, ``num_subtasks``, ``dependencies``, ``dependents``), which
appear only when ``opt_fields`` names them; lists come as compact records (``gid``,
``resource_type``, ``name``, ``resource_subtype`` for tasks). ``external`` is shown only to the
OAuth app that set it, and only once set (or when asked for).
"""

from __future__ import annotations

from tether_emulators.asana.params import select
from tether_emulators.asana.store import JSON, AsanaStore, Credential, Task, asana_time, ref

OPT_IN_TASK_FIELDS = frozenset(
    {"html_notes", "created_by", "num_subtasks", "dependencies", "dependents", "external"}
)


def task_record(store: AsanaStore, task: Task, credential: Credential) -> JSON:
    """Every field the emulator models, opt-in ones included (``shown`` trims them)."""
    workspace = store.workspaces[task.workspace_gid]
    memberships = [
        {
            "project": store.projects[project].compact(),
            "section": store.sections[section].compact(),
        }
        for project, section in task.memberships
    ]
    completed_by = store.users.get(task.completed_by or "")
    doc: JSON = {
        **task.compact(),
        "approval_status": "approved" if task.completed else "pending",
        "assignee": None,
        "assignee_status": "inbox",
        "completed": task.completed,
        "completed_at": asana_time(task.completed_at) if task.completed_at else None,
        "completed_by": completed_by.compact() if completed_by else None,
        "created_at": asana_time(task.created_at),
        "created_by": ref(task.created_by, "user"),
        "dependencies": [],
        "dependents": [],
        "due_at": task.due_at,
        "due_on": task.due_on,
        "followers": [],
        "hearted": False,
        "hearts": [],
        "html_notes": task.html_notes,
        "liked": False,
        "likes": [],
        "memberships": memberships,
        "modified_at": asana_time(task.modified_at),
        "notes": task.notes,
        "num_hearts": 0,
        "num_likes": 0,
        "num_subtasks": 0,
        "parent": None,
        "permalink_url": f"https://app.asana.com/0/0/{task.gid}",
        "projects": [store.projects[project].compact() for project in task.project_gids()],
        "start_at": None,
        "start_on": task.start_on,
        "tags": [],
        "workspace": workspace.compact(),
    }
    external = task.externals.get(credential.app or "") if credential.is_oauth else None
    if credential.is_oauth:
        doc["external"] = {"gid": external.gid, "data": external.data} if external else None
    return doc


def shown(record: JSON, fields: list[str] | None) -> JSON:
    """A single task as answered: the complete record without opt-in fields, or ``opt_fields``."""
    if fields is not None:
        return select(record, fields)
    hidden = set(OPT_IN_TASK_FIELDS)
    if record.get("external") is not None:
        hidden.discard("external")  # conditional: present once set
    return {k: v for k, v in record.items() if k not in hidden}


def listed(record: JSON, fields: list[str] | None) -> JSON:
    """An item of a list: its compact form, or ``opt_fields``."""
    if fields is not None:
        return select(record, fields)
    keys = ("gid", "resource_type", "name", "resource_subtype")
    return {k: record[k] for k in keys if k in record}


def project_record(store: AsanaStore, gid: str) -> JSON:
    project = store.projects[gid]
    return {
        **project.compact(),
        "archived": project.archived,
        "workspace": store.workspaces[project.workspace_gid].compact(),
        "permalink_url": f"https://app.asana.com/0/{project.gid}",
    }


def section_record(store: AsanaStore, gid: str) -> JSON:
    section = store.sections[gid]
    return {**section.compact(), "project": store.projects[section.project_gid].compact()}


def workspace_record(store: AsanaStore, gid: str) -> JSON:
    workspace = store.workspaces[gid]
    return {**workspace.compact(), "is_organization": workspace.is_organization}


def user_record(store: AsanaStore, gid: str) -> JSON:
    user = store.users[gid]
    workspaces = [w.compact() for w in store.workspaces.values() if gid in w.member_gids]
    return {**user.compact(), "email": user.email, "photo": None, "workspaces": workspaces}
