"""Issues as Jira shows them: API v3 (description in ADF) and the v2 shape webhook payloads carry
(description in wiki markup; /work/shared/PROVIDERS.md, Jira Cloud).

Timestamps are in the reader's time zone (``2024-05-01T14:00:00.000+0200``). ``fields`` picks
which fields appear: ``*all``/``*navigable`` give all of them, names pick some, and a name
prefixed with ``-`` leaves one out
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tether_emulators.jira import adf, workflow
from tether_emulators.jira.store import Issue, JiraStore, jira_time

JSON = dict[str, Any]
EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
ALL_FIELDS = ("summary", "description", "duedate", "status", "issuetype", "project",
              "created", "updated", "reporter", "creator")  # fmt: skip


def wanted_fields(requested: Iterable[str] | None) -> list[str]:
    """The field names a ``fields`` parameter selects (all when not given)."""
    names = [n.strip() for n in (requested or ["*all"]) if n.strip()]
    chosen: list[str] = []
    for name in names:
        if name in ("*all", "*navigable"):
            chosen += [f for f in ALL_FIELDS if f not in chosen]
        elif name in ALL_FIELDS and name not in chosen:
            chosen.append(name)
    return [f for f in chosen if f"-{f}" not in names]


def issue_json(
    store: JiraStore,
    issue: Issue,
    base: str,
    *,
    time_zone: str = "UTC",
    fields: Iterable[str] | None = None,
    wiki: bool = False,
) -> JSON:
    """The ``IssueBean``: ``{expand, id, self, key, fields}``; ``wiki`` gives v2's
    description."""
    values = _field_values(store, issue, base, time_zone, wiki)
    api = "2" if wiki else "3"
    return {
        "expand": EXPAND,
        "id": issue.id,
        "self": f"{base}/rest/api/{api}/issue/{issue.id}",
        "key": issue.key,
        "fields": {name: values[name] for name in wanted_fields(fields)},
    }


def _field_values(store: JiraStore, issue: Issue, base: str, tz: str, wiki: bool) -> JSON:
    project = store.projects[issue.project_id]
    kind = next(t for t in project.issue_types if t.id == issue.issuetype_id)
    reporter = store.users.get(issue.reporter_id)
    person = reporter.compact(base) if reporter else None
    return {
        "summary": issue.summary,
        "description": adf.to_wiki(issue.description) if wiki else issue.description,
        "duedate": issue.duedate,
        "status": workflow.STATUSES[issue.status_id].to_json(base),
        "issuetype": kind.to_json(base),
        "project": project.compact(base),
        "created": jira_time(issue.created, tz),
        "updated": jira_time(issue.updated, tz),
        "reporter": person,
        "creator": person,
    }


def properties_json(issue: Issue, requested: Iterable[str]) -> JSON:
    """The ``properties`` member for a ``properties`` parameter (``*all`` or keys)."""
    keys = [k.strip() for k in requested if k.strip()]
    if "*all" in keys:
        return dict(issue.properties)
    return {k: issue.properties[k] for k in keys if k in issue.properties}


def split_list(value: str | list[str] | None) -> list[str] | None:
    """A comma-separated query parameter (or a JSON list) as names; None when absent."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return [part for item in items for part in str(item).split(",")]
