"""Webhooks as Jira keeps them: dynamic ones, registered by an OAuth 2.0 app through
``/rest/api/3/webhook`` (expiring after 30 days unless refreshed), and admin ones, registered
through ``/rest/webhooks/1.0/webhook`` by a user with Administer Jira (no expiry, an optional
``secret``). Sources: https://developer.atlassian.com/cloud/jira/platform/webhooks/ and
/work/shared/PROVIDERS.md (Jira Cloud).

A webhook sees an issue event when the event is one of its ``events`` and the issue matches its
JQL filter. Dynamic webhooks take only the filter subset Atlassian documents: the fields
``project``, ``issueKey``, ``issuetype``, ``status``, ``assignee``, ``reporter``,
``issue.property`` and ``cf[id]``, with ``=``, ``!=``, ``IN`` and ``NOT IN``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from tether_emulators.jira.jql import Query, parse
from tether_emulators.jira.match import Reader, check, matches
from tether_emulators.jira.store import Issue

JSON = dict[str, Any]
LIFETIME = timedelta(days=30)
ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})
_DYNAMIC_FIELDS = {"project", "issuekey", "issuetype", "status", "assignee", "reporter"}
_DYNAMIC_OPERATORS = {"=", "!=", "in", "not in"}


@dataclass
class Webhook:
    """``kind`` dynamic: ``app`` is the client id and ``secret`` its client secret (deliveries
    carry a JWT signed with it); admin: ``secret`` is the webhook's own (``X-Hub-Signature``),
    or None for unsigned deliveries."""

    id: int
    kind: Literal["dynamic", "admin"]
    url: str
    events: list[str]
    jql: str
    query: Query
    owner: str  # the account that registered it
    app: str | None
    secret: str | None
    expires_at: datetime | None = None
    name: str = ""
    last_updated: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def wants(self, event: str, issue: Issue, reader: Reader, now: datetime) -> bool:
        if self.expired(now) or event not in self.events:
            return False
        return matches(self.query, issue, reader)

    def dynamic_json(self) -> JSON:
        """The ``Webhook`` schema of ``GET /rest/api/3/webhook``."""
        assert self.expires_at is not None
        return {
            "id": self.id,
            "jqlFilter": self.jql,
            "events": self.events,
            # The schema says int64 milliseconds (the page's example shows a date string).
            "expirationDate": int(self.expires_at.timestamp() * 1000),
        }

    def admin_json(self, base: str) -> JSON:
        """A webhook as ``/rest/webhooks/1.0/webhook`` shows it (the secret is never shown)."""
        return {
            "self": f"{base}/rest/webhooks/1.0/webhook/{self.id}",
            "name": self.name,
            "url": self.url,
            "events": self.events,
            "filters": {"issue-related-events-section": self.jql},
            "excludeBody": False,
            "enabled": True,
            "lastUpdatedUser": self.owner,
            "lastUpdated": int(self.last_updated.timestamp() * 1000) if self.last_updated else None,
        }


def dynamic_filter_problems(jql: object, reader: Reader) -> list[str]:
    """Why ``jql`` cannot filter a dynamic webhook (empty when it can)."""
    if not isinstance(jql, str) or not jql.strip():
        return ["The JQL filter is required."]
    try:
        query = parse(jql)
        check(query, reader, bounded=False)
    except Exception as exc:  # a JiraError from the parser, said per webhook
        return [str(exc)]
    problems = []
    for clause in query.clauses:
        supported = clause.field in _DYNAMIC_FIELDS or clause.property_path() is not None
        if not supported or clause.op not in _DYNAMIC_OPERATORS or query.order_by:
            problems.append(
                f"The JQL filter is not supported for webhooks: {clause.field} {clause.op}"
            )
    return problems
