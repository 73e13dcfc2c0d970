"""Moving a list to another board, the way Trello does it.

``PUT /1/lists/{id}/idBoard`` with ``value``, the id of the board to move the list to
(https://developer.atlassian.com/cloud/trello/rest/api-group-lists/#api-lists-id-idboard-put).
The list's cards go with it. Trello records ``moveListFromBoard`` on the old board and
``moveListToBoard`` on the new one
(https://developer.atlassian.com/cloud/trello/guides/rest-api/action-types/): neither names a
card and no card action is recorded, so a webhook on the old board hears that the list left
and nothing more of its cards, whose later actions are the new board's.
"""

from __future__ import annotations

from tether_emulators.trello.errors import UNAUTHORIZED, TrelloError, invalid_value
from tether_emulators.trello.params import trello_id
from tether_emulators.trello.store import Action, Member, TrelloList, TrelloStore


def move_list(
    store: TrelloStore, actor: Member, trello_list: TrelloList, raw_board: object
) -> tuple[Action, Action] | None:
    """Move ``trello_list`` and its cards to the board ``raw_board`` names (None: it is on it
    already); its ``moveListFromBoard`` and ``moveListToBoard`` actions. A malformed or
    unknown board is Trello's 400 (``invalid value for value``); a board the member is not on,
    either side, its 401, checked before anything changes. The cards keep their ``idShort``
    (Trello's numbering of cards moved with a list is not documented)."""
    board_id = trello_id(raw_board, "value")
    if board_id == trello_list.id_board:
        return None
    board = store.boards.get(board_id)
    if board is None:
        raise invalid_value("value")
    source = store.boards[trello_list.id_board]
    if not (store.can_access(actor.id, source.id) and store.can_access(actor.id, board.id)):
        raise TrelloError(401, UNAUTHORIZED)
    trello_list.id_board = board.id
    for card in store.cards.values():
        if card.id_list == trello_list.id:
            card.id_board = board.id
    now = store.now()
    moved_from = store._record(
        "moveListFromBoard",
        actor,
        source,
        {
            "board": source.ref_json(),
            "boardTarget": {"id": board.id},
            "list": trello_list.ref_json(),
        },
        {trello_list.id},
        now,
    )
    moved_to = store._record(
        "moveListToBoard",
        actor,
        board,
        {
            "board": board.ref_json(),
            "boardSource": {"id": source.id},
            "list": trello_list.ref_json(),
        },
        {trello_list.id},
        now,
    )
    return moved_from, moved_to
