"""Outages: Asana failing with a 5xx for a while, for one project or for everything.

An outage makes every ``/api/1.0`` request concerning its project (the project itself, its
sections, its tasks, webhooks and events on it, a new task placed in it) answer its status
with Asana's error body (a 500 carries a ``phrase``), performing nothing; an outage without a
project fails every API request. The gate consults it before auth and rate limits, so a
refused request spends no quota; the control API and webhook deliveries carry on. The registry
of outages is common/outages.py; here are Asana's facts: which projects a request concerns, and
how a refusal reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from tether_emulators.asana.errors import AsanaError, error_response
from tether_emulators.asana.store import AsanaStore
from tether_emulators.common.outages import Outage

_MESSAGES = {500: "Server Error", 503: "Service Unavailable"}


def refusal(outage: Outage) -> Response:
    """Asana's error body for the outage's status (a 5xx also carries a ``phrase``)."""
    return error_response(AsanaError(outage.status, _MESSAGES.get(outage.status, "Server Error")))


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
