"""The body of an issue webhook delivery (https://developer.atlassian.com/cloud/jira/platform/webhooks/#example-callback-for-an-issue-related-event):
``{timestamp (ms), webhookEvent, issue_event_type_name, user, issue (v2: description in wiki
markup), changelog: {id, items}}``; dynamic webhooks add ``matchedWebhookIds``."""

from __future__ import annotations

from typing import Any

from tether_emulators.jira.issues import IssueEvent
from tether_emulators.jira.representation import issue_json
from tether_emulators.jira.store import JiraStore

JSON = dict[str, Any]


def issue_payload(
    store: JiraStore, event: IssueEvent, base: str, matched: list[int] | None, changelog_id: str
) -> JSON:
    """The delivery body; ``matched`` the dynamic webhooks it answers (None for admin ones)."""
    payload: JSON = {
        "timestamp": int(event.at.timestamp() * 1000),
        "webhookEvent": event.webhook_event,
        "issue_event_type_name": event.type_name,
        "user": event.actor.compact(base),
        "issue": issue_json(store, event.issue, base, wiki=True),
    }
    if event.items:
        payload["changelog"] = {"id": changelog_id, "items": list(event.items)}
    if matched is not None:
        payload["matchedWebhookIds"] = matched
    return payload
