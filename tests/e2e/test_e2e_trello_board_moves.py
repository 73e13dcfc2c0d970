"""Cards a person moves to another Trello board, end to end on real Kafka and PostgreSQL with
every service as a process and the Trello emulator.

- Moved to a board the connection's member is on: the link follows the card there (a webhook
  on the new board), a person's edit there reaches the task, and the task's edit reaches the
  card on its new board.
- In a list moved to another board (Trello names no card): the link follows it all the same.
- Moved to a board the member is not on: Trello answers the card's read with a 401 while the
  token still works, so the link is unlinked and the task flagged for review
  (``provider_out_of_reach``); the connection stays active and the card is left alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.trello_world import OBSERVER_TOKEN, TrelloWorld
from tests.e2e.world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 90.0  # generous: under load the services may be slow


async def test_a_card_moved_to_another_board_of_the_member_stays_in_sync(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    task_id, card_id = await w.export_new_task(title="Plan the week")
    second = await _new_board(w, "Second", "sandbox-token", OBSERVER_TOKEN)

    await _person_edits(w, card_id, idBoard=second["id"], idList=second["lists"][0]["id"])
    await _in_sync_on(w, second["id"], task_id, card_id)
    [link] = await w.links(task_id)
    assert (link["status"], link["external_id"]) == ("active", card_id)
    assert card_id not in [c["id"] for c in await w.board_cards()]


async def test_a_list_moved_to_another_board_takes_its_cards_links_along(
    trello_world: TrelloWorld,
) -> None:
    """Trello names no card when a list moves (``moveListFromBoard``): the link still follows
    its card to the new board, and both ways of sync go on there."""
    w = trello_world
    task_id, card_id = await w.export_new_task(title="Plan the week")
    second = await _new_board(w, "Second", "sandbox-token", OBSERVER_TOKEN)
    list_id = (await w.trello.get(f"/_emulator/cards/{card_id}")).json()["idList"]
    # Reconciliation has read its board's history past the card's creation (else that action
    # would have the card read after the move, and no list move be needed to find it there).
    await eventually(_history_read_past(w, card_id), within=WITHIN, what="history read past")

    moved = await w.trello.post(f"/_emulator/lists/{list_id}/move", json={"value": second["id"]})
    assert moved.status_code == 200, moved.text
    await _in_sync_on(w, second["id"], task_id, card_id)


async def test_a_card_moved_out_of_the_members_reach_is_unlinked_for_review(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    task_id, card_id = await w.export_new_task(title="Plan the week")
    private = await _new_board(w, "Private", OBSERVER_TOKEN)  # not the sandbox member's

    await _person_edits(w, card_id, idBoard=private["id"])

    unlinked = await eventually(_link_in(w, task_id, "unlinked"), within=WITHIN, what="unlinked")
    assert unlinked["external_id"] == card_id
    task = await w.task(task_id)
    assert task["review"]["reason"] == "provider_out_of_reach"
    assert task["title"] == "Plan the week"
    connections = (await w.api.get("/v1/connections")).json()
    assert [c["status"] for c in connections if c["id"] == w.connection_id] == ["active"]
    # Tether neither archived nor deleted the card it can no longer see.
    assert await _card_on(w, private["id"], card_id, closed=False)()


async def _in_sync_on(w: TrelloWorld, board_id: str, task_id: str, card_id: str) -> None:
    """The card, now on ``board_id``, is watched there, and syncs both ways: a person's edit
    of it reaches the task, the task's edit reaches it."""
    await eventually(_watched(w, board_id), within=WITHIN, what="a webhook on the new board")
    await _person_edits(w, card_id, desc="Agenda written on the new board")
    await eventually(
        _task_has(w, task_id, description="Agenda written on the new board"),
        within=WITHIN,
        what="the edit on the new board in core",
    )
    edited = await w.api.patch(f"/v1/tasks/{task_id}", json={"title": "Planned on the new board"})
    assert edited.status_code == 200, edited.text
    await eventually(
        _card_on(w, board_id, card_id, name="Planned on the new board"),
        within=WITHIN,
        what="core's edit on the card's new board",
    )


def _history_read_past(w: TrelloWorld, card_id: str) -> Callable[[], Awaitable[Any]]:
    """Probe: a poll of a board's actions after the card's last read (the poll before it
    saved its cursor after that read's action)."""

    async def probe() -> Any:
        log = (await w.trello.get("/_emulator/requests")).json()
        calls = [(e["method"], e["path"], e["status"]) for e in log]
        reads = [i for i, c in enumerate(calls) if c == ("GET", f"/1/cards/{card_id}", 200)]
        polls = [
            i
            for i, (method, path, status) in enumerate(calls)
            if (method, status) == ("GET", 200) and path.endswith("/actions")
        ]
        return bool(reads) and any(i > reads[-1] for i in polls)

    return probe


async def _new_board(w: TrelloWorld, name: str, *tokens: str) -> dict[str, Any]:
    """A board whose members are the owners of ``tokens`` (and the person in Trello)."""
    overview = (await w.trello.get("/_emulator")).json()
    members = [m["id"] for m in overview["members"] if set(m["tokens"]) & set(tokens)]
    assert len(members) == len(tokens)
    made = await w.trello.post("/_emulator/boards", json={"name": name, "members": members})
    assert made.status_code == 200, made.text
    return dict(made.json())


async def _person_edits(w: TrelloWorld, card_id: str, **params: Any) -> None:
    # The person in Trello is a member of every board: they may move the card anywhere.
    answer = await w.trello.post(f"/_emulator/cards/{card_id}/edit", json=params)
    assert answer.status_code == 200, answer.text


def _watched(w: TrelloWorld, board_id: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        hooks = (await w.trello.get("/_emulator/webhooks")).json()
        return [h for h in hooks if h["idModel"] == board_id and h["token"] == "sandbox-token"]

    return probe


def _task_has(w: TrelloWorld, task_id: str, **fields: Any) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        task = await w.task(task_id)
        return task if all(task.get(k) == v for k, v in fields.items()) else None

    return probe


def _card_on(
    w: TrelloWorld, board_id: str, card_id: str, **fields: Any
) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        answer = await w.trello.get(f"/_emulator/boards/{board_id}/cards")
        assert answer.status_code == 200, answer.text
        card: dict[str, Any] = next((c for c in answer.json() if c["id"] == card_id), {})
        return card if card and all(card.get(k) == v for k, v in fields.items()) else None

    return probe


def _link_in(w: TrelloWorld, task_id: str, status: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        links = await w.links(task_id)
        return links[0] if links and links[0]["status"] == status else None

    return probe
