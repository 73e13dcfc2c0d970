"""The emulator's state and its operations, shared by the Trello API and the control API.

A card changed through the API (by Tether) and one changed through the control API ("by a
person in Trello") go through the same methods, so both record the same actions and fire the
same webhooks; only the acting member differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from tether_emulators.common.deliveries import DeliverySettings
from tether_emulators.common.limits import Clock
from tether_emulators.common.outages import Outages
from tether_emulators.common.request_log import RequestLog
from tether_emulators.trello import list_moves, moves
from tether_emulators.trello.errors import NOT_FOUND, UNAUTHORIZED, TrelloError, invalid_value
from tether_emulators.trello.limits import LimitConfig, RateLimiter
from tether_emulators.trello.params import Params, boolean, card_patch, text, trello_id
from tether_emulators.trello.store import (
    JSON,
    Action,
    Board,
    Card,
    Member,
    TrelloList,
    TrelloStore,
    Webhook,
    stable_id,
)
from tether_emulators.trello.webhooks import WebhookDispatcher, check_callback_url

# The sandbox's fixed identity, so a newcomer's configuration survives restarts.
SANDBOX_TOKEN = "sandbox-token"
SANDBOX_BOARD = "Sandbox"
SANDBOX_LISTS = ("To do", "Doing", "Done")


@dataclass(frozen=True)
class SandboxInfo:
    member_id: str
    token: str
    board_id: str
    list_ids: dict[str, str]


class TrelloEmulator:
    """One emulated Trello: its store, rate limiter, outages, webhook dispatcher and request
    log."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        tokens: Mapping[str, str],
        limits: LimitConfig,
        clock: Clock,
        wall_clock: Callable[[], datetime],
        deliveries: DeliverySettings,
        sandbox: bool,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self._initial_tokens = dict(tokens)
        self._wall_clock = wall_clock
        self._sandbox = sandbox
        self.limiter = RateLimiter(limits, clock)
        self.outages = Outages("board_id")
        # Read through a lambda: a reset replaces the store.
        self.requests = RequestLog(lambda: self.store.now())
        self.store = TrelloStore(wall_clock)
        self.dispatcher = WebhookDispatcher(
            deliveries,
            lookup=lambda hook_id: self.store.webhooks.get(hook_id),
            forget=self._forget_webhook,
            now=lambda: self.store.now(),
        )
        self.person: Member
        self.sandbox_info: SandboxInfo | None = None
        self._seed()

    def _seed(self) -> None:
        store = self.store
        # The "person in Trello" whom control-API edits are attributed to by default: a
        # member of every board, and never the owner of a token Tether uses.
        self.person = store.add_member(
            "trello-person", "A Person In Trello", member_id=stable_id("trello-person")
        )
        for token, member_id in self._initial_tokens.items():
            store.add_token(token, member_id)
        if self._sandbox:
            member = store.add_member(
                "sandbox", "Sandbox User", member_id=stable_id("sandbox-member")
            )
            store.add_token(SANDBOX_TOKEN, member.id)
            board = store.add_board(
                SANDBOX_BOARD, SANDBOX_LISTS, board_id=stable_id("sandbox-board")
            )
            lists = {item.name: item.id for item in store.lists.values()}
            self.sandbox_info = SandboxInfo(member.id, SANDBOX_TOKEN, board.id, lists)

    def _forget_webhook(self, hook_id: str) -> None:
        self.store.webhooks.pop(hook_id, None)

    async def reset(self) -> None:
        """Back to the state right after start-up: configured tokens (and sandbox) only."""
        await self.dispatcher.reset()
        self.store = TrelloStore(self._wall_clock)
        self.limiter.reset()
        self.outages.end_all()
        self.requests.clear()
        self._seed()

    async def aclose(self) -> None:
        await self.dispatcher.aclose()

    # --- access ----------------------------------------------------------------------------

    def readable_board(self, member_id: str, board_id: str) -> Board:
        board = self.store.board(board_id)
        if not self.store.can_access(member_id, board.id):
            raise TrelloError(401, UNAUTHORIZED)
        return board

    def readable_card(self, member_id: str, card_id: str) -> Card:
        card = self.store.card(card_id)
        if not self.store.can_access(member_id, card.id_board):
            raise TrelloError(401, UNAUTHORIZED)
        return card

    def actor(self, member_id: str | None) -> Member:
        if member_id is None:
            return self.person
        member = self.store.members.get(member_id)
        if member is None:
            raise invalid_value("member")
        return member

    # --- cards -----------------------------------------------------------------------------

    def create_card(self, actor: Member, params: Params) -> Card:
        if "idList" not in params:
            raise invalid_value("idList")
        patch = card_patch(params)
        trello_list = self.store.lists.get(str(patch["idList"]))
        if trello_list is None:
            raise invalid_value("idList")
        if not self.store.can_access(actor.id, trello_list.id_board):
            raise TrelloError(401, UNAUTHORIZED)
        card, action = self.store.create_card(actor, patch)
        self._publish(action, self.store.card_json(card))
        return card

    def update_card(self, actor: Member, card: Card, params: Params) -> list[Action]:
        """A ``PUT /1/cards/{id}``: the actions it recorded, oldest first (none for a no-op).

        With ``idBoard`` naming another board the card moves there first (moves.py), and the
        other fields change on its new board.
        """
        patch = card_patch(params)
        actions: list[Action] = []
        board = None
        if "idBoard" in params:
            board = moves.target_board(self.store, actor, card, params["idBoard"])
        if board is not None:
            # Validated before anything changes: a refused move leaves the card as it was.
            trello_list = moves.target_list(self.store, board, patch.pop("idList", None))
            actions.extend(
                moves.move_card(self.store, actor, card, board, trello_list, patch.pop("pos", None))
            )
        update = self.store.update_card(actor, card, patch)
        if update is not None:
            actions.append(update)
        for action in actions:
            self._publish(action, self.store.card_json(card))
        return actions

    def move_list(self, actor: Member, trello_list: TrelloList, raw_board: object) -> None:
        """A ``PUT /1/lists/{id}/idBoard`` (list_moves.py): its actions published."""
        moved = list_moves.move_list(self.store, actor, trello_list, raw_board)
        for action in moved or ():
            self._publish(action, {})

    def delete_card(self, actor: Member, card: Card) -> Action:
        snapshot, action = self.store.delete_card(actor, card)
        self._publish(action, snapshot)
        return action

    def _publish(self, action: Action, card_model: JSON) -> None:
        """Hand the action to every active webhook watching one of the models it involves."""
        action_json = action.to_json()
        for hook in list(self.store.webhooks.values()):
            if not hook.active or hook.id_model not in action.model_ids:
                continue
            owner = self.store.tokens.get(hook.token)
            if owner is None or not self.store.can_access(owner, action.id_board):
                continue
            model = self._model_json(hook, card_model)
            self.dispatcher.dispatch(hook, action_json, model, secret=self.api_secret)
        # Trello deletes the webhooks of a model that no longer exists.
        if action.type == "deleteCard":
            card_id = str(card_model["id"])
            for hook in [h for h in self.store.webhooks.values() if h.id_model == card_id]:
                del self.store.webhooks[hook.id]

    def _model_json(self, hook: Webhook, card_model: JSON) -> JSON:
        store = self.store
        if hook.id_model in store.boards:
            return store.board_json(store.boards[hook.id_model])
        if hook.id_model in store.lists:
            return store.list_json(store.lists[hook.id_model])
        return card_model

    # --- webhooks --------------------------------------------------------------------------

    async def create_webhook(self, token: str, params: Params) -> Webhook:
        store = self.store
        callback_url = check_callback_url(params.get("callbackURL"))
        id_model = trello_id(params.get("idModel"), "idModel")
        board_id = self._model_board(id_model)
        if not store.can_access(store.tokens[token], board_id):
            raise TrelloError(401, UNAUTHORIZED)
        description = text(params, "description") or ""
        active = boolean(params, "active")
        self._refuse_duplicate(token, id_model, callback_url)
        await self.dispatcher.verify_callback(callback_url)
        # Checked again after the HEAD round trip: two concurrent creations of the same
        # webhook must not both succeed (duplicate webhooks mean duplicate deliveries).
        self._refuse_duplicate(token, id_model, callback_url)
        hook = Webhook(
            id=store.ids.new(),
            token=token,
            id_model=id_model,
            callback_url=callback_url,
            description=description,
            active=True if active is None else active,
        )
        store.webhooks[hook.id] = hook
        return hook

    def _refuse_duplicate(self, token: str, id_model: str, callback_url: str) -> None:
        for hook in self.store.webhooks.values():
            if (hook.token, hook.id_model, hook.callback_url) == (token, id_model, callback_url):
                raise TrelloError(
                    400, "A webhook with that callback, model, and token already exists"
                )

    async def update_webhook(self, hook: Webhook, params: Params) -> Webhook:
        store = self.store
        if "idModel" in params:
            id_model = trello_id(params["idModel"], "idModel")
            if not store.can_access(store.tokens[hook.token], self._model_board(id_model)):
                raise TrelloError(401, UNAUTHORIZED)
            hook.id_model = id_model
        if "callbackURL" in params:
            callback_url = check_callback_url(params["callbackURL"])
            if callback_url != hook.callback_url:
                await self.dispatcher.verify_callback(callback_url)
            hook.callback_url = callback_url
        description = text(params, "description")
        if description is not None:
            hook.description = description
        active = boolean(params, "active")
        if active is not None:
            hook.active = active
        return hook

    def owned_webhook(self, token: str, hook_id: str) -> Webhook:
        hook = self.store.webhooks.get(trello_id(hook_id, "id"))
        if hook is None:
            raise TrelloError(404, NOT_FOUND)
        if hook.token != token:
            raise TrelloError(401, UNAUTHORIZED)
        return hook

    def _model_board(self, id_model: str) -> str:
        """The board a watchable model (board, list or card) belongs to."""
        store = self.store
        if id_model in store.boards:
            return id_model
        if id_model in store.lists:
            return store.lists[id_model].id_board
        if id_model in store.cards:
            return store.cards[id_model].id_board
        raise invalid_value("idModel")

    # --- seeding helpers for the control API and in-process tests --------------------------

    def add_member(
        self, username: str, full_name: str, *, token: str | None = None, join_boards: bool = True
    ) -> Member:
        member = self.store.add_member(username, full_name)
        if token is not None:
            self.store.add_token(token, member.id)
        if join_boards:
            for board in self.store.boards.values():
                board.member_ids.append(member.id)
        return member

    def add_board(
        self, name: str, lists: Iterable[str], member_ids: Iterable[str] | None = None
    ) -> Board:
        """A board with lists; members default to everyone, and always include the person."""
        if member_ids is not None:
            member_ids = [self.person.id, *(m for m in member_ids if m != self.person.id)]
            unknown = [m for m in member_ids if m not in self.store.members]
            if unknown:
                raise invalid_value("members")
        return self.store.add_board(name, lists, member_ids=member_ids)
