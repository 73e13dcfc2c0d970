"""An in-memory provider for tests of the pipeline, and the pipeline wired over it.

:class:`FakeProvider` implements the port (:class:`~tether_connector_runtime.port.ProviderAdapter`,
its :class:`FakeSession` and its :class:`FakeWebhooks` dialect) over a dictionary of items, under
any provider name the events know ("trello", "asana", "jira"). What a test controls:

- items in containers and places, each with the marker (link id) it was created with, a
  ``closed`` flag (archived, recoverable) and the provider's own edit times, per field too;
- a person's edits, applied straight to the store (:meth:`FakeProvider.edit`, ``move``,
  ``close``, ``reopen``, ``delete``), each returning the :class:`ItemNotice` the provider's
  webhook would carry; ``changes_since`` names each item changed after a cursor once, with the
  time each field got its current value;
- counters of every call made (``calls``), of every call that took effect (``done``), of the
  faults that fired (``faults_fired``), and the updates written (``updates``);
- faults: the next N calls of a kind raise (``fail_next``; before the call's effect, or after it:
  the provider did it and the answer is lost), every call touching one container raises until
  healed (``fail_container``); a 503 by default, or anything a test gives (a crash);
- holds: a call of a kind stops inside the provider, before or after its effect, until the test
  releases it (``hold``), so a test decides what runs meanwhile with no timing involved.

The provider's clock is its own (``FakeProvider.now``): it moves one second per effect unless a
test moves it, so edit times are deterministic.

:class:`PipelineRig` (:func:`pipeline_rig`) is a connector's pipeline over a fake and an SQLite
file, wired by the app factory itself, driven by hand: its clock is a :class:`ManualClock`
(retries fall due when the test says), its relay publishes to a :class:`RecordingBus` when the
test says, and :meth:`PipelineRig.restart` builds a new pipeline over the same database, as a
process started after a crash would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import httpx
from fastapi import Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tether_common.db import create_engine, transaction
from tether_connector_runtime.app import _build_state
from tether_connector_runtime.outbox import ConnectorRelay
from tether_connector_runtime.pipeline import Pipeline, RetrySchedule
from tether_connector_runtime.port import (
    Account,
    ChangesSince,
    ConsentFlow,
    Delivery,
    ItemNotice,
    Placement,
    ProviderItem,
)
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from tether_connector_runtime.secrets import generate_key
from tether_connector_runtime.settings import ConnectorSettings
from tether_connector_runtime.signatures import SignatureInvalid, constant_time_equals
from tether_connector_runtime.state import ConnectorState
from tether_connector_runtime.store.migrate import migrate_connector
from tether_connector_runtime.store.repository import StoredLink
from tether_contracts.connections import Container, Place
from tether_events import CloudEvent
from tether_events.bus import CoalesceKey, Handler, NewerOf
from tether_sync import FIELD_NAMES, FieldName, FieldValue, Provider, TaskFields

DataT = TypeVar("DataT")

CallKind = Literal[
    "targets",
    "resolve",
    "place",
    "find_marked",
    "create",
    "read",
    "update",
    "archive",
    "ensure_webhook",
    "changes_since",
]
When = Literal["before", "after"]
SIGNATURE_HEADER = "x-fake-signature"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def unavailable(message: str = "the provider is unavailable") -> Exception:
    """The default fault: a 503, which the pipeline parks and retries."""
    return RetryableProviderError(message, status=503)


def revoked(message: str = "the grant was revoked") -> Exception:
    return AuthRevokedError(message, status=401)


# What a fault raises: a provider error, or anything else (a test's model of a crash).
ErrorFactory = Callable[[], Exception]


@dataclass
class FakeItem:
    """One provider item as the provider keeps it (mutable: a person edits it in place)."""

    external_id: str
    container_id: str
    place_id: str | None
    fields: TaskFields
    marker: str | None
    edited_at: datetime
    closed: bool = False
    # When each field was last set: what a webhook about that edit names (latest_wins).
    field_edited_at: dict[FieldName, datetime] = field(default_factory=dict)

    def view(self) -> ProviderItem:
        return ProviderItem(
            external_id=self.external_id,
            container_id=self.container_id,
            place_id=self.place_id,
            fields=self.fields,
            closed=self.closed,
            url=f"https://fake.test/items/{self.external_id}",
            marker=self.marker,
            edited_at=self.edited_at,
        )


@dataclass(eq=False)
class Hold:
    """A call stopped inside the provider. ``reached`` is set when the call arrives (before or
    after its effect, as asked); the call returns or raises once :meth:`release` is called."""

    kind: CallKind
    when: When
    container_id: str | None
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()

    async def wait_reached(self) -> None:
        await self.reached.wait()


@dataclass(eq=False)
class Fault:
    """A fault waiting for its calls (:meth:`FakeProvider.fail_next`)."""

    kind: CallKind
    remaining: int
    error: ErrorFactory
    container_id: str | None
    after_effect: bool


@dataclass(frozen=True)
class Update:
    """One update that took effect: the item, the fields written and the move, if any."""

    external_id: str
    changes: dict[FieldName, FieldValue]
    move_to: str | None


class FakeCredentials(BaseModel):
    token: str = Field(min_length=1, max_length=256)


class FakeWebhooks:
    """Deliveries are JSON ``{"delivery_id", "model_id", "notices": [{"external_id",
    "field_edited_at": {field: iso time}}]}`` signed by hex HMAC-SHA256 of the raw body."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def handshake(self, request: Request) -> Response | None:
        return None

    def verify(self, body: bytes, headers: Mapping[str, str], url: str) -> None:
        received = headers.get(SIGNATURE_HEADER)
        if not received:
            raise SignatureInvalid(f"the {SIGNATURE_HEADER} header is missing")
        if not constant_time_equals(self.sign(body), received):
            raise SignatureInvalid(f"the {SIGNATURE_HEADER} header does not match the body")

    def sign(self, body: bytes) -> str:
        return hmac.new(self._secret.encode(), body, hashlib.sha256).hexdigest()

    def parse(self, body: bytes) -> Delivery:
        payload = json.loads(body)
        notices = [
            ItemNotice(
                str(n["external_id"]),
                {
                    _field_name(k): datetime.fromisoformat(v)
                    for k, v in (n.get("field_edited_at") or {}).items()
                },
            )
            for n in payload["notices"]
        ]
        return Delivery(str(payload["delivery_id"]), str(payload["model_id"]), notices)

    def delivery(
        self, delivery_id: str, model_id: str, notices: list[ItemNotice]
    ) -> tuple[bytes, dict[str, str]]:
        """A signed delivery's body and headers, as the provider would POST them."""
        body = json.dumps(
            {
                "delivery_id": delivery_id,
                "model_id": model_id,
                "notices": [
                    {
                        "external_id": n.external_id,
                        "field_edited_at": {k: v.isoformat() for k, v in n.field_edited_at.items()},
                    }
                    for n in notices
                ],
            }
        ).encode()
        return body, {SIGNATURE_HEADER: self.sign(body)}


def _field_name(name: str) -> FieldName:
    for known in FIELD_NAMES:
        if known == name:
            return known
    raise ValueError(f"not a synced field: {name!r}")


class FakeProvider:
    """The provider (adapter and store in one). ``provider`` names it in events and replicas."""

    credentials: type[BaseModel] = FakeCredentials

    def __init__(
        self,
        provider: Provider = "trello",
        *,
        webhook_secret: str = "fake-webhook-secret",
        webhook_url: str = "http://tether.test/webhooks/fake",
    ) -> None:
        self.provider: str = provider
        self.now = T0
        self.containers: dict[str, list[str]] = {}  # container id -> its place ids, in order
        self.items: dict[str, FakeItem] = {}
        self.calls: Counter[CallKind] = Counter()
        self.done: Counter[CallKind] = Counter()
        self.updates: list[Update] = []
        self.faults_fired = 0  # calls that raised because a test asked them to
        self.webhooks_registered: dict[str, str] = {}  # container id -> webhook id
        self.revoked_tokens: set[str] = set()
        # Every change to an item, in order: what changes_since reports after a cursor.
        self.changes: list[tuple[str, ItemNotice]] = []  # (container id, notice)
        self._faults: list[Fault] = []
        self._failing: dict[str, ErrorFactory] = {}
        self._holds: list[Hold] = []
        self._ids = 0
        self._webhooks = FakeWebhooks(webhook_secret)
        self._webhook_url = webhook_url

    # The port: ProviderAdapter ----------------------------------------------------------------
    async def authenticate(self, credentials: BaseModel) -> Account:
        assert isinstance(credentials, FakeCredentials)
        if credentials.token in self.revoked_tokens:
            raise revoked(f"token {credentials.token} is revoked")
        return Account(
            account_id=f"account-{credentials.token}",
            account_name=f"Account {credentials.token}",
            secret=credentials.token,
        )

    def session(self, secret: str) -> FakeSession:
        return FakeSession(self, secret)

    def webhook_url(self) -> str:
        return self._webhook_url

    @property
    def webhooks(self) -> FakeWebhooks:
        return self._webhooks

    @property
    def consent(self) -> ConsentFlow | None:
        return None

    # Setting the world up ---------------------------------------------------------------------
    def add_container(self, container_id: str, places: tuple[str, ...] = ()) -> None:
        """A container and its places (``<container>/todo`` and ``<container>/done`` if none
        are named)."""
        self.containers[container_id] = list(
            places or (f"{container_id}/todo", f"{container_id}/done")
        )

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
        typed = {_field_name(k): v for k, v in values.items()}
        item.fields = item.fields.with_values(typed)
        item.edited_at = max(item.edited_at, when)
        item.field_edited_at.update(dict.fromkeys(typed, when))
        return self._changed(item, dict.fromkeys(typed, when))

    def move(self, external_id: str, place_id: str, *, at: datetime | None = None) -> ItemNotice:
        item = self.items[external_id]
        when = at or self.tick()
        item.place_id = place_id
        item.edited_at = max(item.edited_at, when)
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
        times = item.field_edited_at if item is not None else {}
        return ItemNotice(external_id, {f: times[f] for f in fields if f in times})

    def items_marked(self, link_id: str) -> list[FakeItem]:
        """Every item (closed ones too) carrying ``link_id``'s marker."""
        return [i for i in self.items.values() if i.marker == link_id]

    def _changed(self, item: FakeItem, times: dict[FieldName, datetime]) -> ItemNotice:
        notice = ItemNotice(item.external_id, times)
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
        if token is not None and token in self.revoked_tokens:
            raise revoked(f"token {token} is revoked")
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
        when = fake.tick()
        item = FakeItem(
            external_id=fake._new_id(),
            container_id=placement.container_id,
            place_id=placement.place_id,
            fields=fields,
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
        when = fake.tick()
        stored.fields = stored.fields.with_values(changes)
        if move_to is not None:
            stored.place_id = move_to
        stored.marker = stored.marker or link_id
        stored.edited_at = when
        stored.field_edited_at.update(dict.fromkeys(changes, when))
        fake.updates.append(Update(stored.external_id, dict(changes), move_to))
        fake.changes.append((stored.container_id, ItemNotice(stored.external_id)))
        written = stored.view()
        await fake._leave("update", stored.container_id)
        return written

    async def archive(self, external_id: str) -> None:
        item = self._fake._item(external_id)
        await self._enter("archive", item.container_id if item else None)
        item = self._fake._item(external_id)
        if item is None:
            raise PermanentProviderError(f"no item {external_id}", status=404)
        item.closed = True
        item.edited_at = self._fake.tick()
        self._fake.changes.append((item.container_id, ItemNotice(external_id)))
        await self._fake._leave("archive", item.container_id)

    async def ensure_webhook(self, container_id: str, callback_url: str) -> str:
        await self._enter("ensure_webhook", container_id)
        hooks = self._fake.webhooks_registered
        hook_id = hooks.setdefault(container_id, f"hook-{container_id}")
        await self._fake._leave("ensure_webhook", container_id)
        return hook_id

    async def changes_since(self, container_id: str, cursor: str | None) -> ChangesSince:
        """Each item of the container changed after ``cursor`` once, naming when each of its
        fields got its current value. Cursor: how many changes the log held when it was given
        (None: from now on)."""
        await self._enter("changes_since", container_id)
        log = self._fake.changes
        start = len(log) if cursor is None else int(cursor)
        changed = dict.fromkeys(n.external_id for c, n in log[start:] if c == container_id)
        notices = [self._fake.notice(external_id) for external_id in changed]
        await self._fake._leave("changes_since", container_id)
        return ChangesSince(notices=notices, cursor=str(len(log)))


# A pipeline over the fake, built as the app builds it ------------------------------------------
@dataclass
class ManualClock:
    """The pipeline's clock (``Pipeline.now``), moved only by the test: retries fall due when
    the test says, never by waiting."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class RecordingBus:
    """An :class:`~tether_events.bus.EventBus` that keeps what the relay publishes, in order.
    ``fail_next``: the next N publishes raise (the broker down)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, CloudEvent[Any]]] = []
        self.fail_next = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("the broker is down")
        self.published.append((topic, event))

    def subscribe(
        self,
        topics: Sequence[str],
        group_id: str,
        handler: Handler,
        *,
        coalesce_by: CoalesceKey | None = None,
        newer_of: NewerOf | None = None,
    ) -> None:
        raise NotImplementedError("a RecordingBus only records what is published")


TEST_TOKEN_KEY = generate_key()


class PipelineRig:
    """One connector's pipeline over a :class:`FakeProvider` and an SQLite file, wired by the
    app factory's own ``_build_state`` (so tests run the production wiring), driven by hand:
    no bus consumers, no background retrier, relay or reconciliation. :meth:`restart` builds a
    new pipeline over the same database, as a process started after a crash would."""

    def __init__(
        self,
        fake: FakeProvider,
        database_url: str,
        *,
        retry: RetrySchedule,
        clock: ManualClock,
        deletion_burst_threshold: int,
        bus: RecordingBus | None = None,
        migrate: bool = True,
    ) -> None:
        self.fake = fake
        self.database_url = database_url
        self.retry = retry
        self.clock = clock
        self.bus = bus or RecordingBus()
        self._migrate = migrate
        self.settings = ConnectorSettings(
            bus="inprocess",
            database_url=database_url,
            token_encryption_key=TEST_TOKEN_KEY,
            deletion_burst_threshold=deletion_burst_threshold,
            migrate_on_start=False,
        )
        self._engine: AsyncEngine | None = None
        self._http: httpx.AsyncClient | None = None
        self._state: ConnectorState | None = None

    async def start(self) -> None:
        if self._migrate:
            await migrate_connector(self.database_url, self.fake.provider)
        self._engine = create_engine(self.database_url)
        self._http = httpx.AsyncClient()
        self._build()

    def _build(self) -> None:
        assert self._engine is not None
        assert self._http is not None
        fake = self.fake
        self._state = _build_state(
            fake.provider, self.settings, self._engine, self.bus, self._http, lambda _: fake
        )
        self._state.pipeline.retry = self.retry
        self._state.pipeline.now = self.clock

    def restart(self) -> None:
        """A new pipeline (turns, outbox signal, connections) over the same database."""
        self._build()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._engine is not None:
            await self._engine.dispose()

    @property
    def pipeline(self) -> Pipeline:
        assert self._state is not None, "start() first"
        return self._state.pipeline

    @property
    def state(self) -> ConnectorState:
        assert self._state is not None, "start() first"
        return self._state

    async def connect(self, tenant_id: str, token: str) -> str:
        """A connection for ``tenant_id`` with the account ``token`` names; its id."""
        account = await self.fake.authenticate(FakeCredentials(token=token))
        return (await self.state.connections.store(tenant_id, account)).id

    async def relay(self) -> list[CloudEvent[Any]]:
        """Publish what the outbox holds (as the relay would); returns the events published."""
        p = self.pipeline
        assert self._engine is not None
        before = len(self.bus.published)
        relay = ConnectorRelay(p.provider, self._engine, p.sessions, self.bus, p.outbox)
        await relay.publish_pending()
        return [e for _, e in self.bus.published[before:]]

    def events(self, kind: type[DataT]) -> list[DataT]:
        """The payloads of ``kind`` published so far, in order."""
        return [e.data for _, e in self.bus.published if isinstance(e.data, kind)]

    async def link(self, link_id: str) -> StoredLink:
        p = self.pipeline
        async with transaction(p.sessions) as session:
            found = await p.repo.link(session, link_id)
        assert found is not None, f"no link {link_id}"
        return found

    async def outbox_rows(self) -> list[Any]:
        p = self.pipeline
        t = p.outbox.table
        async with transaction(p.sessions) as session:
            return list(await session.execute(select(t).order_by(t.c.id)))


@asynccontextmanager
async def pipeline_rig(
    fake: FakeProvider,
    database_url: str,
    *,
    retry: RetrySchedule | None = None,
    clock: ManualClock | None = None,
    deletion_burst_threshold: int = 1000,
    bus: RecordingBus | None = None,
    migrate: bool = True,
) -> AsyncIterator[PipelineRig]:
    """A started :class:`PipelineRig`; ``retry`` defaults to 1 s doubling to 8 s, given up
    after 60 s (seconds of the manual clock: nothing waits for them). ``bus``: shared by
    several rigs (one log for every connector); ``migrate`` False: the database file is a
    copy of one already migrated."""
    rig = PipelineRig(
        fake,
        database_url,
        retry=retry or RetrySchedule(base=1.0, cap=8.0, limit=60.0),
        clock=clock or ManualClock(),
        deletion_burst_threshold=deletion_burst_threshold,
        bus=bus,
        migrate=migrate,
    )
    try:
        await rig.start()
        yield rig
    finally:
        await rig.close()
