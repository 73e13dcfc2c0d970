"""One Trello account as the runtime's :class:`ProviderSession`: boards and lists, cards,
webhooks and board actions (PROVIDERS.md, Trello)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.edit_history import notices_per_item
from tether_connector_runtime.port import (
    ChangesSince,
    ItemNotice,
    Placement,
    ProviderItem,
    RegisteredWebhook,
)
from tether_connector_runtime.retry import PermanentProviderError
from tether_contracts.connections import Container, Place
from tether_sync import FieldName, FieldValue, TaskFields
from trello_connector.client import TrelloClient
from trello_connector.mapping import (
    action_notice,
    card_item,
    card_params,
    carries_marker,
    list_move,
    marked_desc,
)

# GET /boards/{id}/actions answers at most 1000 actions a call, newest first; older ones are
# paged with ``before`` (https://developer.atlassian.com/cloud/trello/rest/api-group-boards/#api-boards-boardid-actions-get).
ACTIONS_PAGE = 1000
# Pages read back to the cursor in one poll: past that, reading every linked card is cheaper
# than more pages (10 calls of a token's 100 per 10 s), so the poll says it is incomplete.
ACTIONS_PAGES = 10
# The actions that can change a linked card (PROVIDERS.md, polling fallback): the card's own,
# and a list's move to another board, which takes its cards along without a card action.
CARD_ACTIONS = (
    "createCard,updateCard,deleteCard,moveCardToBoard,moveCardFromBoard,moveListFromBoard"
)


class TrelloSession:
    def __init__(
        self,
        client: TrelloClient,
        *,
        actions_page: int = ACTIONS_PAGE,
        actions_pages: int = ACTIONS_PAGES,
        owner: Owner | None = None,
    ) -> None:
        """``owner``: whose connection it is: a date-only due is written as 12:00 in their
        zone, and a card's due read back as a date in ``owner.reading_zones`` (the zone the
        link's due was written in, then theirs). None: UTC."""
        self._client = client
        owner = owner or Owner()
        self._zone = owner.zone
        self._reading = owner.reading_zones
        self._actions_page = actions_page
        self._actions_pages = actions_pages

    async def targets(self) -> list[Container]:
        containers = []
        for board in await self._client.boards():
            lists = await self._client.lists(str(board["id"]))
            containers.append(
                Container(
                    id=str(board["id"]),
                    name=str(board["name"]),
                    kind="board",
                    places=[
                        Place(
                            id=str(x["id"]),
                            name=str(x["name"]),
                            target={"list_id": str(x["id"])},
                        )
                        for x in lists
                        if not x.get("closed")
                    ],
                )
            )
        return containers

    async def resolve(self, target: Mapping[str, str]) -> Placement:
        list_id = target.get("list_id")
        if not list_id:
            raise PermanentProviderError('a Trello export needs a target {"list_id": ...}')
        return await self.place(list_id)

    async def place(self, place_id: str) -> Placement:
        found = await self._client.list_(place_id)
        return Placement(container_id=str(found["idBoard"]), place_id=place_id)

    async def find_marked(self, placement: Placement, link_id: str) -> ProviderItem | None:
        # Only after a crashed attempt: reads the whole board, archived cards too.
        for card in await self._client.board_cards(placement.container_id):
            if carries_marker(str(card.get("desc") or ""), link_id):
                return card_item(card, *self._reading)
        return None

    async def create(self, placement: Placement, fields: TaskFields, link_id: str) -> ProviderItem:
        params = card_params(fields.model_dump(), link_id=link_id, zone=self._zone)
        params["desc"] = marked_desc(fields.description, link_id)
        card = await self._client.create_card({"idList": placement.place_id, **params})
        return card_item(card, *self._reading)

    async def read(self, external_id: str) -> ProviderItem | None:
        card = await self._client.card(external_id)
        return None if card is None else card_item(card, *self._reading)

    async def update(
        self,
        item: ProviderItem,
        changes: Mapping[FieldName, FieldValue],
        link_id: str,
        move_to: str | None,
    ) -> ProviderItem:
        params = self._params(changes, link_id)
        if move_to is not None:
            params["idList"] = move_to
        return card_item(await self._client.update_card(item.external_id, params), *self._reading)

    async def write_unread(
        self, external_id: str, changes: Mapping[FieldName, FieldValue], link_id: str
    ) -> ProviderItem:
        # PUT /cards/{id} needs nothing of the card beyond its id, and every edit of a card is
        # an action naming the value it set and its date (webhooks and GET
        # /boards/{id}/actions alike): the runtime finds there an edit this write overwrote.
        # The answer's dateLastActivity is this write's time at Trello.
        params = self._params(changes, link_id)
        return card_item(await self._client.update_card(external_id, params), *self._reading)

    def _params(self, changes: Mapping[FieldName, FieldValue], link_id: str) -> dict[str, Any]:
        return card_params(
            {str(k): v for k, v in changes.items()}, link_id=link_id, zone=self._zone
        )

    async def archive(self, external_id: str) -> None:
        # Closing is recoverable in Trello, unlike DELETE /cards.
        await self._client.update_card(external_id, {"closed": True})

    async def restore(self, external_id: str) -> None:
        # "Send to board": an archived card is reopened where it was.
        await self._client.update_card(external_id, {"closed": False})

    async def check_grant(self) -> None:
        # A 401 on a card may only mean its board is out of the member's reach; a 401 here
        # means the token itself is refused.
        await self._client.me()

    async def ensure_webhook(self, container_id: str, callback_url: str) -> RegisteredWebhook:
        try:
            # Trello first sends HEAD to the callback and needs a 200 (the intake answers it).
            hook = await self._client.create_webhook(
                callback_url=callback_url,
                model_id=container_id,
                description=f"Tether sync for board {container_id}",
            )
            return RegisteredWebhook(str(hook["id"]))
        except PermanentProviderError as exc:
            if "already exists" not in str(exc):
                raise
        # Registered before our record of it was written (a crash in between): adopt it.
        for hook in await self._client.token_webhooks():
            if hook.get("idModel") == container_id and hook.get("callbackURL") == callback_url:
                return RegisteredWebhook(str(hook["id"]))
        raise PermanentProviderError(f"Trello says a webhook exists for {container_id}, not ours")

    async def changes_since(self, container_id: str, cursor: str | None) -> ChangesSince:
        """The cards with actions after ``cursor`` (an action id), one notice each, and the
        newest action's id as the next cursor; None: no history, the newest action's id only
        (the epoch, as a date, on a board with no card actions yet).

        Pages back with ``before`` until a page holds fewer than asked, which means the cursor
        was reached; only then is the board's history complete. Past ``actions_pages`` pages
        the answer is ``complete=False`` (the runtime then reads every linked card) with the
        newest id as the cursor, so nothing between the cursor and now is skipped. Raises the
        client's provider errors (401: ``AuthRevokedError``; 5xx, 429: retryable).
        """
        if cursor is None:
            newest = await self._actions(container_id, since=None, before=None, limit=1)
            # A board without card actions yet: every one it will have is news (``since``
            # takes a date as well as an action id), so its history starts now all the same.
            return ChangesSince(notices=[], cursor=_newest_id(newest, NO_CARD_ACTIONS_YET))
        actions: list[dict[str, Any]] = []
        before: str | None = None
        for _ in range(self._actions_pages):
            page = await self._actions(
                container_id, since=cursor, before=before, limit=self._actions_page
            )
            actions.extend(page)
            if len(page) < self._actions_page:
                return _changes(actions, cursor, self._zone, complete=True)
            before = str(page[-1]["id"])
        return _changes(actions, cursor, self._zone, complete=False)

    async def _actions(
        self, board_id: str, *, since: str | None, before: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """One page of the board's card actions, newest first."""
        return await self._client.board_actions(
            board_id, filter=CARD_ACTIONS, since=since, before=before, limit=limit
        )


# The cursor of a board that had no card actions when its history started: every action since
# the epoch (``GET /1/boards/{id}/actions?since=`` takes a date or an action id).
NO_CARD_ACTIONS_YET = "1970-01-01T00:00:00.000Z"


def _newest_id(actions: Sequence[dict[str, Any]], cursor: str | None) -> str | None:
    # Newest first: the next poll starts after the first action read.
    return str(actions[0]["id"]) if actions else cursor


def _changes(
    actions: Sequence[dict[str, Any]], cursor: str, zone: ZoneInfo, *, complete: bool
) -> ChangesSince:
    moves = (list_move(action) for action in actions)
    return ChangesSince(
        _card_notices(actions, zone),
        _newest_id(actions, cursor),
        complete=complete,
        places_moved=[move for move in moves if move is not None],
    )


def _card_notices(actions: Sequence[dict[str, Any]], zone: ZoneInfo) -> list[ItemNotice]:
    """One notice per card (each costs a read of the card), newest card first; ``actions``
    newest first (edit_history.notices_per_item)."""
    notices = (action_notice(action, zone) for action in actions)
    return notices_per_item(n for n in notices if n is not None)
