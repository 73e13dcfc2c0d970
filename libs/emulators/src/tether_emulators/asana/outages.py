"""Outages: Asana failing with a 5xx for a while, for one project or for everything.

An outage makes every ``/api/1.0`` request concerning its project (the project itself, its
sections, its tasks, webhooks and events on it, a new task placed in it) answer its status
with Asana's error body (a 500 carries a ``phrase``), performing nothing; an outage without a
project fails every API request. The gate consults it before auth and rate limits, so a
refused request spends no quota; the control API and webhook deliveries carry on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tether_emulators.asana.store import JSON, AsanaStore

_MESSAGES = {500: "Server Error", 503: "Service Unavailable"}


@dataclass(frozen=True)
class Outage:
    project_gid: str | None
    status: int

    @property
    def message(self) -> str:
        return _MESSAGES.get(self.status, "Server Error")

    def to_json(self) -> JSON:
        return {"project_gid": self.project_gid, "status": self.status}


class Outages:
    def __init__(self) -> None:
        self._by_project: dict[str | None, Outage] = {}

    def start(self, project_gid: str | None, status: int) -> Outage:
        outage = self._by_project[project_gid] = Outage(project_gid, status)
        return outage

    def end_all(self) -> int:
        count = len(self._by_project)
        self._by_project.clear()
        return count

    def __len__(self) -> int:
        return len(self._by_project)

    def refusing(self, projects: Iterable[str]) -> Outage | None:
        found = self._by_project.get(None)
        if found is not None:
            return found
        return next((self._by_project[p] for p in sorted(projects) if p in self._by_project), None)

    def to_json(self) -> list[JSON]:
        return [outage.to_json() for outage in self._by_project.values()]


def projects_concerned(
    store: AsanaStore, path: str, query: Mapping[str, str], data: Mapping[str, Any]
) -> set[str]:
    """The projects an API request reads or changes, as far as the store knows them."""
    parts = path.split("/")[3:]  # "/api/1.0/tasks/123" -> ["tasks", "123"]
    kind, ident = [*parts, "", ""][:2]
    found: set[str] = set()
    names: list[object] = [query.get("project"), query.get("resource"), data.get("resource")]
    names += [data.get("project"), *(_list(data.get("projects")))]
    names += [m.get("project") for m in _list(data.get("memberships")) if isinstance(m, dict)]
    if kind in ("projects", "sections", "tasks", "webhooks"):
        names.append(ident)
    if kind == "sections":
        names.append(query.get("section"))
    for name in names:
        found |= _projects_of(store, name)
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _projects_of(store: AsanaStore, gid: object) -> set[str]:
    if not isinstance(gid, str):
        return set()
    if gid in store.projects:
        return {gid}
    if gid in store.sections:
        return {store.sections[gid].project_gid}
    if gid in store.tasks:
        return set(store.tasks[gid].project_gids())
    return set()
