"""The provider adapter port: what a provider must supply, and nothing the pipeline can do once.

The pipeline (export with crash recovery, the per-link turn, deciding and parking writes,
observing items, deletions, reconciliation, webhook intake, connections, the internal API) is
the runtime's. A provider adapter is its auth flow, its HTTP calls, its field mapping, its
notion of place (list / section / workflow status) and its webhook dialect:

- :class:`ProviderAdapter`: the provider as a whole (checking credentials, opening a
  :class:`ProviderSession` for one account, its :class:`WebhookDialect`, its consent flow);
- :class:`ProviderSession`: one account's view of the provider: targets, items, webhooks,
  changes since a cursor.

Every call raises the runtime's provider errors (:mod:`tether_connector_runtime.retry`):
``RetryableProviderError`` (5xx, 429, network), ``AuthRevokedError`` (the credentials are no
good), ``PermanentProviderError`` (the same call will fail again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from pydantic import BaseModel

from tether_connector_runtime.due_dates import Owner, read_again
from tether_contracts.connections import Container
from tether_sync import FieldName, FieldValue, TaskFields

DeliveryMode = Literal["webhook", "polling"]


@dataclass(frozen=True)
class Account:
    """Whose credentials were checked: the provider's account id and a name to show, and the
    secret to keep (encrypted) for that account, in the adapter's own format.

    ``expires_at``: when the secret's access token stops working (OAuth 2: an hour after it
    was issued at Asana and Jira), timezone-aware; None: it does not expire (a personal access
    token, Trello's ``expiration=never``). The runtime renews an expiring secret through
    :class:`CredentialRenewal` before it opens a session with it.

    ``delivery``: how this account's changes reach us: ``webhook`` (registered per
    container), or ``polling`` where the provider lets the account register none (a Jira API
    token without the Administer Jira permission): the runtime then asks for no webhook and
    reconciliation alone brings changes."""

    account_id: str
    account_name: str
    secret: str
    expires_at: datetime | None = None
    delivery: DeliveryMode = "webhook"


@dataclass(frozen=True)
class RegisteredWebhook:
    """A webhook the provider holds for us: ``webhook_id`` is the provider's id of it;
    ``secret`` the provider's signing secret for this webhook alone (Asana's ``X-Hook-Secret``),
    which the runtime stores encrypted and hands to :meth:`WebhookDialect.verify`; None when the
    provider signs with an app-wide secret (Trello). ``expires_at``: when the provider drops
    it unless refreshed (Jira's dynamic webhooks: 30 days); the runtime asks
    :meth:`ProviderSession.ensure_webhook` again well before (``webhook_renewal_margin``), which
    refreshes it, or registers it again if it is gone. None: it does not expire."""

    webhook_id: str
    secret: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Placement:
    """Where an item is created: a container (board, project), optionally a place in it
    (list, section), and the kind of item, where the container holds several (Jira's issue
    type id)."""

    container_id: str
    place_id: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class ProviderItem:
    """A provider item as the pipeline sees it.

    ``fields``: the mapped values, our marker stripped; ``completed`` is the provider's own
    flag (a status mapping, if the connection has one, may override it from ``place_id``).
    ``container_id``: the board or project it is in; empty when it is in none the account can
    watch (then the link unlinks, its task flagged ``provider_out_of_reach``): an item that
    moved to another container is followed there. ``closed``: archived or trashed
    (recoverable). ``marker``: the link id our marker names, if
    the item carries one. ``edited_at``: the item's last modification, if the provider says.
    """

    external_id: str
    container_id: str
    place_id: str | None
    fields: TaskFields
    closed: bool = False
    url: str = ""
    marker: str | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True)
class ItemNotice:
    """A provider's word that an item may have changed (a webhook event, a polled action).

    ``field_edited_at``: when the provider says each field was set, if it says (the date of
    the action that set it); ``latest_wins`` compares these, not the item's last activity.
    ``field_values``: the value each of those actions set, where the provider says (Trello's
    ``data.card`` carries the new value of each field in ``data.old``). A notice can arrive
    after the field was edited again; its time then dates an older value, so it is used only
    while the item still holds the value it names (otherwise the item's last activity, which
    is no earlier than the newer edit, dates the field).

    ``due_read_in``: for a provider whose due is always an instant (Trello), the zone the
    notice's due was read in (a date there is 12:00 that day in it); a notice is often read
    before its link is known (a webhook), so the due is read again in the link's zones before
    it is compared with the item (:meth:`read_in`). None: the due needs no zone, or was read
    in the item's zones already.

    ``history_lost``: a look at the item that no edit prompted, made because the provider's
    history could not say what changed (reconciliation with no cursor, or one too old). Where
    notices date each edit (:class:`UnreadWrites`), a person's edit is otherwise published
    only with a time its own notice gives; on such a look none may come, so what the item
    holds beyond the base is dated by its last activity, the only time there is.
    """

    external_id: str
    field_edited_at: Mapping[FieldName, datetime] = field(default_factory=dict)
    field_values: Mapping[FieldName, FieldValue] = field(default_factory=dict)
    due_read_in: ZoneInfo | None = None
    history_lost: bool = False
    # Older edits the same notice names, newest first (a poll of Trello's board actions may
    # find several edits of one field since its cursor): (value set, when). Only overwrites
    # look at them (tether_sync.overwrites): a person's edit our write overwrote unseen.
    earlier: Mapping[FieldName, tuple[tuple[FieldValue, datetime], ...]] = field(
        default_factory=dict
    )

    def edits(self) -> dict[FieldName, tuple[tuple[FieldValue, datetime], ...]]:
        """Every edit the notice names with its value: (value set, when), newest first."""
        out: dict[FieldName, tuple[tuple[FieldValue, datetime], ...]] = {}
        for name, value in self.field_values.items():
            at = self.field_edited_at.get(name)
            if at is not None:
                out[name] = ((value, at), *self.earlier.get(name, ()))
        return out

    def times_still_true(self, item: TaskFields) -> dict[FieldName, datetime]:
        """The stated times of the fields ``item`` still holds as the notice's action set them
        (every stated time whose value the notice does not name). Read the notice in the
        item's zones first (:meth:`read_in`) when its due was read before they were known."""
        return {
            name: at
            for name, at in self.field_edited_at.items()
            if name not in self.field_values or self.field_values[name] == item.value(name)
        }

    def read_in(self, zones: tuple[ZoneInfo, ...]) -> ItemNotice:
        """The notice with its due read in ``zones`` (where the item's due reads as a date:
        ``Owner.reading_zones``), as the item's is; itself when its due needs no zone."""
        due = self.field_values.get("due")
        if self.due_read_in is None or not zones or not isinstance(due, date):
            return self
        read_in = self.due_read_in

        def again(value: FieldValue) -> FieldValue:
            return read_again(value, read_in, zones) if isinstance(value, date) else value

        earlier = dict(self.earlier)
        if "due" in earlier:
            earlier["due"] = tuple((again(v), at) for v, at in earlier["due"])
        values = {**self.field_values, "due": again(due)}
        return replace(self, field_values=values, earlier=earlier, due_read_in=None)


@dataclass(frozen=True)
class PlaceMove:
    """A place (a Trello list) moved, with its items, out of ``from_container`` (a board) into
    another. The provider names no item (Trello records ``moveListFromBoard`` /
    ``moveListToBoard``, no card action): every linked item of the old container is looked
    at, and those now elsewhere are followed there; a cached placement naming the place is
    dropped."""

    place_id: str
    from_container: str


@dataclass(frozen=True)
class Delivery:
    """A verified webhook delivery: its id (for dedupe), the model its webhook watches (to
    know the webhook), the items it names and the places it says moved."""

    delivery_id: str
    model_id: str
    notices: Sequence[ItemNotice]
    places_moved: Sequence[PlaceMove] = ()


@dataclass(frozen=True)
class ChangesSince:
    """What changed in a container after a cursor: the items to observe, the places that moved
    out of it, and where the next poll starts. ``complete`` False: the provider could not say
    everything (a cursor too old); the caller then observes every linked item."""

    notices: Sequence[ItemNotice]
    cursor: str | None
    complete: bool = True
    places_moved: Sequence[PlaceMove] = ()


class ProviderSession(Protocol):
    """One account's view of the provider (its credentials decrypted)."""

    async def targets(self) -> list[Container]:
        """Containers this account can export into, each with its places."""

    async def resolve(self, target: Mapping[str, str]) -> Placement:
        """Where an export's ``target`` points; ``PermanentProviderError`` if nowhere."""

    async def place(self, place_id: str) -> Placement:
        """The container a place belongs to (status mapping); ``PermanentProviderError`` if
        this account cannot see it."""

    async def find_marked(self, placement: Placement, link_id: str) -> ProviderItem | None:
        """The item a crashed export attempt created for ``link_id``, if any."""

    async def create(self, placement: Placement, fields: TaskFields, link_id: str) -> ProviderItem:
        """Create the item carrying ``fields`` and our marker for ``link_id``, in one call
        where the provider allows (the marker must exist as soon as the item does)."""

    async def read(self, external_id: str) -> ProviderItem | None:
        """The item now; None when it no longer exists."""

    async def update(
        self,
        item: ProviderItem,
        changes: Mapping[FieldName, FieldValue],
        link_id: str,
        move_to: str | None,
    ) -> ProviderItem | None:
        """Write ``changes`` (and move to place ``move_to``); returns the item as written, or
        None when the provider's answer does not show it (Jira answers a write with no body):
        the runtime reads the item only where it needs it, not after every write.

        Raising means nothing of the call is taken for written. ``PermanentProviderError``
        (not a 401) is the provider refusing the write for good: the runtime records its
        message on the link, which people read and which stays active and keeps syncing
        (``pipeline/refusals.py``), so say what was refused and why. Where the provider takes
        part of a call before refusing the rest (Jira: fields, then a status transition),
        write what it takes first: the runtime recognises those values on the item as its own
        write when it next looks, and offers the refused rest again with the task's next
        change. A 404 is taken for the item gone only when a read then finds none."""

    async def archive(self, external_id: str) -> None:
        """Archive / trash the item, recoverably."""

    async def restore(self, external_id: str) -> None:
        """Bring an archived item back (the task was exported to it again)."""

    async def check_grant(self) -> None:
        """Raise ``AuthRevokedError`` if the provider refuses the credentials themselves.

        A provider may answer 401 for a single item or container the account cannot see
        (Trello: a card moved to a board the member is not on) as well as for a revoked token;
        the runtime asks this before breaking the connection (Trello: ``GET /members/me``)."""

    async def ensure_webhook(self, container_id: str, callback_url: str) -> RegisteredWebhook:
        """Make sure the provider calls ``callback_url`` for changes in the container;
        returns the provider's webhook (adopting one registered before).

        The runtime holds no database transaction or lock across this call: a provider that
        calls ``callback_url`` back while it is open (Asana's handshake) is answered by the
        same process. With :attr:`WebhookDialect.per_webhook_url` the URL ends in the key the
        runtime made for this webhook (``{webhook_url()}/{hook_key}``)."""

    async def changes_since(self, container_id: str, cursor: str | None) -> ChangesSince:
        """Items changed in the container after ``cursor`` (None: from now on)."""


@runtime_checkable
class UnreadWrites(Protocol):
    """An optional capability of a :class:`ProviderSession` (checked with ``isinstance``):
    writing an item without reading it first, which saves a call per change.

    Only for a provider whose every edit notice, webhook and polled history alike, names the
    field, the value set and when (Trello's actions): a person's edit the write lands on
    before its webhook arrives is then found from that notice and published as a concurrent
    edit (``tether_sync.overwrites``). The answer's ``edited_at`` must be the provider's time
    of this write (Trello's ``dateLastActivity``), the end of that search's window."""

    async def write_unread(
        self,
        external_id: str,
        changes: Mapping[FieldName, FieldValue],
        link_id: str,
    ) -> ProviderItem:
        """Write ``changes`` to the item in one call, as :meth:`ProviderSession.update` does
        (same errors; a ``BudgetSpent`` means nothing was sent); returns the item as
        written."""


class WebhookDialect(Protocol):
    """How the provider calls us back.

    ``per_webhook_url``: True when each webhook gets its own callback URL,
    ``{adapter.webhook_url()}/{hook_key}`` (``hook_key``: a random URL-safe id the runtime
    stores with the webhook before registering it), so a delivery names the webhook, and with
    it the secret that signs it (Asana). False: every webhook calls ``webhook_url()`` itself
    and deliveries are signed with an app-wide secret (Trello)."""

    per_webhook_url: bool

    async def handshake(self, request: Request) -> Response | None:
        """Answer a set-up request before any check (Asana's ``X-Hook-Secret``), else None.
        Called before the runtime reads its database (the registering call may still be open
        in this process), so it must answer from the request alone."""

    def verify(self, body: bytes, headers: Mapping[str, str], url: str, secret: str | None) -> None:
        """Check the signature on the raw bytes; ``SignatureInvalid`` if it does not hold.
        ``url``: the URL the delivery was made to, as registered; ``secret``: the stored
        secret of the webhook that URL names (:class:`RegisteredWebhook`), None when the
        dialect has no per-webhook URL or the provider gave no secret."""

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        """The delivery's id, model and items, from the verified body and its headers
        (Jira names a delivery in ``X-Atlassian-Webhook-Identifier``); ``ValueError``/
        ``KeyError`` if malformed."""


@dataclass(frozen=True)
class ConsentStarted:
    """A consent flow begun: the provider's page, the value its return will name this flow by
    (OAuth 1.0a's request token, OAuth 2's ``state``) and what completing it needs (the request
    token's secret, a PKCE verifier), which the runtime keeps encrypted until the return."""

    authorize_url: str
    state: str
    secret: str


class ConsentFlow(Protocol):
    """A provider's consent page (OAuth 1.0a or 2.0). The runtime keeps each flow between its
    start and the browser's return (single use, expiring) and stores the account it yields."""

    async def begin(self) -> ConsentStarted:
        """Start a flow (``OAuthNotConfigured``/``AppRefused`` when the app's own settings
        are missing or wrong)."""

    def state_of(self, params: Mapping[str, str]) -> str:
        """Which flow the return's query parameters name; ``ValueError`` (with the reason a
        person should read) when they name none, e.g. consent was refused."""

    async def complete(self, params: Mapping[str, str], secret: str) -> Account:
        """Exchange what the provider sent back for the account's credentials;
        ``PermanentProviderError`` when the provider refuses."""


@runtime_checkable
class CredentialRenewal(Protocol):
    """An optional capability of a :class:`ProviderAdapter` whose credentials expire or can be
    revoked (OAuth 2); the runtime checks for it with ``isinstance``.

    A provider that rotates refresh tokens (Jira) invalidates the old one when it issues the
    new: the runtime commits what :meth:`refresh` returns before anything uses it, and keeps
    one refresh per connection at a time across replicas. If a crash loses the answer after
    the provider rotated, the stored (old) secret is offered again: such an adapter should
    accept a reuse within the provider's leeway (Atlassian: 10 minutes) or raise
    ``AuthRevokedError``, which asks the person to reconnect."""

    async def refresh(self, secret: str) -> Account:
        """New credentials from the stored ``secret`` (only ever one whose account had an
        ``expires_at``): the account with its new secret and
        ``expires_at``. ``AuthRevokedError`` when the provider refuses for good (a revoked or
        expired grant: the connection breaks); ``RetryableProviderError`` when it may work
        later (5xx, 429, network)."""

    async def revoke(self, secret: str) -> None:
        """Revoke the grant at the provider when its connection is deleted here. Best
        effort: the runtime logs and counts a failure (any ``ProviderError``) and never lets
        it stop the disconnect."""


class ProviderAdapter(Protocol):
    """A provider: its name, credentials, sessions, webhooks and consent flow."""

    provider: str
    credentials: type[BaseModel]  # the body of POST /connections for this provider

    async def authenticate(self, credentials: BaseModel) -> Account:
        """Check pasted credentials with the provider; ``AuthRevokedError`` /
        ``PermanentProviderError`` when refused (the reason in the message)."""

    def session(self, secret: str, owner: Owner) -> ProviderSession:
        """One account's session from its stored secret; ``owner`` is whose connection it is
        (their time zone: where a date-only due falls on an instant-only provider, see
        :mod:`tether_connector_runtime.due_dates`) and, for a session opened for one link,
        the zone its item's due was last written in: the session writes dates in
        ``owner.zone`` and reads them back in ``owner.reading_zones``."""

    def webhook_url(self) -> str:
        """Where this provider's webhooks arrive (registered with it)."""

    @property
    def webhooks(self) -> WebhookDialect: ...

    @property
    def consent(self) -> ConsentFlow | None: ...

    def held_as(self, name: FieldName, value: FieldValue, owner: Owner) -> FieldValue:
        """What the item reads back as after ``value`` was written to field ``name``: ``value``
        itself where the provider stores it as sent; its own spelling of the same content
        where it stores a format of its own (Asana's ``html_notes`` answer a description in
        canonical Markdown; Jira keeps a due instant as its date in the zone it was written
        in, ``owner.reading_zones[0]``). The runtime takes that spelling of a value it wrote
        as the value, never as an edit (``pipeline/renderings.py``). Must be deterministic and
        cheap: it is called on every observation."""

    @property
    def field_limits(self) -> Mapping[FieldName, int]:
        """The longest value of each text field the provider's item can hold, as mapped (room
        for anything the adapter adds, such as a marker, already taken off), in UTF-16 code
        units, the unit of the shortest count a provider may use (a JavaScript or Java string
        length; a provider counting code points accepts it too). A field not named has no
        limit below core's (``tether_contracts.tasks``). The runtime shortens a longer value
        before writing it (``pipeline/limits.py``); cite the provider's source beside each
        limit."""
