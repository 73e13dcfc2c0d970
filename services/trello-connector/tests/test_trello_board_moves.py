"""A card a person moved to another board, seen through ``TrelloSession`` against the Trello
emulator: its read names the new board (the runtime follows it there), both boards' action
logs name the card, and a board out of the member's reach answers the read with a 401 while
the token itself still works (the runtime then unlinks the card as out of reach)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tether_connector_runtime.port import PlaceMove
from tether_connector_runtime.retry import AuthRevokedError
from tether_emulators.trello import create_trello_emulator, get_emulator
from trello_connector.client import TrelloClient
from trello_connector.session import TrelloSession

TOKEN = "a" * 64
MEMBER = "5e0000000000000000000001"


@dataclass
class World:
    control: httpx.AsyncClient  # the emulator's control API: a person in Trello
    session: TrelloSession  # Tether's view of Trello, on TOKEN
    boards: dict[str, dict[str, Any]]  # "work" and "other" (Tether's member on both), "private"
    card: str  # on "work"'s first list

    async def person_moves(self, to: str, **params: Any) -> None:
        answer = await self.control.post(
            f"/cards/{self.card}/edit", json={"idBoard": self.boards[to]["id"], **params}
        )
        assert answer.status_code == 200, answer.text


@pytest.fixture
async def world() -> AsyncIterator[World]:
    app = create_trello_emulator(tokens={TOKEN: MEMBER})
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t/_emulator"
        ) as control,
    ):
        boards = {}
        for name, members in (("work", [MEMBER]), ("other", [MEMBER]), ("private", [])):
            made = await control.post("/boards", json={"name": name, "members": members})
            boards[name] = made.json()
        made = await control.post(
            "/cards", json={"idList": boards["work"]["lists"][0]["id"], "name": "Plan"}
        )
        client = TrelloClient(http, api_url="http://t/1", key="sandbox-key", token=TOKEN)
        yield World(control, TrelloSession(client), boards, made.json()["id"])
    await get_emulator(app).aclose()


async def test_a_moved_card_reads_on_its_new_board_and_both_logs_name_it(world: World) -> None:
    work, other = world.boards["work"]["id"], world.boards["other"]["id"]
    # A card of its own on "other", so that its log has a newest action to start after.
    first = {"idList": world.boards["other"]["lists"][0]["id"], "name": "Already there"}
    assert (await world.control.post("/cards", json=first)).status_code == 200
    since_work = (await world.session.changes_since(work, None)).cursor
    since_other = (await world.session.changes_since(other, None)).cursor

    await world.person_moves("other")

    item = await world.session.read(world.card)
    assert item is not None
    assert (item.container_id, item.place_id) == (other, world.boards["other"]["lists"][0]["id"])
    # Reconciliation of either board finds the card (moveCardFromBoard, moveCardToBoard).
    for board_id, cursor in ((work, since_work), (other, since_other)):
        changes = await world.session.changes_since(board_id, cursor)
        assert [n.external_id for n in changes.notices] == [world.card], board_id

    # Tether's edits reach the card where it is now.
    updated = await world.session.update(item, {"title": "Planned"}, "link-1", None)
    assert (updated.container_id, updated.fields.title) == (other, "Planned")


async def test_a_card_out_of_the_members_reach_refuses_its_read_not_the_token(
    world: World,
) -> None:
    await world.person_moves("private")

    with pytest.raises(AuthRevokedError):
        await world.session.read(world.card)
    await world.session.check_grant()  # the token itself still works


async def test_a_moved_list_is_in_the_old_boards_log_naming_no_card(world: World) -> None:
    work, other = world.boards["work"]["id"], world.boards["other"]["id"]
    todo = world.boards["work"]["lists"][0]["id"]
    since_work = (await world.session.changes_since(work, None)).cursor

    moved = await world.control.post(f"/lists/{todo}/move", json={"value": other})
    assert moved.status_code == 200, moved.text

    changes = await world.session.changes_since(work, since_work)
    assert changes.places_moved == [PlaceMove(todo, work)]
    assert changes.notices == [], "no card action: the runtime looks at its linked cards"
    item = await world.session.read(world.card)
    assert item is not None
    assert (item.container_id, item.place_id) == (other, todo)
