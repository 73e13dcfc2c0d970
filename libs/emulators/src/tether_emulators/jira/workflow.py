"""The statuses and the default workflow every emulated project uses.

Jira groups statuses into three categories (``statusCategory.key``: ``new``, ``indeterminate``,
``done``; https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-workflow-status-categories/).
A status is changed only by a transition (``POST /issue/{key}/transitions``), and which
transitions are available depends on the current status. Workflows often have no direct
transition to Done (/work/shared/PROVIDERS.md, Jira Cloud), so this one has none from To Do:

    To Do -> In Progress -> In Review -> Done, In Review -> In Progress, Done -> To Do (Reopen)

Transition ids are the workflow's own, so a client must read them, never assume them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class StatusCategory:
    id: int
    key: str
    name: str
    color_name: str

    def to_json(self, base: str) -> JSON:
        return {
            "self": f"{base}/rest/api/3/statuscategory/{self.id}",
            "id": self.id,
            "key": self.key,
            "colorName": self.color_name,
            "name": self.name,
        }


NEW = StatusCategory(2, "new", "To Do", "blue-gray")
IN_PROGRESS = StatusCategory(4, "indeterminate", "In Progress", "yellow")
DONE = StatusCategory(3, "done", "Done", "green")


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: StatusCategory

    def to_json(self, base: str) -> JSON:
        return {
            "self": f"{base}/rest/api/3/status/{self.id}",
            "description": "",
            "iconUrl": f"{base}/images/icons/statuses/generic.png",
            "name": self.name,
            "id": self.id,
            "statusCategory": self.category.to_json(base),
        }


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    sources: tuple[str, ...]  # the ids of the statuses it leaves from
    to: str  # the id of the status it reaches


TO_DO = Status("10000", "To Do", NEW)
PROGRESS = Status("3", "In Progress", IN_PROGRESS)
REVIEW = Status("10001", "In Review", IN_PROGRESS)
DONE_STATUS = Status("10002", "Done", DONE)
STATUSES = {s.id: s for s in (TO_DO, PROGRESS, REVIEW, DONE_STATUS)}
INITIAL_STATUS = TO_DO

TRANSITIONS = (
    Transition("11", "Start progress", (TO_DO.id,), PROGRESS.id),
    Transition("21", "Ready for review", (PROGRESS.id,), REVIEW.id),
    Transition("31", "Done", (REVIEW.id,), DONE_STATUS.id),
    Transition("41", "Back to progress", (REVIEW.id,), PROGRESS.id),
    Transition("51", "Reopen", (DONE_STATUS.id,), TO_DO.id),
)


def available(status_id: str) -> list[Transition]:
    """The transitions open from ``status_id``, in the workflow's order."""
    return [t for t in TRANSITIONS if status_id in t.sources]


def transition_json(transition: Transition, base: str) -> JSON:
    """One entry of ``GET /issue/{key}/transitions`` (the ``IssueTransition`` schema)."""
    return {
        "id": transition.id,
        "name": transition.name,
        "to": STATUSES[transition.to].to_json(base),
        "hasScreen": False,
        "isGlobal": False,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }


def status_named(name: str) -> Status | None:
    """A status by name or id, case-insensitively (how JQL names them)."""
    wanted = name.casefold()
    return next((s for s in STATUSES.values() if wanted in (s.name.casefold(), s.id)), None)
