"""Outages: Trello failing with a 5xx for a while, for one board or for everything.

Real Trello does fail now and then, sometimes for the boards behind one of its shards and
sometimes for the whole API. An outage makes every ``/1`` request that concerns its board
answer its status with a plain-text body (Trello's error bodies are plain text; only its 429
is JSON), performing nothing; an outage without a board does that to every ``/1`` request.
Connectors must then keep the failing board's work aside and let every other board's flow.

The gate consults this before auth and rate limits: the part of Trello that would check or
count a request is the part that is down, so a refused request spends no token's budget. The
control API, webhook deliveries and the person-in-Trello edits are not affected. The registry
of outages is common/outages.py; here are Trello's facts: which boards a request concerns, and
how a refusal reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import PlainTextResponse, Response

from tether_emulators.common.outages import Outage
from tether_emulators.trello.errors import TrelloError
from tether_emulators.trello.store import TrelloStore


def refusal(outage: Outage) -> Response:
    """Trello's plain-text answer while an outage is in force: the status's own phrase."""
    try:
        text = HTTPStatus(outage.status).phrase
    except ValueError:
        text = "Server Error"
    return PlainTextResponse(text, outage.status)


def boards_concerned(
    store: TrelloStore, method: str, path: str, params: Mapping[str, Any]
) -> set[str]:
    """The boards an API request reads or changes, as far as the store knows them.

    ``path`` is normalized (no trailing slash). Ids the store does not know, or malformed
    ones, concern no board: the request goes on and earns its own 400 or 404.
    """
    parts = path.split("/")[2:]  # "/1/cards/abc" -> ["cards", "abc"]
    if not parts:
        return set()
    kind, ident = parts[0], (parts[1] if len(parts) > 1 else None)
    boards: set[str | None] = set()
    if kind == "boards" and ident:
        boards.add(_quietly(lambda: store.board(ident).id))
    elif kind == "lists" and ident:
        boards.add(_list_board(store, ident))
    elif kind == "cards":
        if ident:
            boards.add(_quietly(lambda: store.card(ident).id_board))
        # A new card goes into idList's board; an edit may move the card into it, or into
        # idBoard's board.
        boards.add(_list_board(store, params.get("idList")))
        board_id = params.get("idBoard")
        if isinstance(board_id, str):
            boards.add(_quietly(lambda: store.board(board_id).id))
    elif kind == "webhooks" or (kind == "tokens" and parts[2:3] == ["webhooks"]):
        hook = store.webhooks.get(ident or "") if kind == "webhooks" else None
        if hook is not None:
            boards.add(_model_board(store, hook.id_model))
        if method.upper() in ("POST", "PUT"):
            boards.add(_model_board(store, params.get("idModel")))
    return {board for board in boards if board is not None}


def _list_board(store: TrelloStore, list_id: Any) -> str | None:
    if not isinstance(list_id, str):
        return None
    return _quietly(lambda: store.trello_list(list_id).id_board)


def _model_board(store: TrelloStore, model_id: Any) -> str | None:
    """The board of a webhook's model: a board, a list or a card."""
    if not isinstance(model_id, str):
        return None
    if model_id in store.boards:
        return model_id
    if model_id in store.lists:
        return store.lists[model_id].id_board
    if model_id in store.cards:
        return store.cards[model_id].id_board
    return None


def _quietly(lookup: Callable[[], str]) -> str | None:
    try:
        return lookup()
    except TrelloError:
        return None
