"""The fake provider: an adapter and its store in one, with a person's edits, faults and holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.port import (
    Account,
    ConsentFlow,
    ItemNotice,
    PlaceMove,
    RegisteredWebhook,
)
from tether_connector_runtime.testing.fake_items import T0, FakeItem, Update
from tether_connector_runtime.testing.fake_session import FakeSession, FakeUnreadSession
from tether_connector_runtime.testing.fake_webhooks import FakeWebhooks, field_name
from tether_connector_runtime.testing.faults import (
    CallKind,
    ErrorFactory,
    Fault,
    Hold,
    When,
    revoked,
    unavailable,
)
from tether_sync import FIELD_NAMES, FieldName, FieldValue, Provider


class FakeCredentials(BaseModel):
    token: str = Field(min_length=1, max_length=256)


class FakeProvider:
    """The provider (adapter and store in one). ``provider`` names it in events and replicas."""

    credentials: type[BaseModel] = FakeCredentials

    def __init__(
        self,
        provider: Provider = "trello",
        *,
        webhook_secret: str = "fake-webhook-secret",
        webhook_url: str = "http://tether.test/webhooks/fake",
        field_limits: Mapping[FieldName, int] | None = None,
        compact_notices: bool = False,
        renderings: Mapping[FieldName, Callable[[FieldValue], FieldValue]] | None = None,
        writes_unread: bool = False,
    ) -> None:
        self.provider: str = provider
        # Notices that name only the item (Asana's compact webhook events and polled events
        # carry no values, and the runtime dates what changed by the item's last
        # modification); otherwise each names when each field was set and to what (Trello's
        # actions).
        self.compact_notices = compact_notices
        # Sessions write items unread (port.UnreadWrites), and a poll names every edit since
        # its cursor with its value, the older ones as ``earlier`` (Trello's board actions).
        # Needs notices that name values.
        assert not (writes_unread and compact_notices), "unread writes need valued notices"
        self.writes_unread = writes_unread
        # The longest text each field can hold (the port's field_limits); none by default.
        self.limits: dict[FieldName, int] = dict(field_limits or {})
        # How the provider spells a written value of a field in its own format (the port's
        # held_as): applied to what is written, as a provider storing its own format does.
        self.renderings = dict(renderings or {})
        self.now = T0
        self.containers: dict[str, list[str]] = {}  # container id -> its place ids, in order
        self.items: dict[str, FakeItem] = {}
        self.calls: Counter[CallKind] = Counter()
        self.done: Counter[CallKind] = Counter()
        self.updates: list[Update] = []
        self.faults_fired = 0  # calls that raised because a test asked them to
        self.webhooks_registered: dict[str, str] = {}  # container id -> webhook id
        # Webhooks that expire this long after each registration or refresh (None: never),
        # and how many times one registered already was asked for again (a refresh).
        self.webhook_lifetime: timedelta | None = None
        self.webhook_refreshes: Counter[str] = Counter()
        # Tokens whose account may register no webhook (the connection polls).
        self.polling_tokens: set[str] = set()
        self.revoked_tokens: set[str] = set()
        # Containers the accounts cannot see (an item moved there is read with a 401).
        self.out_of_reach: set[str] = set()
        # Every change to an item, in order: what changes_since reports after a cursor.
        self.changes: list[tuple[str, ItemNotice]] = []  # (container id, notice)
        self.place_moves: list[PlaceMove] = []  # in order (polls name those after their cursor)
        self._faults: list[Fault] = []
        self._failing: dict[str, ErrorFactory] = {}
        self._holds: list[Hold] = []
        self._ids = 0
        self._webhooks = FakeWebhooks(webhook_secret)
        self._webhook_url = webhook_url
        self.owners: list[Owner] = []  # of every session opened, in order
        # Fields whose writes the provider refuses for good, with its words (a 400).
        self.refusing: dict[FieldName, str] = {}

    # The port: ProviderAdapter ----------------------------------------------------------------
    async def authenticate(self, credentials: BaseModel) -> Account:
        assert isinstance(credentials, FakeCredentials)
        if credentials.token in self.revoked_tokens:
            raise revoked(f"token {credentials.token} is revoked")
        return Account(
            account_id=f"account-{credentials.token}",
            account_name=f"Account {credentials.token}",
            secret=credentials.token,
            delivery="polling" if credentials.token in self.polling_tokens else "webhook",
        )

    def session(self, secret: str, owner: Owner) -> FakeSession:
        # Its items hold our fields as they are (a due of either kind): no zone to apply; the
        # owner is only noted, for tests of what reaches an adapter.
        self.owners.append(owner)
        if self.writes_unread:
            return FakeUnreadSession(self, secret)
        return FakeSession(self, secret)

    def webhook_url(self) -> str:
        return self._webhook_url

    @property
    def webhooks(self) -> FakeWebhooks:
        return self._webhooks

    @property
    def consent(self) -> ConsentFlow | None:
        return None

    @property
    def field_limits(self) -> Mapping[FieldName, int]:
        return self.limits

    def held_as(self, name: FieldName, value: FieldValue, owner: Owner) -> FieldValue:
        render = self.renderings.get(name)
        return value if render is None else render(value)

    def rendered(self, fields: Mapping[FieldName, FieldValue]) -> dict[FieldName, FieldValue]:
        """``fields`` as the provider stores them once written."""
        return {name: self.held_as(name, value, Owner()) for name, value in fields.items()}

    # Setting the world up ---------------------------------------------------------------------
    def add_container(self, container_id: str, places: tuple[str, ...] = ()) -> None:
        """A container and its places (``<container>/todo`` and ``<container>/done`` if none
        are named)."""
        self.containers[container_id] = list(
            places or (f"{container_id}/todo", f"{container_id}/done")
        )

    def move_place(self, place_id: str, container_id: str) -> PlaceMove:
        """A person moves a place, with its items, to another container (Trello: a list to
        another board); returns the move, as the old container's history will name it (no
        item is named: Trello records no card action)."""
        source = self.container_of_place(place_id)
        assert source is not None, f"no place {place_id}"
        self.containers[source].remove(place_id)
        self.containers[container_id].append(place_id)
        for item in self.items.values():
            if item.place_id == place_id:
                item.container_id = container_id
        move = PlaceMove(place_id, source)
        self.place_moves.append(move)
        return move

    def container_of_place(self, place_id: str) -> str | None:
        return next((c for c, places in self.containers.items() if place_id in places), None)

    def tick(self, seconds: float = 1.0) -> datetime:
        """Move the provider's clock on; returns the new time."""
        self.now += timedelta(seconds=seconds)
        return self.now

    # A person, in the provider's own UI ---------------------------------------------------------
    def edit(
        self, external_id: str, *, at: datetime | None = None, **values: FieldValue
    ) -> ItemNotice:
        """A person sets fields of an item; returns the webhook notice naming the edit times."""
        item = self.items[external_id]
        when = at or self.tick()
        typed = {field_name(k): v for k, v in values.items()}
        item.fields = item.fields.with_values(typed)
        item.edited_at = max(item.edited_at, when)
        item.field_edited_at.update(dict.fromkeys(typed, when))
        return self._changed(item, dict.fromkeys(typed, when), typed)

    def move(self, external_id: str, place_id: str, *, at: datetime | None = None) -> ItemNotice:
        item = self.items[external_id]
        when = at or self.tick()
        item.place_id = place_id
        item.edited_at = max(item.edited_at, when)
        return self._changed(item, {})

    def move_to_container(
        self, external_id: str, container_id: str, place_id: str | None = None
    ) -> ItemNotice:
        """A person moves the item to another container (Trello: to another board); the
        change is noted in both containers (moveCardFromBoard, moveCardToBoard)."""
        item = self.items[external_id]
        before = item.container_id
        item.container_id = container_id
        places = self.containers.get(container_id, [])
        item.place_id = place_id or (places[0] if places else None)
        item.edited_at = self.tick()
        self.changes.append((before, ItemNotice(external_id)))
        return self._changed(item, {})

    def close(self, external_id: str) -> ItemNotice:
        """A person archives the item (recoverable)."""
        item = self.items[external_id]
        item.closed = True
        item.edited_at = self.tick()
        return self._changed(item, {})

    def reopen(self, external_id: str) -> ItemNotice:
        item = self.items[external_id]
        item.closed = False
        item.edited_at = self.tick()
        return self._changed(item, {})

    def delete(self, external_id: str) -> ItemNotice:
        """A person deletes the item for good."""
        item = self.items.pop(external_id)
        return self._changed(item, {})

    def notice(self, external_id: str, fields: Iterable[FieldName] = FIELD_NAMES) -> ItemNotice:
        """A notice naming when each of ``fields`` got its current value (as a provider that
        reports per-field edit times of an item's current state would)."""
        item = self.items.get(external_id)
        times = item.field_edited_at if item is not None and not self.compact_notices else {}
        return ItemNotice(external_id, {f: times[f] for f in fields if f in times})

    def items_marked(self, link_id: str) -> list[FakeItem]:
        """Every item (closed ones too) carrying ``link_id``'s marker."""
        return [i for i in self.items.values() if i.marker == link_id]

    def _changed(
        self,
        item: FakeItem,
        times: dict[FieldName, datetime],
        values: Mapping[FieldName, FieldValue] | None = None,
    ) -> ItemNotice:
        """The notice of a change: when each field was set and to what (as Trello's action
        carries both), but for ``completed``, set by a list move or ``dueComplete``, whose
        value Trello's action does not carry for us (trello_connector.mapping._VALUE_OF)."""
        if self.compact_notices:
            notice = ItemNotice(item.external_id)
        else:
            named: dict[FieldName, FieldValue] = {
                n: v for n, v in (values or {}).items() if n != "completed"
            }
            notice = ItemNotice(item.external_id, times, named)
        self.changes.append((item.container_id, notice))
        return notice

    # Faults and holds ---------------------------------------------------------------------------
    def fail_next(
        self,
        kind: CallKind,
        times: int = 1,
        *,
        error: ErrorFactory = unavailable,
        container_id: str | None = None,
        after_effect: bool = False,
    ) -> Fault:
        """The next ``times`` calls of ``kind`` (on ``container_id`` only, if given) raise;
        ``after_effect``: once the call took effect (the provider did it, its answer is lost)."""
        fault = Fault(kind, times, error, container_id, after_effect)
        self._faults.append(fault)
        return fault

    def withdraw(self, fault: Fault) -> None:
        """Withdraw a fault that has not fired (as often as asked) yet."""
        if fault in self._faults:
            self._faults.remove(fault)

    def fail_container(self, container_id: str, error: ErrorFactory = unavailable) -> None:
        """Every call touching ``container_id`` raises until :meth:`heal_container`."""
        self._failing[container_id] = error

    def heal_container(self, container_id: str) -> None:
        self._failing.pop(container_id, None)

    def refuse(self, name: FieldName, words: str) -> None:
        """Every update that sets field ``name`` fails for good (a 400 saying ``words``) after
        writing its other fields, until :meth:`accept` (Jira refusing a status its workflow
        cannot reach)."""
        self.refusing[name] = words

    def accept(self, name: FieldName) -> None:
        self.refusing.pop(name, None)

    def clear_faults(self) -> None:
        self._faults.clear()
        self._failing.clear()

    def hold(
        self, kind: CallKind, *, when: When = "before", container_id: str | None = None
    ) -> Hold:
        """The next call of ``kind`` (on ``container_id``, if given) stops inside the provider,
        ``before`` or ``after`` its effect, until the hold is released."""
        held = Hold(kind, when, container_id)
        self._holds.append(held)
        return held

    def cancel(self, held: Hold) -> None:
        """Withdraw a hold no call has reached yet."""
        if held in self._holds:
            self._holds.remove(held)

    async def _enter(
        self, kind: CallKind, container_id: str | None, token: str | None = None
    ) -> None:
        """Every call starts here: counted, then a fault raises, or a hold before the effect
        waits."""
        self.calls[kind] += 1
        if token is not None and (refusal := self.refusal(token)) is not None:
            raise revoked(refusal)
        if container_id is not None and container_id in self._failing:
            self.faults_fired += 1
            raise self._failing[container_id]()
        self._fault(kind, container_id, after_effect=False)
        await self._pause(kind, "before", container_id)

    async def _leave(self, kind: CallKind, container_id: str | None) -> None:
        """Every call that took effect ends here: counted, then a hold after the effect waits,
        or a fault after the effect raises (the answer lost)."""
        self.done[kind] += 1
        await self._pause(kind, "after", container_id)
        self._fault(kind, container_id, after_effect=True)

    def refusal(self, token: str) -> str | None:
        """Why the provider refuses ``token`` (a 401), or None when it takes it."""
        return f"token {token} is revoked" if token in self.revoked_tokens else None

    async def registered(self, container_id: str, callback_url: str) -> RegisteredWebhook:
        """The webhook of a container, registered now unless it was (one per container)."""
        if container_id in self.webhooks_registered:
            self.webhook_refreshes[container_id] += 1
        hook_id = self.webhooks_registered.setdefault(container_id, f"hook-{container_id}")
        lifetime = self.webhook_lifetime
        # Expiry is on the wall clock, as the runtime's renewal margin is.
        expires_at = None if lifetime is None else datetime.now(UTC) + lifetime
        return RegisteredWebhook(hook_id, expires_at=expires_at)

    def _fault(self, kind: CallKind, container_id: str | None, *, after_effect: bool) -> None:
        for fault in self._faults:
            if (
                fault.kind == kind
                and fault.after_effect == after_effect
                and fault.container_id in (None, container_id)
            ):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                self.faults_fired += 1
                raise fault.error()

    async def _pause(self, kind: CallKind, when: When, container_id: str | None) -> None:
        held = next(
            (
                h
                for h in self._holds
                if h.kind == kind and h.when == when and h.container_id in (None, container_id)
            ),
            None,
        )
        if held is None:
            return
        self._holds.remove(held)
        held.reached.set()
        await held.released.wait()

    def _new_id(self) -> str:
        self._ids += 1
        return f"{self.provider}-item-{self._ids}"

    def _item(self, external_id: str) -> FakeItem | None:
        return self.items.get(external_id)

    # Convenience counters -----------------------------------------------------------------------
    @property
    def creates(self) -> int:
        return self.done["create"]

    @property
    def reads(self) -> int:
        return self.done["read"]

    @property
    def archives(self) -> int:
        return self.done["archive"]

    @property
    def update_count(self) -> int:
        return self.done["update"]
