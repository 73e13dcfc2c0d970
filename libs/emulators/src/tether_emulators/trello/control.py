"""The control API under ``/_emulator``: not part of Trello, a remote control for tests and the
sandbox. It seeds the world, acts "as a person in Trello", makes boards fail (see outages),
shows the webhooks and the cards, changes the rate limits, and resets. It is neither
authenticated nor rate limited, and it never appears in the request log, so tests can count
exactly the calls their client made. The routes every emulator shares (webhook delivery, holds,
listing and ending outages, the limits in force, the request log) are common/faults_api.py.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from tether_emulators.common.faults_api import Faults
from tether_emulators.common.limits import limits_json, retune
from tether_emulators.trello.deps import Emu
from tether_emulators.trello.errors import invalid_value
from tether_emulators.trello.params import parse_body
from tether_emulators.trello.store import JSON

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class MemberIn(_Model):
    username: str
    full_name: str = Field("Trello Member", alias="fullName")
    # A token for the member; generated (64 hex, like Trello's) when not given.
    token: str | None = None
    # Whether the member joins every existing board (the usual case for a test user).
    join_boards: bool = Field(True, alias="joinBoards")


class TokenIn(_Model):
    member: str
    token: str | None = None


class BoardIn(_Model):
    name: str
    lists: list[str] = Field(default_factory=lambda: ["To do", "Doing", "Done"])
    # Member ids; None means every member. The person in Trello is always a member.
    members: list[str] | None = None


class ListIn(_Model):
    name: str


class LimitsIn(_Model):
    token_limit: int | None = Field(None, alias="tokenLimit", ge=0)
    key_limit: int | None = Field(None, alias="keyLimit", ge=0)
    window_seconds: float | None = Field(None, alias="windowSeconds", gt=0)
    members_limit: int | None = Field(None, alias="membersLimit", ge=0)
    members_window_seconds: float | None = Field(None, alias="membersWindowSeconds", gt=0)


class OutageIn(_Model):
    # Required, so that an outage of everything is asked for (null), never a forgotten field.
    board_id: str | None = Field(alias="boardId")
    # Trello's failures that pass are 5xx; its 429 is JSON and has its own control (limits).
    status: int = Field(503, ge=500, le=599)


async def _params(request: Request) -> dict[str, Any]:
    """Card fields for person edits, in any form the Trello API itself accepts."""
    params: dict[str, Any] = dict(request.query_params)
    params.update(parse_body(request.headers.get("content-type", ""), await request.body()))
    return params


@router.get("")
@router.get("/", include_in_schema=False)
async def overview(emu: Emu) -> JSON:
    """Everything a sandbox user needs to point a client at the emulator."""
    store = emu.store
    return {
        "key": emu.api_key,
        "person": store.member_json(emu.person),
        "members": [
            {**store.member_json(m), "tokens": [t for t, o in store.tokens.items() if o == m.id]}
            for m in store.members.values()
        ],
        "boards": [
            {
                **store.board_json(board),
                "lists": [
                    store.list_json(item)
                    for item in store.lists.values()
                    if item.id_board == board.id
                ],
            }
            for board in store.boards.values()
        ],
        "webhooks": len(store.webhooks),
        "paused": emu.dispatcher.paused,
        "dropNext": emu.dispatcher.drop_next,
        "limits": limits_json(LimitsIn, emu.limiter.config),
    }


# --- seeding -------------------------------------------------------------------------------


@router.post("/members")
async def add_member(body: MemberIn, emu: Emu) -> JSON:
    token = body.token or secrets.token_hex(32)
    member = emu.add_member(
        body.username, body.full_name, token=token, join_boards=body.join_boards
    )
    return {**emu.store.member_json(member), "token": token}


@router.post("/tokens")
async def add_token(body: TokenIn, emu: Emu) -> JSON:
    if body.member not in emu.store.members:
        raise invalid_value("member")
    token = body.token or secrets.token_hex(32)
    emu.store.add_token(token, body.member)
    return {"token": token, "idMember": body.member}


@router.delete("/tokens/{token}")
async def revoke_token(token: str, emu: Emu) -> JSON:
    """Revoke (or expire) a token: it stops working and its webhooks are deleted."""
    gone = emu.store.revoke_token(token)
    return {"revoked": token, "deletedWebhooks": [hook.id for hook in gone]}


@router.post("/boards")
async def add_board(body: BoardIn, emu: Emu) -> JSON:
    board = emu.add_board(body.name, body.lists, body.members)
    store = emu.store
    lists = [store.list_json(item) for item in store.lists.values() if item.id_board == board.id]
    return {**store.board_json(board), "members": board.member_ids, "lists": lists}


@router.post("/boards/{board_id}/lists")
async def add_list(board_id: str, body: ListIn, emu: Emu) -> JSON:
    board = emu.store.board(board_id)
    return emu.store.list_json(emu.store.add_list(board, body.name))


# --- acting as a person in Trello ----------------------------------------------------------


@router.post("/cards")
async def person_creates_card(request: Request, emu: Emu) -> JSON:
    params = await _params(request)
    actor = emu.actor(params.pop("member", None))
    card = emu.create_card(actor, params)
    return emu.store.card_json(card)


class CardFill(BaseModel):
    """``count`` cards named ``name`` plus their number, made in one list by ``member``."""

    idList: str  # noqa: N815 - Trello's own spelling, as POST /_emulator/cards takes it
    count: int = Field(ge=1, le=100_000)
    name: str = "card"
    member: str | None = None


@router.post("/cards/fill")
async def person_fills_a_list(body: CardFill, emu: Emu) -> JSON:
    """Many cards made as a person would make them one by one (actions, webhooks), in one
    request: a board of thousands of cards set up without thousands of requests."""
    actor = emu.actor(body.member)
    for n in range(body.count):
        emu.create_card(actor, {"idList": body.idList, "name": f"{body.name} {n}"})
    return {"created": body.count}


@router.post("/cards/{card_id}/edit")
async def person_edits_card(card_id: str, request: Request, emu: Emu) -> JSON:
    """Edit a card as someone using Trello would: records the actions, fires webhooks.

    ``idBoard`` moves the card to another board, as ``PUT /1/cards/{id}`` does; ``member``
    must then be on both boards. ``action`` is the last action recorded, ``actions`` all.
    """
    params = await _params(request)
    actor = emu.actor(params.pop("member", None))
    card = emu.store.card(card_id)
    actions = emu.update_card(actor, card, params)
    return {
        "card": emu.store.card_json(card),
        "action": actions[-1].to_json() if actions else None,
        "actions": [action.to_json() for action in actions],
    }


@router.post("/lists/{list_id}/move")
async def person_moves_list(list_id: str, request: Request, emu: Emu) -> JSON:
    """Move a list, with its cards, to the board ``value`` names, as someone using Trello
    would (``PUT /1/lists/{id}/idBoard``): records the actions, fires webhooks."""
    params = await _params(request)
    actor = emu.actor(params.pop("member", None))
    trello_list = emu.store.trello_list(list_id)
    emu.move_list(actor, trello_list, params.get("value"))
    return emu.store.list_json(trello_list)


@router.get("/cards/{card_id}")
async def card(card_id: str, emu: Emu) -> JSON:
    """One card as it is, read without spending any token's rate limit."""
    return emu.store.card_json(emu.store.card(card_id))


@router.delete("/cards/{card_id}")
async def person_deletes_card(card_id: str, emu: Emu, member: str | None = None) -> JSON:
    card = emu.store.card(card_id)
    action = emu.delete_card(emu.actor(member), card)
    return {"action": action.to_json()}


# --- webhooks and outages (the rest of their control is shared) ---------------------------


@router.get("/webhooks")
async def all_webhooks(emu: Emu) -> list[JSON]:
    return [{**hook.to_json(), "token": hook.token} for hook in emu.store.webhooks.values()]


@router.post("/outages")
async def start_outage(body: OutageIn, emu: Emu) -> JSON:
    """Every API request concerning the board (every one when ``board_id`` is null) answers
    ``status`` in plain text, performing nothing, until the outages are ended."""
    board_id = None if body.board_id is None else emu.store.board(body.board_id).id
    return emu.outages.start(board_id, body.status).to_json()


# --- observing, limits and resetting -------------------------------------------------------


@router.get("/boards/{board_id}/cards")
async def board_cards(board_id: str, emu: Emu) -> list[JSON]:
    """Every card of a board, archived ones too, oldest first: what is really there, counted
    without spending any token's rate limit."""
    board = emu.store.board(board_id)
    return [emu.store.card_json(c) for c in emu.store.cards.values() if c.id_board == board.id]


@router.post("/rate-limits")
async def set_rate_limits(body: LimitsIn, emu: Emu) -> JSON:
    """Change limits at run time (for a separate-process emulator); counters start afresh."""
    return retune(emu.limiter, body)


@router.post("/reset")
async def reset(emu: Emu, faults: Faults) -> JSON:
    faults.holds.clear()
    await emu.reset()
    return {"reset": True}
