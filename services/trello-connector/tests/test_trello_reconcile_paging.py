"""Polling a board's actions after a webhook outage (``TrelloSession.changes_since``) against
the Trello emulator: it pages back to the cursor, whatever happened in between, one notice per
card, and says so when it cannot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tether_connector_runtime.retry import AuthRevokedError
from tether_emulators.trello import TrelloEmulator, create_trello_emulator, get_emulator
from tether_emulators.trello.testing import ManualClock
from trello_connector.client import TrelloClient
from trello_connector.session import TrelloSession

TOKEN = "a" * 64
MEMBER = "5e0000000000000000000001"


@dataclass
class Board:
    emulator: TrelloEmulator
    control: httpx.AsyncClient  # the emulator's control API
    session: TrelloSession  # Tether's view of Trello, on TOKEN
    http: httpx.AsyncClient
    clock: ManualClock
    board_id: str
    cards: list[str]  # "a" and "b", on the board's first list
    sent: list[httpx.Request]  # every request Tether's client sent

    def with_pages(self, size: int, pages: int) -> TrelloSession:
        client = TrelloClient(
            self.http, api_url="http://trello.test/1", key="sandbox-key", token=TOKEN
        )
        return TrelloSession(client, actions_page=size, actions_pages=pages)

    def edit(self, card_id: str, **params: Any) -> None:
        """A person edits the card (the action is recorded; no webhook is registered)."""
        emu = self.emulator
        emu.update_card(emu.person, emu.store.card(card_id), params)

    async def newest_action(self) -> str:
        cursor = (await self.session.changes_since(self.board_id, None)).cursor
        assert cursor is not None
        return cursor

    def action_reads(self) -> list[dict[str, str]]:
        """The query of each board actions request sent, in order."""
        return [dict(r.url.params) for r in self.sent if r.url.path.endswith("/actions")]

    def newest_first(self, count: int) -> list[str]:
        """The ids of the board's ``count`` newest actions, newest first."""
        return [a.id for a in reversed(self.emulator.store.actions)][:count]


@pytest.fixture
async def board() -> AsyncIterator[Board]:
    clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    app = create_trello_emulator(tokens={TOKEN: MEMBER}, wall_clock=clock.now)
    emulator = get_emulator(app)
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://trello.test",
            event_hooks={"request": [record]},
        ) as http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://trello.test/_emulator"
        ) as control,
    ):
        made = await control.post("/boards", json={"name": "Work", "members": [MEMBER]})
        created = made.json()
        todo = created["lists"][0]["id"]
        cards = [
            (await control.post("/cards", json={"idList": todo, "name": name})).json()["id"]
            for name in ("a", "b")
        ]
        client = TrelloClient(http, api_url="http://trello.test/1", key="sandbox-key", token=TOKEN)
        session = TrelloSession(client)
        yield Board(emulator, control, session, http, clock, created["id"], cards, sent)
    await emulator.aclose()


async def test_a_rename_followed_by_more_than_a_page_of_actions_is_found(board: Board) -> None:
    a, b = board.cards
    cursor = await board.newest_action()
    board.clock.advance(60)
    board.edit(a, name="Renamed during the outage")
    board.clock.advance(60)
    for n in range(1001):  # a busy board: more than one page of other card actions
        board.edit(b, name=f"b{n}")
    changes = await board.session.changes_since(board.board_id, cursor)
    assert changes.complete
    by_card = {n.external_id: n for n in changes.notices}
    assert by_card[a].field_values == {"title": "Renamed during the outage"}
    assert by_card[a].field_edited_at == {"title": datetime(2026, 3, 1, 9, 1, tzinfo=UTC)}
    # The next poll starts after the newest action, and finds nothing new.
    assert changes.cursor == await board.newest_action()
    again = await board.session.changes_since(board.board_id, changes.cursor)
    assert (again.notices, again.cursor, again.complete) == ([], changes.cursor, True)


async def test_each_card_is_named_once_by_its_newest_actions(board: Board) -> None:
    a, b = board.cards
    cursor = await board.newest_action()
    for n in range(3):
        board.clock.advance(60)
        board.edit(a, name=f"a{n}")
    board.edit(b, desc="Notes")
    board.clock.advance(60)
    board.edit(a, desc="Agenda")
    changes = await board.session.changes_since(board.board_id, cursor)
    assert [n.external_id for n in changes.notices] == [a, b]  # one read per card
    (notice_a, notice_b) = changes.notices
    assert notice_a.field_edited_at == {
        "description": datetime(2026, 3, 1, 9, 4, tzinfo=UTC),
        "title": datetime(2026, 3, 1, 9, 3, tzinfo=UTC),
    }
    assert notice_a.field_values == {"description": "Agenda", "title": "a2"}
    assert notice_b.field_values == {"description": "Notes"}
    # The older renames stay known, newest first: one may be an edit a write overwrote.
    assert notice_a.earlier == {
        "title": (
            ("a1", datetime(2026, 3, 1, 9, 2, tzinfo=UTC)),
            ("a0", datetime(2026, 3, 1, 9, 1, tzinfo=UTC)),
        )
    }
    assert notice_b.earlier == {}


async def test_a_write_unread_is_one_put_answered_with_its_own_time(board: Board) -> None:
    a, _ = board.cards
    board.clock.advance(60)
    sent = len(board.sent)
    written = await board.session.write_unread(a, {"title": "Renamed"}, "link-1")
    assert [(r.method, r.url.path) for r in board.sent[sent:]] == [("PUT", f"/1/cards/{a}")]
    assert written.fields.title == "Renamed"
    assert written.edited_at == datetime(2026, 3, 1, 9, 1, tzinfo=UTC), "the write's own time"


async def test_pages_that_cannot_reach_the_cursor_say_the_answer_is_incomplete(
    board: Board,
) -> None:
    a, _ = board.cards
    cursor = await board.newest_action()
    for n in range(25):
        board.edit(a, name=f"a{n}")
    changes = await board.with_pages(10, 2).changes_since(board.board_id, cursor)
    # The runtime then reads every linked card: the cursor may move to the newest action.
    assert not changes.complete
    assert changes.cursor == await board.newest_action()
    # Exactly a page short of the cursor is complete: an empty page says it was reached.
    cursor = await board.newest_action()
    for n in range(20):
        board.edit(a, name=f"again{n}")
    assert (await board.with_pages(10, 3).changes_since(board.board_id, cursor)).complete


async def test_pages_go_back_with_before_and_without_a_cursor_one_action_is_read(
    board: Board,
) -> None:
    a, _ = board.cards
    cursor = await board.newest_action()
    for n in range(15):
        board.edit(a, name=f"a{n}")
    await board.with_pages(10, 5).changes_since(board.board_id, cursor)
    first, second, third = board.action_reads()
    assert (first["limit"], "since" in first, "before" in first) == ("1", False, False)
    assert (second["since"], second["limit"], "before" in second) == (cursor, "10", False)
    # The second page ends where the first did: before the oldest action it held.
    assert (third["since"], third["before"]) == (cursor, board.newest_first(10)[-1])
    assert "moveCardFromBoard" in first["filter"].split(",")


async def test_a_refused_token_is_an_error_not_an_empty_board(board: Board) -> None:
    cursor = await board.newest_action()
    await board.control.delete(f"/tokens/{TOKEN}")
    with pytest.raises(AuthRevokedError):
        await board.session.changes_since(board.board_id, cursor)
