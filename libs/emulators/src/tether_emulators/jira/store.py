"""The emulated Jira site in memory: users and their API tokens, projects, issue types, issues
and their entity properties.

Ids are numeric strings counting up from 10000 and issue keys are ``<PROJECT>-<n>``, as Jira
Cloud's are. Every change to an issue goes through ``issues.py`` so that it records the
changelog that webhooks carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tether_emulators.jira.errors import JiraError, issue_not_found
from tether_emulators.jira.workflow import INITIAL_STATUS

JSON = dict[str, Any]
WallClock = Callable[[], datetime]


def jira_time(moment: datetime, time_zone: str = "UTC") -> str:
    """Jira's timestamps, in the reader's time zone: ``2024-05-01T14:00:00.000+0200``."""
    local = moment.astimezone(ZoneInfo(time_zone))
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{local.microsecond // 1000:03d}"
        + (local.strftime("%z"))
    )


@dataclass
class User:
    """A person on the site: ``time_zone`` is their profile's (JQL dates are read in it),
    ``admin`` whether they hold Administer Jira (admin webhooks need it)."""

    account_id: str
    display_name: str
    email: str
    time_zone: str = "UTC"
    admin: bool = False

    def compact(self, base: str) -> JSON:
        """The ``User`` shape nested in issues and webhook payloads."""
        return {
            "self": f"{base}/rest/api/3/user?accountId={self.account_id}",
            "accountId": self.account_id,
            "displayName": self.display_name,
            "active": True,
            "timeZone": self.time_zone,
            "accountType": "atlassian",
        }


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str

    def to_json(self, base: str) -> JSON:
        return {
            "self": f"{base}/rest/api/3/issuetype/{self.id}",
            "id": self.id,
            "name": self.name,
            "description": "",
            "iconUrl": f"{base}/images/icons/issuetypes/{self.name.lower()}.png",
            "subtask": False,
            "hierarchyLevel": 0,
        }


@dataclass
class Project:
    id: str
    key: str
    name: str
    issue_types: list[IssueType]
    issue_count: int = 0  # the last number handed out in an issue key
    # A workflow condition per transition id ("User Is In Group", "Only Assignee"...): only
    # these account ids may take it; everyone else neither sees it nor may perform it.
    conditions: dict[str, frozenset[str]] = field(default_factory=dict)

    def compact(self, base: str) -> JSON:
        return {
            "self": f"{base}/rest/api/3/project/{self.id}",
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "projectTypeKey": "software",
            "simplified": False,
        }


@dataclass
class Issue:
    id: str
    key: str
    project_id: str
    issuetype_id: str
    summary: str
    reporter_id: str
    created: datetime
    updated: datetime
    description: JSON | None = None  # an ADF document
    duedate: str | None = None  # YYYY-MM-DD
    status_id: str = INITIAL_STATUS.id
    properties: dict[str, Any] = field(default_factory=dict)


DEFAULT_ISSUE_TYPES = (IssueType("10001", "Task"), IssueType("10002", "Bug"))


class JiraStore:
    """Everything on the site, by id; ``tokens`` maps ``(email, API token)`` to an account."""

    def __init__(self, now: WallClock) -> None:
        self.now = now
        self.users: dict[str, User] = {}
        self.tokens: dict[tuple[str, str], str] = {}
        self.projects: dict[str, Project] = {}
        self.issues: dict[str, Issue] = {}
        self._next_id = 10000

    def next_id(self) -> str:
        ident, self._next_id = self._next_id, self._next_id + 1
        return str(ident)

    def skip_ids_to(self, floor: int) -> None:
        """Hand out ids from ``floor`` on (never one handed out already)."""
        self._next_id = max(self._next_id, floor)

    def add_user(self, user: User) -> User:
        self.users[user.account_id] = user
        return user

    def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email == email), None)

    def add_project(self, key: str, name: str) -> Project:
        if self.project_or_none(key) is not None:
            raise JiraError(400, errors={"projectKey": f"Project '{key}' uses this project key."})
        project = Project(self.next_id(), key, name, list(DEFAULT_ISSUE_TYPES))
        self.projects[project.id] = project
        return project

    def project_or_none(self, id_or_key: str) -> Project | None:
        found = self.projects.get(id_or_key)
        wanted = id_or_key.upper()
        return found or next((p for p in self.projects.values() if p.key == wanted), None)

    def project(self, id_or_key: str) -> Project:
        """404 with Jira's wording when no project has that id or key."""
        found = self.project_or_none(id_or_key)
        if found is None:
            raise JiraError(404, f"No project could be found with key '{id_or_key}'.")
        return found

    def issue(self, id_or_key: str) -> Issue:
        """An issue by id or key (keys are case-insensitive); 404 otherwise."""
        found = self.issues.get(id_or_key)
        if found is None:
            wanted = id_or_key.upper()
            found = next((i for i in self.issues.values() if i.key == wanted), None)
        if found is None:
            raise issue_not_found()
        return found

    def new_issue(
        self, project: Project, issuetype: IssueType, summary: str, reporter: User
    ) -> Issue:
        project.issue_count += 1
        now = self.now()
        issue = Issue(
            id=self.next_id(),
            key=f"{project.key}-{project.issue_count}",
            project_id=project.id,
            issuetype_id=issuetype.id,
            summary=summary,
            reporter_id=reporter.account_id,
            created=now,
            updated=now,
        )
        self.issues[issue.id] = issue
        return issue
