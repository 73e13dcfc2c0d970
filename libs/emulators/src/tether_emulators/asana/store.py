"""The emulated Asana world in memory: users, workspaces, projects, sections, tasks, tokens.

Resources are identified by ``gid``: numeric strings, as Asana's are (since the 2019 move to
string ids, https://developers.asana.com/docs/object-hierarchy). Every change to a task goes
through ``tasks.py`` so that it records the events webhooks and ``/events`` report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from tether_emulators.asana.errors import unknown_object

JSON = dict[str, Any]
WallClock = Callable[[], datetime]

# Asana gids are 16-digit numbers these days; the sandbox counts up from a fixed base, so its
# gids stay the same across restarts.
GID_BASE = 1_208_000_000_000_000
_T = TypeVar("_T")


def asana_time(moment: datetime) -> str:
    """Asana's timestamps: UTC, milliseconds, ``Z`` (``2012-02-22T02:06:58.147Z``)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def ref(gid: str, resource_type: str, name: str | None = None) -> JSON:
    """A compact reference to another object, as nested in Asana's answers."""
    doc: JSON = {"gid": gid, "resource_type": resource_type}
    if name is not None:
        doc["name"] = name
    return doc


@dataclass
class User:
    gid: str
    name: str
    email: str

    def compact(self) -> JSON:
        return ref(self.gid, "user", self.name)


@dataclass
class Workspace:
    gid: str
    name: str
    member_gids: list[str]
    is_organization: bool = False

    def compact(self) -> JSON:
        return ref(self.gid, "workspace", self.name)


@dataclass
class Project:
    gid: str
    name: str
    workspace_gid: str
    archived: bool = False

    def compact(self) -> JSON:
        return ref(self.gid, "project", self.name)


@dataclass
class Section:
    gid: str
    name: str
    project_gid: str

    def compact(self) -> JSON:
        return ref(self.gid, "section", self.name)


@dataclass
class External:
    """``external`` of a task: visible and settable only by the OAuth app that set it."""

    gid: str | None
    data: str | None
    app: str  # the OAuth client id that owns it


@dataclass
class Task:
    gid: str
    name: str
    workspace_gid: str
    created_by: str
    created_at: datetime
    modified_at: datetime
    notes: str = ""
    html_notes: str = "<body></body>"
    due_on: str | None = None
    due_at: str | None = None
    start_on: str | None = None
    completed: bool = False
    completed_at: datetime | None = None
    completed_by: str | None = None
    # (project gid, section gid), in the order the task joined them.
    memberships: list[tuple[str, str]] = field(default_factory=list)
    externals: dict[str, External] = field(default_factory=dict)  # by OAuth app
    trashed_at: datetime | None = None

    def compact(self) -> JSON:
        return {**ref(self.gid, "task", self.name), "resource_subtype": "default_task"}

    def project_gids(self) -> list[str]:
        return [project for project, _ in self.memberships]


@dataclass
class Credential:
    """What a Bearer token stands for: a personal access token or an OAuth access token."""

    user_gid: str
    app: str | None = None  # the OAuth client id; None for a personal access token
    expires_at: datetime | None = None
    refresh_token: str | None = None

    @property
    def is_oauth(self) -> bool:
        return self.app is not None


class AsanaStore:
    """Every object by gid, and the tokens."""

    def __init__(self, wall_clock: WallClock) -> None:
        self.now = wall_clock
        self._next_gid = GID_BASE
        self.users: dict[str, User] = {}
        self.workspaces: dict[str, Workspace] = {}
        self.projects: dict[str, Project] = {}
        self.sections: dict[str, Section] = {}
        self.tasks: dict[str, Task] = {}
        self.tokens: dict[str, Credential] = {}

    def new_gid(self) -> str:
        self._next_gid += 1
        return str(self._next_gid)

    def skip_gids_to(self, floor: int) -> None:
        """Hand out gids above ``floor`` from now on (never one handed out already)."""
        self._next_gid = max(self._next_gid, floor)

    # --- seeding ---------------------------------------------------------------------------

    def add_user(self, name: str, email: str) -> User:
        user = User(self.new_gid(), name, email)
        self.users[user.gid] = user
        for workspace in self.workspaces.values():
            workspace.member_gids.append(user.gid)
        return user

    def add_workspace(self, name: str) -> Workspace:
        workspace = Workspace(self.new_gid(), name, list(self.users))
        self.workspaces[workspace.gid] = workspace
        return workspace

    def add_project(self, workspace: Workspace, name: str, sections: list[str]) -> Project:
        project = Project(self.new_gid(), name, workspace.gid)
        self.projects[project.gid] = project
        # A new Asana project has one section even when nobody named any ("Untitled section").
        for section_name in sections or ["Untitled section"]:
            self.add_section(project, section_name)
        return project

    def add_section(self, project: Project, name: str) -> Section:
        section = Section(self.new_gid(), name, project.gid)
        self.sections[section.gid] = section
        return section

    # --- lookups (404 for what does not exist) ---------------------------------------------

    def workspace(self, gid: str) -> Workspace:
        return _found(self.workspaces, gid)

    def project(self, gid: str) -> Project:
        return _found(self.projects, gid)

    def section(self, gid: str) -> Section:
        return _found(self.sections, gid)

    def task(self, gid: str) -> Task:
        task = _found(self.tasks, gid)
        if task.trashed_at is not None:
            raise unknown_object(gid)
        return task

    def project_sections(self, project_gid: str) -> list[Section]:
        return [s for s in self.sections.values() if s.project_gid == project_gid]

    def first_section(self, project_gid: str) -> Section:
        return self.project_sections(project_gid)[0]

    def can_see_workspace(self, user_gid: str, workspace_gid: str) -> bool:
        workspace = self.workspaces.get(workspace_gid)
        return workspace is not None and user_gid in workspace.member_gids


def _found(objects: dict[str, _T], gid: str) -> _T:
    found = objects.get(gid)
    if found is None:
        raise unknown_object(gid)
    return found
