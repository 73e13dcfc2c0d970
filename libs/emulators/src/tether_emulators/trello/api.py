"""The emulated Trello REST API under ``/1``: the part of it Tether uses, as Trello answers it.

Handlers read the merged query/body parameters that the gate prepared (Trello accepts both) and
raise ``TrelloError`` for Trello's plain-text errors; auth and rate limits happened before.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tether_emulators.trello.deps import Ctx, Emu
from tether_emulators.trello.errors import UNAUTHORIZED, TrelloError, invalid_value
from tether_emulators.trello.gate import RequestContext
from tether_emulators.trello.params import (
    TRELLO_ID,
    Params,
    filters,
    limit,
    parse_date,
    trello_date,
)
from tether_emulators.trello.store import JSON, Card

router = APIRouter(prefix="/1")

# Action types Trello accepts in ``filter`` (the subset of its long list that boards record).
ACTION_TYPES = frozenset(
    {
        "all", "createCard", "updateCard", "deleteCard", "commentCard", "copyCard",
        "moveCardFromBoard", "moveCardToBoard", "addMemberToCard", "removeMemberFromCard",
        "addAttachmentToCard", "deleteAttachmentFromCard", "addChecklistToCard",
        "updateCheckItemStateOnCard", "createList", "updateList", "moveListFromBoard",
        "moveListToBoard", "createBoard", "updateBoard",
        "addMemberToBoard", "emailCard",
    }
)  # fmt: skip
CARD_FILTERS = frozenset({"all", "closed", "open", "visible"})
LIST_FILTERS = frozenset({"all", "closed", "open"})
# Fields of ``updateCard:<field>`` filters.
_CARD_FIELDS = ("name", "desc", "due", "start", "dueComplete", "closed", "idList", "pos")


def _select(doc: JSON, params: Params) -> JSON:
    """Trello's ``fields=a,b`` projection; ``id`` is always included, unknown fields are 400."""
    raw = params.get("fields", "all")
    if raw == "all":
        return doc
    if not isinstance(raw, str):
        raise invalid_value("fields")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if any(name not in doc for name in names):
        raise invalid_value("fields")
    return {"id": doc["id"], **{name: doc[name] for name in names}}


def _json(content: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status_code)


def _card_filter(card: Card, names: set[str]) -> bool:
    if names & {"all"}:
        return True
    return (not card.closed and bool(names & {"open", "visible"})) or (
        card.closed and "closed" in names
    )


# --- members -------------------------------------------------------------------------------


@router.get("/members/{member_id}")
async def get_member(member_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    member = emu.store.member(member_id, me=ctx.member_id)
    return _json(_select(emu.store.member_json(member), ctx.params))


@router.get("/members/{member_id}/boards")
async def get_member_boards(member_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    store = emu.store
    member = store.member(member_id, me=ctx.member_id)
    # Trello's default filter here is "all": closed boards are listed too.
    names = filters(ctx.params, default="all", allowed=frozenset({"all", "open", "closed"}))
    boards = [
        store.board_json(board)
        for board in store.boards.values()
        if member.id in board.member_ids
        and ctx.member_id in board.member_ids
        and ("all" in names or ("closed" if board.closed else "open") in names)
    ]
    return _json([_select(board, ctx.params) for board in boards])


# --- boards and lists ----------------------------------------------------------------------


@router.get("/boards/{board_id}")
async def get_board(board_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    board = emu.readable_board(ctx.member_id, board_id)
    return _json(_select(emu.store.board_json(board), ctx.params))


@router.get("/boards/{board_id}/lists")
async def get_board_lists(board_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    board = emu.readable_board(ctx.member_id, board_id)
    names = filters(ctx.params, default="open", allowed=LIST_FILTERS)
    lists = sorted(
        (item for item in emu.store.lists.values() if item.id_board == board.id),
        key=lambda item: item.pos,
    )
    return _json(
        [
            _select(emu.store.list_json(item), ctx.params)
            for item in lists
            if "all" in names or ("closed" if item.closed else "open") in names
        ]
    )


async def _board_cards(
    board_id: str, names: set[str], ctx: RequestContext, emu: Emu
) -> JSONResponse:
    board = emu.readable_board(ctx.member_id, board_id)
    store = emu.store
    list_pos = {item.id: item.pos for item in store.lists.values()}
    cards = sorted(
        (c for c in store.cards.values() if c.id_board == board.id and _card_filter(c, names)),
        key=lambda c: (list_pos.get(c.id_list, 0.0), c.pos),
    )
    return _json([_select(store.card_json(card), ctx.params) for card in cards])


@router.get("/boards/{board_id}/cards")
async def get_board_cards(board_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    names = filters(ctx.params, default="visible", allowed=CARD_FILTERS)
    return await _board_cards(board_id, names, ctx, emu)


@router.get("/boards/{board_id}/cards/{card_filter}")
async def get_board_cards_filtered(
    board_id: str, card_filter: str, ctx: Ctx, emu: Emu
) -> JSONResponse:
    if card_filter not in CARD_FILTERS:
        raise invalid_value("filter")
    return await _board_cards(board_id, {card_filter}, ctx, emu)


@router.get("/boards/{board_id}/actions")
async def get_board_actions(board_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    board = emu.readable_board(ctx.member_id, board_id)
    params = ctx.params
    allowed = ACTION_TYPES | {f"updateCard:{name}" for name in _CARD_FIELDS}
    types = filters(params, default="all", allowed=allowed)
    actions = emu.store.board_actions(
        board.id,
        types=types,
        since=_action_bound(params, "since"),
        before=_action_bound(params, "before"),
        limit=limit(params, default=50, maximum=1000),
    )
    return _json([action.to_json() for action in actions])


def _action_bound(params: Params, name: str) -> str | None:
    """``since``/``before``: an action id (compared by creation order) or a date."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and TRELLO_ID.match(value):
        return value
    try:
        return trello_date(parse_date(value, name))
    except TrelloError as exc:
        raise invalid_value(name) from exc


@router.get("/lists/{list_id}")
async def get_list(list_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    trello_list = emu.store.trello_list(list_id)
    emu.readable_board(ctx.member_id, trello_list.id_board)
    return _json(_select(emu.store.list_json(trello_list), ctx.params))


@router.put("/lists/{list_id}/idBoard")
async def move_list(list_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    trello_list = emu.store.trello_list(list_id)
    emu.readable_board(ctx.member_id, trello_list.id_board)
    if "value" not in ctx.params:
        raise invalid_value("value")
    emu.move_list(emu.store.members[ctx.member_id], trello_list, ctx.params["value"])
    return _json(emu.store.list_json(trello_list))


@router.get("/lists/{list_id}/cards")
async def get_list_cards(list_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    trello_list = emu.store.trello_list(list_id)
    emu.readable_board(ctx.member_id, trello_list.id_board)
    names = filters(ctx.params, default="open", allowed=CARD_FILTERS)
    cards = sorted(
        (c for c in emu.store.cards.values() if c.id_list == list_id and _card_filter(c, names)),
        key=lambda c: c.pos,
    )
    return _json([_select(emu.store.card_json(card), ctx.params) for card in cards])


# --- cards ---------------------------------------------------------------------------------


@router.post("/cards")
async def create_card(ctx: Ctx, emu: Emu) -> JSONResponse:
    card = emu.create_card(emu.store.members[ctx.member_id], ctx.params)
    return _json(emu.store.card_json(card))


@router.get("/cards/{card_id}")
async def get_card(card_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    card = emu.readable_card(ctx.member_id, card_id)
    return _json(_select(emu.store.card_json(card), ctx.params))


@router.put("/cards/{card_id}")
async def update_card(card_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    card = emu.readable_card(ctx.member_id, card_id)
    emu.update_card(emu.store.members[ctx.member_id], card, ctx.params)
    return _json(emu.store.card_json(card))


@router.delete("/cards/{card_id}")
async def delete_card(card_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    card = emu.readable_card(ctx.member_id, card_id)
    emu.delete_card(emu.store.members[ctx.member_id], card)
    return _json({"limits": {}})


# --- webhooks and tokens -------------------------------------------------------------------


@router.post("/webhooks")
async def create_webhook(ctx: Ctx, emu: Emu) -> JSONResponse:
    hook = await emu.create_webhook(ctx.token, ctx.params)
    return _json(hook.to_json())


@router.get("/webhooks/{webhook_id}")
async def get_webhook(webhook_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    return _json(emu.owned_webhook(ctx.token, webhook_id).to_json())


@router.put("/webhooks/{webhook_id}")
async def update_webhook(webhook_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    hook = await emu.update_webhook(emu.owned_webhook(ctx.token, webhook_id), ctx.params)
    return _json(hook.to_json())


@router.delete("/webhooks/{webhook_id}")
async def delete_webhook(webhook_id: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    hook = emu.owned_webhook(ctx.token, webhook_id)
    del emu.store.webhooks[hook.id]
    return _json({"_value": None})


def _own_token(token: str, ctx: RequestContext) -> None:
    # A token may only look at itself; Trello hides other tokens behind a 401.
    if token != ctx.token:
        raise TrelloError(401, UNAUTHORIZED)


@router.get("/tokens/{token}")
async def get_token(token: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    _own_token(token, ctx)
    boards = [b.id for b in emu.store.boards.values() if ctx.member_id in b.member_ids]
    return _json(
        {
            "id": token[:24],
            "identifier": "Tether",
            "idMember": ctx.member_id,
            "dateCreated": None,
            "dateExpires": None,
            "permissions": [
                {"idModel": board_id, "modelType": "board", "read": True, "write": True}
                for board_id in boards
            ],
        }
    )


@router.get("/tokens/{token}/webhooks")
async def get_token_webhooks(token: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    _own_token(token, ctx)
    hooks = [hook.to_json() for hook in emu.store.webhooks.values() if hook.token == token]
    return _json(hooks)


@router.post("/tokens/{token}/webhooks")
async def create_token_webhook(token: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    _own_token(token, ctx)
    hook = await emu.create_webhook(ctx.token, ctx.params)
    return _json(hook.to_json())
