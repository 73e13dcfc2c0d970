"""One Trello account as the runtime's :class:`ProviderSession`: boards and lists, cards,
webhooks and board actions (PROVIDERS.md, Trello)."""

from __future__ import annotations

from collections.abc import Mapping

from tether_connector_runtime.port import (
    ChangesSince,
    Placement,
    ProviderItem,
)
from tether_connector_runtime.retry import PermanentProviderError
from tether_contracts.connections import Container, Place
from tether_sync import FieldName, FieldValue, TaskFields
from trello_connector.client import TrelloClient
from trello_connector.mapping import (
    action_notice,
    card_item,
    card_params,
    link_id_of,
    marked_desc,
)


class TrelloSession:
    def __init__(self, client: TrelloClient) -> None:
        self._client = client

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
                        Place(id=str(x["id"]), name=str(x["name"]))
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
            if link_id_of(str(card.get("desc") or "")) == link_id:
                return card_item(card)
        return None

    async def create(self, placement: Placement, fields: TaskFields, link_id: str) -> ProviderItem:
        params = card_params(fields.model_dump(), link_id=link_id)
        params["desc"] = marked_desc(fields.description, link_id)
        card = await self._client.create_card({"idList": placement.place_id, **params})
        return card_item(card)

    async def read(self, external_id: str) -> ProviderItem | None:
        card = await self._client.card(external_id)
        return None if card is None else card_item(card)

    async def update(
        self,
        item: ProviderItem,
        changes: Mapping[FieldName, FieldValue],
        link_id: str,
        move_to: str | None,
    ) -> ProviderItem:
        params = card_params({str(k): v for k, v in changes.items()}, link_id=link_id)
        if move_to is not None:
            params["idList"] = move_to
        return card_item(await self._client.update_card(item.external_id, params))

    async def archive(self, external_id: str) -> None:
        # Closing is recoverable in Trello, unlike DELETE /cards.
        await self._client.update_card(external_id, {"closed": True})

    async def ensure_webhook(self, container_id: str, callback_url: str) -> str:
        try:
            # Trello first sends HEAD to the callback and needs a 200 (the intake answers it).
            hook = await self._client.create_webhook(
                callback_url=callback_url,
                model_id=container_id,
                description=f"Tether sync for board {container_id}",
            )
            return str(hook["id"])
        except PermanentProviderError as exc:
            if "already exists" not in str(exc):
                raise
        # Registered before our record of it was written (a crash in between): adopt it.
        for hook in await self._client.token_webhooks():
            if hook.get("idModel") == container_id and hook.get("callbackURL") == callback_url:
                return str(hook["id"])
        raise PermanentProviderError(f"Trello says a webhook exists for {container_id}, not ours")

    async def changes_since(self, container_id: str, cursor: str | None) -> ChangesSince:
        actions = await self._client.board_actions(container_id, since=cursor)
        notices = [action_notice(a) for a in actions if "card" in (a.get("data") or {})]
        # Actions come newest first; the next poll starts after the newest.
        return ChangesSince(
            notices=[n for n in notices if n is not None],
            cursor=str(actions[0]["id"]) if actions else cursor,
        )
