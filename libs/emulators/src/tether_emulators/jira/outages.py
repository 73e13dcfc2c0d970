"""Outages: Jira failing with a 5xx for a while, for one project or for everything.

An outage makes every API request concerning its project (the project, its create metadata,
its issues and their properties and transitions, a new issue in it, a search naming it with
``project = KEY``) answer its status, performing nothing; an outage without a project fails
every API request. The registry is common/outages.py; here are Jira's facts: which projects a
request concerns, and how a refusal reads (an ``ErrorCollection``; the wording is chosen here).
"""

from __future__ import annotations

import contextlib
import json
import re

from starlette.responses import Response

from tether_emulators.common.outages import Outage
from tether_emulators.jira.errors import JiraError, error_response
from tether_emulators.jira.store import JiraStore

_MESSAGES = {500: "Internal server error", 503: "Service Unavailable"}
_ISSUE_PATH = re.compile(r"^/rest/api/3/issue/(?P<ident>[^/]+)(?P<rest>/.*)?$")
_PROJECT_PATH = re.compile(r"^/rest/api/3/(?:project|issue/createmeta)/(?P<ident>[^/]+)")
_JQL_PROJECT = re.compile(r"""project\s*=\s*["']?([\w-]+)""", re.IGNORECASE)
_WRITES = ("POST", "PUT", "DELETE")


def refusal(outage: Outage) -> Response:
    message = _MESSAGES.get(outage.status, "Internal server error")
    return error_response(JiraError(outage.status, message))


def projects_concerned(store: JiraStore, path: str, body: bytes) -> set[str]:
    """The keys of the projects a request reads or changes, as far as the store knows them."""
    keys: set[str] = set()
    idents: list[str] = []
    issue = _ISSUE_PATH.match(path)
    if issue is not None and issue.group("ident") != "createmeta":
        with contextlib.suppress(JiraError):
            idents.append(store.projects[store.issue(issue.group("ident")).project_id].key)
    project = _PROJECT_PATH.match(path)
    if project is not None:
        idents.append(project.group("ident"))
    data: object = None
    with contextlib.suppress(ValueError):
        data = json.loads(body or b"null")
    if isinstance(data, dict):
        fields = data.get("fields")
        ref = fields.get("project") if isinstance(fields, dict) else None
        if isinstance(ref, dict):
            idents += [str(ref[k]) for k in ("key", "id") if k in ref]
        if isinstance(data.get("jql"), str):
            idents += _JQL_PROJECT.findall(data["jql"])
    for ident in idents:
        found = store.project_or_none(ident)
        if found is not None:
            keys.add(found.key)
    return keys


def written_issue(store: JiraStore, method: str, path: str) -> str | None:
    """The id of the issue a write changes (its fields, status, properties), for the per-issue
    write limit; None for reads and other writes."""
    found = _ISSUE_PATH.match(path)
    if method.upper() not in _WRITES or found is None or found.group("ident") == "createmeta":
        return None
    with contextlib.suppress(JiraError):
        return store.issue(found.group("ident")).id
    return None
