"""The connector tables, one set per provider.

Tables are named ``<provider>_...`` because a distributed deployment may point every service
at one database; each connector then keeps its own tables and its own Alembic version table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tether_common.db import new_metadata
from tether_common.dbtypes import UtcDateTime


@dataclass(frozen=True)
class ConnectorTables:
    metadata: MetaData
    connections: Table
    links: Table
    webhooks: Table
    deliveries: Table
    processed_events: Table
    cursors: Table
    deletions: Table
    pending_authorizations: Table
    outbox: Table


# One set per prefix: SQLAlchemy caches compiled statements by their tables, so a pipeline
# rebuilt over new Table objects (a restart in tests) would compile every statement again.
@cache
def connector_tables(prefix: str) -> ConnectorTables:
    metadata = new_metadata()
    connections = Table(
        f"{prefix}_connections",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("tenant_id", String(64), nullable=False, index=True),
        Column("account_id", String(128), nullable=False),
        Column("account_name", String(256), nullable=False, default=""),
        # Fernet ciphertext of the provider token; the plaintext never touches the database.
        Column("token_encrypted", Text, nullable=False),
        Column("status", String(16), nullable=False, default="active"),
        Column("error", Text, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        # Until when a person's confirmation lets a burst of deletions through (deletion guard).
        Column("deletions_approved_until", UtcDateTime, nullable=True),
        # Optional {place id: {container_id, completed}}: the status mapping (a Trello list,
        # an Asana section, a Jira status that means done or not done).
        Column("list_mapping", JSON, nullable=True),
        # Set while the provider refuses the credentials for good (status "broken").
        Column("broken_since", UtcDateTime, nullable=True),
        # Who connected it (the gateway's user id) and their IANA time zone: where a
        # date-only due falls on an instant-only provider (due_dates.py). NULL: UTC.
        Column("owner_id", String(64), nullable=True),
        Column("time_zone", String(64), nullable=True),
        # When the token in ``token_encrypted`` stops working (OAuth 2 access tokens); NULL:
        # it does not expire. Renewed ahead of it (credentials.py).
        Column("expires_at", UtcDateTime, nullable=True),
        # How changes reach us: "webhook", or "polling" when the provider lets this account
        # register none (reconciliation alone then brings them).
        Column("delivery", String(16), nullable=False, server_default="webhook"),
    )
    links = Table(
        f"{prefix}_links",
        metadata,
        Column("link_id", String(64), primary_key=True),
        Column("tenant_id", String(64), nullable=False),
        Column("task_id", String(64), nullable=False, index=True),
        Column("connection_id", String(64), nullable=False),
        Column("container_id", String(128), nullable=False),
        Column("external_id", String(128), nullable=True),
        Column("replica", String(256), nullable=True),
        Column("url", Text, nullable=True),
        Column("status", String(16), nullable=False),
        Column("synced_clock", JSON, nullable=False),
        Column("synced_fields", JSON, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        # Where the export asked the item to go (e.g. {"list_id": ...}).
        Column("target", JSON, nullable=True),
        # Work waiting for a retry (a TaskChanged payload: the newest state still to write,
        # or to create the item from), with its attempts, schedule, deadline and last error.
        Column("parked", JSON, nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("next_attempt_at", UtcDateTime, nullable=True),
        Column("retry_until", UtcDateTime, nullable=True),
        Column("last_error", Text, nullable=True),
        # The write under way, recorded before the provider is called ({fields, clock}): an
        # item found holding it after a crash is that write's echo, not a person's edit.
        Column("intent", JSON, nullable=True),
        # The IANA zone the item's due was last written in (the owner's zone then): a date we
        # wrote reads back as that date after the owner moves. NULL: not written since this
        # column exists, read in the owner's zone.
        Column("due_zone", String(64), nullable=True),
        # What the link's writes may have overwritten unseen, per field written
        # ({field: tether_sync.overwrites.Overwrite}), and the provider's time up to which the
        # base reflects the item (the last read's last activity): migration c0010.
        Column("overwrites", JSON, nullable=True),
        Column("seen_at", UtcDateTime, nullable=True),
        Index(f"ix_{prefix}_links_external_id", "external_id"),
        Index(f"ix_{prefix}_links_next_attempt_at", "next_attempt_at"),
    )
    webhooks = Table(
        f"{prefix}_webhooks",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("connection_id", String(64), nullable=False),
        Column("model_id", String(128), nullable=False),
        # NULL while the provider's registration call is open (or failed): not registered yet.
        Column("external_webhook_id", String(128), nullable=True),
        Column("callback_url", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        # The last segment of callback_url where the dialect gives each webhook its own URL
        # (port.WebhookDialect.per_webhook_url): how a delivery names its webhook.
        Column("hook_key", String(64), nullable=True),
        # Fernet ciphertext of the webhook's own signing secret (Asana's X-Hook-Secret).
        Column("secret_encrypted", Text, nullable=True),
        # When the provider drops the webhook unless it is refreshed (Jira's dynamic
        # webhooks: 30 days); NULL: it does not expire.
        Column("expires_at", UtcDateTime, nullable=True),
        # Until when one export or reconciliation holds the right to ask the provider for this
        # webhook (pipeline/watching.py): the others leave it to them. NULL: nobody does; a
        # claim whose holder crashed runs out at this time.
        Column("claimed_until", UtcDateTime, nullable=True),
        UniqueConstraint("connection_id", "model_id", name=f"uq_{prefix}_webhooks_model"),
        UniqueConstraint("hook_key", name=f"uq_{prefix}_webhooks_hook_key"),
    )
    deliveries = Table(
        f"{prefix}_deliveries",
        metadata,
        Column("delivery_id", String(256), primary_key=True),
        Column("received_at", UtcDateTime, nullable=False),
    )
    processed_events = Table(
        f"{prefix}_processed_events",
        metadata,
        Column("consumer", String(128), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False),
    )
    cursors = Table(
        f"{prefix}_cursors",
        metadata,
        Column("container_id", String(128), primary_key=True),
        Column("cursor", Text, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )
    deletions = Table(
        f"{prefix}_deletions",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("connection_id", String(64), nullable=False),
        Column("link_id", String(64), nullable=False),
        # "provider": the item went away on the provider; "core": the task was deleted here.
        Column("direction", String(16), nullable=False),
        # "done" once propagated; "held" while the burst guard waits for a person.
        Column("status", String(16), nullable=False),
        Column("at", UtcDateTime, nullable=False),
        UniqueConstraint("link_id", "direction", name=f"uq_{prefix}_deletions_link"),
        Index(f"ix_{prefix}_deletions_connection", "connection_id", "at"),
    )
    # A person's consent in flight: started by one request, completed by the browser's return
    # in another, possibly on another replica or after a restart, so it lives here.
    pending_authorizations = Table(
        f"{prefix}_pending_authorizations",
        metadata,
        # What the provider hands back to name the authorization: OAuth 1.0a's request token.
        Column("state", String(255), primary_key=True),
        Column("tenant_id", String(64), nullable=False),
        Column("user_id", String(64), nullable=False),
        # The person's IANA time zone, for the connection it makes (NULL: UTC).
        Column("time_zone", String(64), nullable=True),
        # Fernet ciphertext of what completes it (OAuth 1.0a's request token secret).
        Column("secret_encrypted", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("expires_at", UtcDateTime, nullable=False),
        Index(f"ix_{prefix}_pending_authorizations_expires_at", "expires_at"),
    )
    # Events to publish, written in the same transaction as the link state that says they
    # happened (a provider change and its new base; a link's new status); a relay publishes
    # them in id order and deletes them.
    outbox = Table(
        f"{prefix}_outbox",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("topic", String(255), nullable=False),
        Column("key", String(255), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        # The W3C trace context of the change that wrote it (JSON; NULL when tracing is off).
        Column("trace_context", Text, nullable=True),
    )
    return ConnectorTables(
        metadata,
        connections,
        links,
        webhooks,
        deliveries,
        processed_events,
        cursors,
        deletions,
        pending_authorizations,
        outbox,
    )
