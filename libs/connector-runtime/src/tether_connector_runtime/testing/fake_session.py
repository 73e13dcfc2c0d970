"""One account's view of the fake provider (the port's ``ProviderSession``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from tether_connector_runtime.edit_history import notices_per_item
from tether_connector_runtime.port import (
    ChangesSince,
    ItemNotice,
    Placement,
    ProviderItem,
    RegisteredWebhook,
)
from tether_connector_runtime.retry import PermanentProviderError
from tether_connector_runtime.testing.fake_items import FakeItem, Update
from tether_connector_runtime.testing.faults import CallKind, no_access
from tether_contracts.connections import Container, Place
from tether_sync import FIELD_NAMES, FieldName, FieldValue, TaskFields

if TYPE_CHECKING:
    from tether_connector_runtime.testing.fake_provider import FakeProvider


class FakeSession:
    """One account's view of the fake provider: every call goes through the provider's faults
    and holds. ``token`` is the account's secret; a revoked one is refused (401)."""

    def __init__(self, fake: FakeProvider, token: str) -> None:
        self._fake = fake
        self.token = token

    async def _enter(self, kind: CallKind, container_id: str | None) -> None:
        await self._fake._enter(kind, container_id, self.token)

    async def targets(self) -> list[Container]:
        await self._enter("targets", None)
        found = [
            Container(
                id=c,
                name=c,
                kind="container",
                places=[Place(id=p, name=p) for p in places],
            )
            for c, places in self._fake.containers.items()
        ]
        await self._fake._leave("targets", None)
        return found

    async def resolve(self, target: Mapping[str, str]) -> Placement:
        place_id = target.get("place_id")
        container_id = target.get("container_id")
        if place_id:
            container_id = self._fake.container_of_place(place_id)
        await self._enter("resolve", container_id)
        if container_id is None or container_id not in self._fake.containers:
            raise PermanentProviderError(f"no such place or container: {dict(target)}")
        await self._fake._leave("resolve", container_id)
        return Placement(container_id, place_id or self._fake.containers[container_id][0])

    async def place(self, place_id: str) -> Placement:
        container_id = self._fake.container_of_place(place_id)
        await self._enter("place", container_id)
        if container_id is None:
            raise PermanentProviderError(f"no such place: {place_id}")
        await self._fake._leave("place", container_id)
        return Placement(container_id, place_id)

    async def find_marked(self, placement: Placement, link_id: str) -> ProviderItem | None:
        await self._enter("find_marked", placement.container_id)
        found = next(
            (
                i.view()
                for i in self._fake.items.values()
                if i.container_id == placement.container_id and i.marker == link_id
            ),
            None,
        )
        await self._fake._leave("find_marked", placement.container_id)
        return found

    async def create(self, placement: Placement, fields: TaskFields, link_id: str) -> ProviderItem:
        await self._enter("create", placement.container_id)
        fake = self._fake
        # Created in the place named, in whatever container it is now (Trello's idList, an
        # Asana section): not in the container an earlier answer gave for it.
        container_id = placement.container_id
        if placement.place_id is not None:
            container_id = fake.container_of_place(placement.place_id) or ""
            if not container_id:
                raise PermanentProviderError(f"no such place: {placement.place_id}", status=400)
        when = fake.tick()
        item = FakeItem(
            external_id=fake._new_id(),
            container_id=container_id,
            place_id=placement.place_id,
            fields=fields.with_values(fake.rendered({n: fields.value(n) for n in FIELD_NAMES})),
            marker=link_id,  # in the same call: the item is findable as soon as it exists
            edited_at=when,
            field_edited_at=dict.fromkeys(FIELD_NAMES, when),
        )
        fake.items[item.external_id] = item
        fake.changes.append((item.container_id, ItemNotice(item.external_id)))
        await fake._leave("create", placement.container_id)
        return item.view()

    async def read(self, external_id: str) -> ProviderItem | None:
        item = self._fake._item(external_id)
        await self._enter("read", item.container_id if item else None)
        item = self._fake._item(external_id)  # as it is now, after any hold
        if item is not None and item.container_id in self._fake.out_of_reach:
            raise no_access(f"no access to {external_id}'s container {item.container_id}")
        found = item.view() if item is not None else None
        await self._fake._leave("read", found.container_id if found else None)
        return found

    async def update(
        self,
        item: ProviderItem,
        changes: Mapping[FieldName, FieldValue],
        link_id: str,
        move_to: str | None,
    ) -> ProviderItem:
        await self._enter("update", item.container_id)
        fake = self._fake
        stored = fake._item(item.external_id)
        if stored is None:
            raise PermanentProviderError(f"no item {item.external_id}", status=404)
        refused = [fake.refusing[name] for name in changes if name in fake.refusing]
        if refused:
            # As Jira does when its workflow refuses a status: the fields it takes are
            # written, then the refused rest fails the call (a 400), the item not moved.
            taken = {n: v for n, v in changes.items() if n not in fake.refusing}
            if taken:
                self._write(stored, taken, None, link_id)
            raise PermanentProviderError("; ".join(refused), status=400)
        written = self._write(stored, changes, move_to, link_id)
        await fake._leave("update", stored.container_id)
        return written

    def _write(
        self,
        stored: FakeItem,
        changes: Mapping[FieldName, FieldValue],
        move_to: str | None,
        link_id: str,
    ) -> ProviderItem:
        fake = self._fake
        when = fake.tick()
        stored.fields = stored.fields.with_values(fake.rendered(changes))
        if move_to is not None:
            stored.place_id = move_to
        stored.marker = stored.marker or link_id
        stored.edited_at = when
        stored.field_edited_at.update(dict.fromkeys(changes, when))
        fake.updates.append(Update(stored.external_id, dict(changes), move_to))
        # The write's own notice, as a person's edit has one (Trello's action for our write
        # names what it set; a compact provider's only the item).
        fake._changed(stored, dict.fromkeys(changes, when), fake.rendered(changes))
        return stored.view()

    async def archive(self, external_id: str) -> None:
        await self._set_closed(external_id, closed=True, kind="archive")

    async def restore(self, external_id: str) -> None:
        await self._set_closed(external_id, closed=False, kind="restore")

    async def _set_closed(
        self, external_id: str, *, closed: bool, kind: Literal["archive", "restore"]
    ) -> None:
        item = self._fake._item(external_id)
        await self._enter(kind, item.container_id if item else None)
        item = self._fake._item(external_id)
        if item is None:
            raise PermanentProviderError(f"no item {external_id}", status=404)
        item.closed = closed
        item.edited_at = self._fake.tick()
        self._fake.changes.append((item.container_id, ItemNotice(external_id)))
        await self._fake._leave(kind, item.container_id)

    async def check_grant(self) -> None:
        await self._enter("check_grant", None)
        await self._fake._leave("check_grant", None)

    async def ensure_webhook(self, container_id: str, callback_url: str) -> RegisteredWebhook:
        await self._enter("ensure_webhook", container_id)
        hook = await self._fake.registered(container_id, callback_url)
        await self._fake._leave("ensure_webhook", container_id)
        return hook

    async def changes_since(self, container_id: str, cursor: str | None) -> ChangesSince:
        """Each item of the container changed after ``cursor`` once, naming when each of its
        fields got its current value, and the places moved out of it. Cursor: how many changes
        the log held when it was given, and how many place moves, ``"<changes>/<moves>"``
        (None: from now on; a bare ``"<changes>"``: no move seen yet)."""
        await self._enter("changes_since", container_id)
        log, moves = self._fake.changes, self._fake.place_moves
        start, seen = (len(log), len(moves)) if cursor is None else _positions(cursor)
        changed = dict.fromkeys(n.external_id for c, n in log[start:] if c == container_id)
        if self._fake.writes_unread:
            notices = notices_per_item(reversed([n for c, n in log[start:] if c == container_id]))
        else:
            notices = [self._fake.notice(external_id) for external_id in changed]
        moved = [m for m in moves[seen:] if m.from_container == container_id]
        await self._fake._leave("changes_since", container_id)
        return ChangesSince(notices=notices, cursor=f"{len(log)}/{len(moves)}", places_moved=moved)


def _positions(cursor: str) -> tuple[int, int]:
    changes, _, moves = cursor.partition("/")
    return int(changes), int(moves or 0)


class FakeUnreadSession(FakeSession):
    """A session that writes items unread (port.UnreadWrites), as Trello's does."""

    async def write_unread(
        self, external_id: str, changes: Mapping[FieldName, FieldValue], link_id: str
    ) -> ProviderItem:
        stored = self._fake._item(external_id)
        if stored is None:
            await self._enter("update", None)
            raise PermanentProviderError(f"no item {external_id}", status=404)
        return await self.update(stored.view(), changes, link_id, None)
