"""The Trello side of sync: exports, task changes to cards, card changes to events.

Every decision is the sync engine's (tether_sync); this module does the I/O around it.

Order of effects when a card change is found: publish the provider change first, then record
the new link state. A crash in between republishes the same change (same base clock), which
core recognises as a duplicate by its clock; the other order could lose the change.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tether_common.db import transaction
from tether_common.errors import NotFound
from tether_connector_runtime.deletions import DeletionBrake, Direction
from tether_connector_runtime.store.repository import ConnectorRepository, StoredLink
from tether_events import (
    CloudEvent,
    ExportRequested,
    LinkChanged,
    ProviderItemChanged,
    TaskChanged,
    Topic,
    topic_name,
)
from tether_events.bus import EventBus
from tether_sync import (
    ArchiveProviderCopy,
    LinkState,
    Skip,
    TaskFields,
    TaskSnapshot,
    after_publish,
    after_write,
    decide_inbound,
    decide_outbound,
    link_replica,
    on_provider_deleted,
)
from trello_connector.client import TrelloClient
from trello_connector.list_mapping import ListMapping
from trello_connector.mapping import card_fields, card_params, link_id_of, marked_desc

log = structlog.get_logger(__name__)
SOURCE = "/tether/trello-connector"

ClientFor = Callable[[AsyncSession, str], Awaitable[TrelloClient]]


def snapshot_of(task: TaskChanged) -> TaskSnapshot:
    return TaskSnapshot(
        task_id=task.task_id,
        fields=TaskFields(
            title=task.title,
            description=task.description,
            due_date=task.due_date,
            completed=task.completed,
        ),
        clock=task.clock,
        deleted=task.deleted,
    )


def _edited_at(card: dict[str, Any]) -> datetime:
    stamp = card.get("dateLastActivity")
    if stamp:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return datetime.now(UTC)


@dataclass
class TrelloSync:
    sessions: async_sessionmaker[AsyncSession]
    repo: ConnectorRepository
    bus: EventBus
    client_for: ClientFor  # the Trello client of a connection (decrypts its token)
    brake: DeletionBrake  # bursts of deletions wait for a person (see tether_sync.deletion)
    namespace: str = ""
    ensure_webhook: Callable[[AsyncSession, str, str], Awaitable[None]] | None = None
    _turns: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)

    # export ------------------------------------------------------------------------------------
    async def export(self, request: ExportRequested) -> None:
        async with transaction(self.sessions) as session:
            known = await self.repo.link(session, request.link_id)
            if known is not None and known.status == "active":
                await self._announce(known)  # a redelivered request: say it again, idempotently
                return
            connection = await self.repo.connection(session, request.connection_id)
            if connection is None or connection.tenant_id != request.tenant_id:
                # Never let a guessed connection id export into another company's Trello.
                raise NotFound(f"no Trello connection {request.connection_id} in this tenant")
            client = await self.client_for(session, request.connection_id)
            list_id = request.target.get("list_id", "")
            target = await client.list_(list_id)
            board_id = str(target["idBoard"])
            # Look for the card a crashed attempt may have created before recording it.
            card = next(
                (
                    c
                    for c in await client.board_cards(board_id)
                    if link_id_of(str(c.get("desc") or "")) == request.link_id
                ),
                None,
            )
            snapshot = snapshot_of(request.task)
            if card is None:
                params = card_params(snapshot.fields.model_dump(), link_id=request.link_id)
                params["desc"] = marked_desc(snapshot.fields.description, request.link_id)
                # A completed task exported into a list mapped "not done" (or the reverse)
                # goes to a list that says what it is, or it would read back as reopened.
                lists = ListMapping.stored(connection.list_mapping)
                mapped = lists.completed_in(list_id)
                if mapped is not None and mapped != snapshot.fields.completed:
                    list_id = lists.list_for(board_id, snapshot.fields.completed) or list_id
                card = await client.create_card({"idList": list_id, **params})
            replica = link_replica("trello", str(card["id"]))
            # What the card holds is the base (normally the snapshot; after an adoption it may
            # already carry a person's edit, which then flows back as a change).
            state = LinkState(
                link_id=request.link_id,
                task_id=request.task_id,
                replica=replica,
                synced_clock=snapshot.clock,
                synced_fields=snapshot.fields,
            )
            link = StoredLink(
                request.link_id,
                request.tenant_id,
                request.task_id,
                request.connection_id,
                board_id,
                str(card["id"]),
                replica,
                str(card.get("shortUrl") or card.get("url") or ""),
                "active",
                state,
            )
            await self.repo.save_link(session, link, state)
            if self.ensure_webhook is not None:
                await self.ensure_webhook(session, request.connection_id, board_id)
        await self._announce(link)
        await self.observe(str(card["id"]))

    async def export_failed(self, request: ExportRequested, error: str) -> None:
        event = LinkChanged(
            link_id=request.link_id,
            task_id=request.task_id,
            tenant_id=request.tenant_id,
            provider="trello",
            status="failed",
            error=error,
        )
        log.warning("trello_export_failed", link_id=request.link_id, error=error)
        await self.bus.publish(
            topic_name(Topic.LINK_EVENTS, self.namespace),
            event.envelope(source=SOURCE, subject=request.task_id, tenant_id=request.tenant_id),
        )

    async def _announce(
        self, link: StoredLink, status: Literal["active", "archived"] = "active"
    ) -> None:
        event = LinkChanged(
            link_id=link.link_id,
            task_id=link.task_id,
            tenant_id=link.tenant_id,
            provider="trello",
            status=status,
            replica=link.replica,
            external_id=link.external_id,
            url=link.url,
        )
        await self.bus.publish(
            topic_name(Topic.LINK_EVENTS, self.namespace),
            event.envelope(source=SOURCE, subject=link.task_id, tenant_id=link.tenant_id),
        )

    # core -> Trello ----------------------------------------------------------------------------
    async def task_changed(self, event: CloudEvent[Any]) -> None:
        task = event.data
        if not isinstance(task, TaskChanged):
            return
        async with transaction(self.sessions) as session:
            links = await self.repo.links_of_task(session, task.task_id)
        for link in links:
            await self._write(link, snapshot_of(task))

    @asynccontextmanager
    async def _link_turn(self, link_id: str) -> AsyncIterator[None]:
        """One write or observation of a link at a time.

        A write's own webhook (or a reconciliation poll) can read the card after Trello applied
        the write but before the new base was saved; it would then see our write as a person's
        edit and publish it, and core could let that stale value win over a newer edit. So the
        two take turns: within this process by an asyncio lock, across replicas by the row lock
        each takes on the link (SQLite, one process in embedded mode, ignores FOR UPDATE).
        """
        lock = self._turns.setdefault(link_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._turns.get(link_id) is lock:
                del self._turns[link_id]  # nobody waits: keep the map as small as the work

    async def _write(self, stale: StoredLink, snapshot: TaskSnapshot) -> None:
        async with self._link_turn(stale.link_id):
            decision, card_id = await self._write_in_turn(stale.link_id, snapshot)
        if decision == "unpublished_edit" and card_id is not None:
            # A person's unpublished edit must travel first, or this write would silently
            # overwrite it (no conflict would ever be recorded).
            await self.observe(card_id)
        elif isinstance(decision, ArchiveProviderCopy) and await self.brake.admit(
            stale.connection_id, decision
        ):
            await self._archive(stale)

    async def _write_in_turn(
        self, link_id: str, snapshot: TaskSnapshot
    ) -> tuple[object, str | None]:
        async with transaction(self.sessions) as session:
            # The link as it is now (an observation may have moved its base since it was read).
            link = await self.repo.link(session, link_id, for_update=True)
            if link is None or link.state is None or link.external_id is None:
                return None, None
            if link.status not in ("active", "archiving"):
                return None, None
            decision = decide_outbound(link.state, snapshot)
            if isinstance(decision, Skip):
                return None, None
            client = await self.client_for(session, link.connection_id)
            lists = await self._lists(session, link.connection_id)
            card = await client.card(link.external_id)
            if card is None:
                return None, None  # gone on Trello's side: the webhook/poll path unlinks it
            if decide_inbound(link.state, card_fields(card, lists), edited_at=_edited_at(card)):
                return "unpublished_edit", link.external_id
            if isinstance(decision, ArchiveProviderCopy):
                return decision, link.external_id
            if not decision.is_empty:
                changes = {str(k): v for k, v in decision.changes.items()}
                params = card_params(changes, link_id=link.link_id)
                if "completed" in changes:
                    move = lists.placement(
                        str(card.get("idList")),
                        str(card.get("idBoard")),
                        bool(changes["completed"]),
                    )
                    if move is not None:
                        params["idList"] = move
                await client.update_card(link.external_id, params)
            await self.repo.save_state(session, after_write(link.state, decision))
        return decision, link.external_id

    # Trello -> core ----------------------------------------------------------------------------
    async def observe(self, card_id: str) -> None:
        """Read a card's current state and publish what changed since the base, if anything.

        Webhook payloads can be stale, duplicated or out of order, so they only say *which*
        card to look at; this is also what reconciliation calls for each linked card.
        """
        async with transaction(self.sessions) as session:
            found = await self.repo.link_by_external_id(session, card_id)
        if found is None:
            return
        async with self._link_turn(found.link_id):
            gone = await self._observe_in_turn(found.link_id, card_id)
        if gone is not None:
            await self._unlinked(gone)

    async def _observe_in_turn(self, link_id: str, card_id: str) -> StoredLink | None:
        """Publish the card's news; returns the link when the card is gone (to unlink)."""
        async with transaction(self.sessions) as session:
            link = await self.repo.link(session, link_id, for_update=True)
            if link is None or link.state is None or link.status != "active":
                return None
            client = await self.client_for(session, link.connection_id)
            lists = await self._lists(session, link.connection_id)
            card = await client.card(card_id)
            if card is None or card.get("closed"):
                return link
            change = decide_inbound(
                link.state, card_fields(card, lists), edited_at=_edited_at(card)
            )
            if change is None:
                return None
            event = ProviderItemChanged(
                task_id=link.task_id,
                tenant_id=link.tenant_id,
                link_id=link.link_id,
                provider="trello",
                replica=change.replica,
                external_id=card_id,
                base_clock=change.base_clock,
                base_values={k: _json(v) for k, v in change.base_values.items()},
                new_values={k: _json(v) for k, v in change.new_values.items()},
                edited_at=change.edited_at,
            )
            # Publish, then record the new base (same transaction, still our turn): a crash
            # in between republishes the same change, which core knows by its base clock.
            await self.bus.publish(
                topic_name(Topic.PROVIDER_CHANGED, self.namespace),
                event.envelope(source=SOURCE, subject=link.task_id, tenant_id=link.tenant_id),
            )
            await self.repo.save_state(session, after_publish(link.state, change))
        return None

    async def _lists(self, session: AsyncSession, connection_id: str) -> ListMapping:
        row = await self.repo.connection(session, connection_id)
        return ListMapping.stored(row.list_mapping if row is not None else None)

    async def _archive(self, link: StoredLink) -> None:
        """Archive (close) the card: recoverable in Trello, unlike DELETE /cards.

        The link leaves "active" before the call, so the webhook of our own archive is not
        mistaken for a person's (which would unlink and count toward the deletion guard);
        "archiving" links still get task changes, so a failed call is retried."""
        assert link.external_id is not None
        async with transaction(self.sessions) as session:
            await self.repo.set_link_status(session, link.link_id, "archiving")
        async with transaction(self.sessions) as session:
            client = await self.client_for(session, link.connection_id)
            await client.update_card(link.external_id, {"closed": True})
            await self.repo.set_link_status(session, link.link_id, "archived")
        await self._announce(link, status="archived")

    async def _unlinked(self, link: StoredLink) -> None:
        assert link.state is not None
        if await self.brake.admit(link.connection_id, on_provider_deleted(link.state)):
            await self._publish_unlinked(link)

    async def _publish_unlinked(self, link: StoredLink) -> None:
        assert link.state is not None
        event = ProviderItemChanged(
            task_id=link.task_id,
            tenant_id=link.tenant_id,
            link_id=link.link_id,
            provider="trello",
            replica=link.state.replica,
            external_id=link.external_id or "",
            base_clock=link.state.synced_clock,
            base_values={},
            new_values={},
            deleted=True,
            edited_at=datetime.now(UTC),
        )
        await self.bus.publish(
            topic_name(Topic.PROVIDER_CHANGED, self.namespace),
            event.envelope(source=SOURCE, subject=link.task_id, tenant_id=link.tenant_id),
        )
        async with transaction(self.sessions) as session:
            await self.repo.set_link_status(session, link.link_id, "unlinked")

    # held deletions ----------------------------------------------------------------------------
    async def confirm_deletions(self, connection_id: str) -> tuple[int, int]:
        """A person confirmed the held deletions of a connection: propagate each (or withdraw it
        if its card came back meanwhile). Returns (propagated, withdrawn)."""
        async with transaction(self.sessions) as session:
            held = await self.brake.approve(session, connection_id)
        propagated = withdrawn = 0
        for item in held:
            async with transaction(self.sessions) as session:
                link = await self.repo.link(session, item.link_id)
                card = None
                if link is not None and link.external_id is not None:
                    client = await self.client_for(session, link.connection_id)
                    card = await client.card(link.external_id)
            if link is None or link.status not in ("active", "archiving"):
                pass  # already settled some other way: nothing left to do but close the hold
            elif item.direction is Direction.PROVIDER:
                if card is not None and not card.get("closed"):
                    async with transaction(self.sessions) as session:
                        await self.brake.withdraw(session, item)
                    withdrawn += 1
                    continue
                await self._publish_unlinked(link)
            elif card is not None:
                await self._archive(link)
            async with transaction(self.sessions) as session:
                await self.brake.done(session, item)
            propagated += 1
        return propagated, withdrawn


def _json(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value
