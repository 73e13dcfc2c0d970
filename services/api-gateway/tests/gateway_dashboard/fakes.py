"""Fakes of what the dashboard reads from the connectors and task-core, and the records they
serve: connections, link health, webhooks, dead letters and conflicts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Protocol

import httpx

from tether_contracts.connections import ConnectionOut, ConnectionStatus, Targets
from tether_contracts.operations import DeadLetterOut, LinkHealthOut, ReplayedOut, WebhookOut
from tether_contracts.sync import ConflictOut, LinkOut, Provider
from tether_contracts.tasks import TaskOut

CONNECTIONS = re.compile(r"^/internal/v1/tenants/(?P<tenant>[^/]+)/connections$")
ONE_CONNECTION = re.compile(
    r"^/internal/v1/tenants/(?P<tenant>[^/]+)/connections/(?P<id>[^/]+)(?P<targets>/targets)?$"
)
OPERATIONS = re.compile(
    r"^/internal/v1/tenants/(?P<tenant>[^/]+)/(?P<part>links|webhooks|dead-letters)"
    r"(?:/(?P<record>[^/]+)/replay)?$"
)
NOW = datetime.now(UTC)


class FakeTaskCore(Protocol):
    """What these tests use of conftest's fake task-core."""

    tasks: dict[str, dict[str, TaskOut]]
    conflicts: dict[str, list[ConflictOut]]
    links: dict[str, list[LinkOut]]  # by task id
    requests: list[httpx.Request]


class OperatorFakeConnectors:
    """Fake connectors serving what the dashboard reads, per tenant: connections, links,
    webhooks and dead letters, and the replay of a dead letter."""

    def __init__(self) -> None:
        self.connections: dict[str, list[ConnectionOut]] = {}
        self.links: dict[str, list[LinkHealthOut]] = {}
        self.webhooks: dict[str, list[WebhookOut]] = {}
        self.parked: dict[str, list[DeadLetterOut]] = {}
        self.replayed: list[tuple[str, str]] = []  # (tenant, record id)
        self.targets: dict[str, Targets] = {}  # by connection id
        self.unreachable: set[Provider] = set()

    def add(self, tenant_id: str, connection_id: str, status: ConnectionStatus) -> None:
        connection = ConnectionOut(
            id=connection_id,
            provider="trello",
            account_id="m1",
            account_name="ada",
            status=status,
            error="token revoked" if status == "broken" else None,
            broken_since=NOW if status == "broken" else None,
            created_at=NOW,
        )
        self.connections.setdefault(tenant_id, []).append(connection)

    def transport(self, provider: Provider) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: self._handle(provider, request))

    def _handle(self, provider: Provider, request: httpx.Request) -> httpx.Response:
        if provider in self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        if (listed := CONNECTIONS.match(request.url.path)) is not None:
            mine = [c for c in self.connections.get(listed["tenant"], []) if c.provider == provider]
            return httpx.Response(200, json=[c.model_dump(mode="json") for c in mine])
        if (one := ONE_CONNECTION.match(request.url.path)) is not None:
            return self._connection(one["tenant"], one["id"], bool(one["targets"]))
        match = OPERATIONS.match(request.url.path)
        if match is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        tenant, part = match["tenant"], match["part"]
        if match["record"] is not None:
            parked = [d for d in self.parked.get(tenant, []) if d.provider == provider]
            found = next((d for d in parked if d.id == match["record"]), None)
            if found is None or request.method != "POST":
                error = {"code": "dead_letter_not_found", "message": "no such dead letter"}
                return httpx.Response(404, json={"error": error})
            self.replayed.append((tenant, found.id))
            done = ReplayedOut(id=found.id, event_id=found.event_id, original_topic="t")
            return httpx.Response(200, content=done.model_dump_json())
        rows: list[LinkHealthOut] | list[WebhookOut] | list[DeadLetterOut]
        if part == "links":
            rows = [r for r in self.links.get(tenant, []) if r.provider == provider]
        elif part == "webhooks":
            rows = [
                w for w in self.webhooks.get(tenant, []) if w.connection_id.startswith(provider)
            ]
        else:
            rows = [d for d in self.parked.get(tenant, []) if d.provider == provider]
        return httpx.Response(200, json=[r.model_dump(mode="json") for r in rows])

    def _connection(self, tenant: str, connection_id: str, targets: bool) -> httpx.Response:
        found = next((c for c in self.connections.get(tenant, []) if c.id == connection_id), None)
        if found is None:
            error = {"code": "connection_not_found", "message": "no such connection"}
            return httpx.Response(404, json={"error": error})
        if targets:
            return httpx.Response(200, content=self.targets[connection_id].model_dump_json())
        return httpx.Response(200, content=found.model_dump_json())


def link(task_id: str, status: str = "active", **extra: object) -> LinkHealthOut:
    values: dict[str, object] = {
        "link_id": f"link-{task_id}",
        "task_id": task_id,
        "provider": "trello",
        "connection_id": "trello_c1",
        "status": status,
        "state": "ok",
        "external_id": f"card-{task_id}",
        "url": f"https://trello.test/c/{task_id}",
        "attempts": 0,
        "next_attempt_at": None,
        "retry_until": None,
        "last_error": None,
        "last_sync": NOW,
    }
    return LinkHealthOut.model_validate(values | extra)


def conflict(conflict_id: str, task_id: str, core: str, provider: str) -> ConflictOut:
    return ConflictOut(
        id=conflict_id,
        task_id=task_id,
        field="title",
        base_value="Base",
        core_value=core,
        provider_value=provider,
        core_replica="core",
        provider_replica="trello:card-1",
        winner="trello:card-1",
        winning_value=provider,
        policy="latest_wins",
        resolved_at=NOW,
    )


def dead_letter(record_id: str, task_id: str) -> DeadLetterOut:
    return DeadLetterOut(
        id=record_id,
        provider="trello",
        event_id=f"event-{record_id}",
        event_type="tether.task.changed.v1",
        task_id=task_id,
        original_topic="tether.task-changed.v1",
        consumer="trello-connector.task-changed",
        error="ValueError: cannot map this",
        attempts=5,
        failed_at=NOW,
    )
