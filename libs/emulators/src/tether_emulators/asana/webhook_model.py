"""A webhook subscription as Asana keeps it: its resource, target, filters and delivery state
(the ``WebhookResponse`` and ``WebhookFilter`` schemas of the OpenAPI document,
https://raw.githubusercontent.com/Asana/openapi/master/defs/asana_oas.yaml). A webhook sees
the events that concern its resource and pass one of its filters ("If a webhook event passes
any of the filters the event will be delivered"), and none while inactive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tether_emulators.asana.errors import AsanaError, bad_request, forbidden
from tether_emulators.asana.events import Event
from tether_emulators.asana.store import JSON

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


@dataclass
class Webhook:
    gid: str
    resource: JSON  # {gid, resource_type, name}
    target: str
    filters: list[JSON]
    user_gid: str
    app: str | None  # the OAuth app that made it; None for a personal access token
    workspace_gid: str
    secret: str
    created_at: str
    active: bool = True
    last_success_at: str | None = None
    last_failure_at: str | None = None
    last_failure_content: str | None = None
    delivery_retry_count: int = 0

    def to_json(self) -> JSON:
        return {
            "gid": self.gid,
            "resource_type": "webhook",
            "active": self.active,
            "resource": self.resource,
            "target": self.target,
            "created_at": self.created_at,
            "filters": self.filters,
            "last_success_at": self.last_success_at,
            "last_failure_at": self.last_failure_at,
            "last_failure_content": self.last_failure_content,
            "delivery_retry_count": self.delivery_retry_count,
        }

    def wants(self, event: Event) -> bool:
        """The webhook's resource sees the event and it passes one of the filters (if any)."""
        if not self.active or self.resource["gid"] not in event.concerns:
            return False
        return not self.filters or any(_passes(f, event) for f in self.filters)


def _passes(webhook_filter: JSON, event: Event) -> bool:
    resource = event.resource
    checks = [
        webhook_filter.get("resource_type") in (None, resource["resource_type"]),
        webhook_filter.get("resource_subtype") in (None, resource.get("resource_subtype")),
        webhook_filter.get("action") in (None, event.action),
    ]
    fields = webhook_filter.get("fields")
    if fields:
        checks.append(event.change is not None and event.change.get("field") in fields)
    return all(checks)


def check_target(target: object, *, allow_local: bool) -> str:
    if not isinstance(target, str) or not target:
        raise AsanaError(400, "target: Missing input")
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request(f"target: Invalid URL: {target}")
    host = parts.hostname
    if not allow_local and (host in _LOCAL_HOSTS or host.endswith(".localhost")):
        raise forbidden(f"target: Invalid hostname: {host}")
    return target


def webhook_filters(value: Any) -> list[JSON]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(f, dict) for f in value):
        raise bad_request("filters: Not an array of objects")
    allowed = {"resource_type", "resource_subtype", "action", "fields"}
    return [{k: v for k, v in f.items() if k in allowed} for f in value]
