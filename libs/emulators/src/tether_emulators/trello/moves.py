"""Moving a card to another board, the way Trello does it.

``PUT /1/cards/{id}`` with ``idBoard`` ("The ID of the board the card should be on") and
optionally ``idList`` moves a card across boards
(https://developer.atlassian.com/cloud/trello/rest/api-group-cards/#api-cards-id-put); a list of
another board without ``idBoard`` stays ``invalid value for idList`` (store.update_card). The move
is not an ``updateCard``: Trello records ``moveCardFromBoard`` on the old board and
``moveCardToBoard`` on the new one
(https://developer.atlassian.com/cloud/trello/guides/rest-api/action-types/), so a webhook on
the old board hears of the move and then nothing more of the card.
"""

from __future__ import annotations

from tether_emulators.trello.errors import UNAUTHORIZED, TrelloError, invalid_value
from tether_emulators.trello.params import PatchValue, trello_id
from tether_emulators.trello.store import Action, Board, Card, Member, TrelloList, TrelloStore


def target_board(store: TrelloStore, actor: Member, card: Card, raw: object) -> Board | None:
    """The board ``idBoard`` moves ``card`` to, None when it names the card's own board.

    A malformed or unknown id is Trello's 400; a board the acting member is not on (or a card
    on a board they are not on) is its 401, checked before anything changes.
    """
    board_id = trello_id(raw, "idBoard")
    if board_id == card.id_board:
        return None
    board = store.boards.get(board_id)
    if board is None:
        raise invalid_value("idBoard")
    if not (store.can_access(actor.id, card.id_board) and store.can_access(actor.id, board.id)):
        raise TrelloError(401, UNAUTHORIZED)
    return board


def target_list(store: TrelloStore, board: Board, list_id: PatchValue) -> TrelloList:
    """``idList`` when given (it must be on ``board``); else the board's first open list.

    ``idList`` is optional in Trello's docs, which do not say where the card then lands; the
    first open list is our reading of Trello's behaviour (unconfirmed).
    """
    if list_id is not None:
        found = store.lists.get(str(list_id))
        if found is None or found.id_board != board.id:
            raise invalid_value("idList")
        return found
    open_lists = [item for item in store.lists.values() if item.id_board == board.id]
    first = min((item for item in open_lists if not item.closed), key=_pos, default=None)
    if first is None:
        raise invalid_value("idList")
    return first


def move_card(
    store: TrelloStore,
    actor: Member,
    card: Card,
    board: Board,
    trello_list: TrelloList,
    pos: PatchValue,
) -> tuple[Action, Action]:
    """Move ``card`` into ``trello_list`` of ``board``; its ``moveCardFromBoard`` (on the old
    board) and ``moveCardToBoard`` (on the new one) actions.

    The card gets the next ``idShort`` of its new board, as Trello numbers cards per board.
    ``data.boardTarget`` / ``data.boardSource`` name the other board by id only; the
    ``moveCardToBoard`` carries the card's new ``idShort`` and ``shortLink`` and the list it
    landed in, as Trello's own actions of these types do.
    """
    source = store.boards[card.id_board]
    list_before = store.lists[card.id_list]
    board.card_count += 1
    card.id_board, card.id_list, card.id_short = board.id, trello_list.id, board.card_count
    # Without ``pos`` the card goes to the bottom, as a new card does (Trello's default for a
    # move is not documented).
    card.pos = store._resolve_pos(card, "bottom" if pos is None else pos)
    now = store.now()
    card.date_last_activity = now
    moved_from = store._record(
        "moveCardFromBoard",
        actor,
        source,
        {
            "board": source.ref_json(),
            "boardTarget": {"id": board.id},
            "card": {"id": card.id, "name": card.name},
        },
        # Webhooks on the old board, the card and its old list hear that it left.
        {card.id, list_before.id},
        now,
    )
    moved_to = store._record(
        "moveCardToBoard",
        actor,
        board,
        {
            "board": board.ref_json(),
            "boardSource": {"id": source.id},
            "card": card.ref_json(),
            "list": trello_list.ref_json(),
        },
        {card.id, trello_list.id},
        now,
    )
    return moved_from, moved_to


def _pos(item: TrelloList) -> float:
    return item.pos
