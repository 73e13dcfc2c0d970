"""HTTP models of what an operator looks at: links with their sync state, webhooks and their
expiry, events parked in the dead-letter topic. Every connector serves them (its internal API);
the gateway's dashboard shows them, scoped to the caller's tenant.

=============================================================  ===========================
``GET  /internal/v1/tenants/{t}/links``                         200 ``list[LinkHealthOut]``
``GET  /internal/v1/tenants/{t}/webhooks``                      200 ``list[WebhookOut]``
``GET  /internal/v1/tenants/{t}/dead-letters``                  200 ``list[DeadLetterOut]``
``POST /internal/v1/tenants/{t}/dead-letters/{id}/replay``      200 ``ReplayedOut``; 404
=============================================================  ===========================

A dead letter's id is ``<partition>:<offset>`` in the dead-letter topic (as ``tether dlq``
names it); one parked by another connector or for another tenant is not found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tether_contracts.sync import Provider

LinkSyncState = Literal["ok", "retrying", "held", "refused"]


class LinkHealthOut(BaseModel):
    """A link as its connector holds it, newest change first."""

    link_id: str
    task_id: str
    provider: Provider
    connection_id: str
    status: str = Field(description="The connector's link status: pending, active, paused, ...")
    state: LinkSyncState = Field(
        description="`retrying`: its work failed and waits for a retry (`attempts`, "
        "`next_attempt_at`, `retry_until`); `held`: its work waits for its turn (a burst "
        "window, the provider's rate-limit budget) until `next_attempt_at`, nothing failed; "
        "`refused`: the provider refused the last write for good; else `ok`"
    )
    external_id: str | None
    url: str | None
    attempts: int = Field(description="Retries made so far of the waiting work (0: none)")
    next_attempt_at: datetime | None
    retry_until: datetime | None = Field(description="When the retries are given up")
    last_error: str | None
    last_sync: datetime = Field(
        description="When the link's row last changed: its synced state, status or parked work"
    )


class WebhookOut(BaseModel):
    """A webhook the connector registered (or is registering) for one of the tenant's
    connections."""

    connection_id: str
    model_id: str = Field(description="What it watches: a Trello board, an Asana project, ...")
    registered: bool = Field(description="False while the provider's registration is open")
    expires_at: datetime | None = Field(
        description="When the provider drops it unless renewed (Jira: 30 days); null: never"
    )


class DeadLetterOut(BaseModel):
    """An event this connector gave up on and parked."""

    id: str = Field(description="`<partition>:<offset>` in the dead-letter topic")
    provider: Provider
    event_id: str
    event_type: str
    task_id: str | None = Field(description="The event's subject (a task id)")
    original_topic: str
    consumer: str = Field(description="The consumer group that gave up on it")
    error: str
    attempts: int
    failed_at: datetime


class ReplayedOut(BaseModel):
    id: str
    event_id: str
    original_topic: str = Field(description="Where the event was published again")
