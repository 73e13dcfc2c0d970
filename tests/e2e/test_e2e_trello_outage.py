"""One tenant's Trello board failing (503) holds up no one else (ARCHITECTURE.md: no head-of-line
blocking), and that tenant's work is applied, newest state, once the board is back.

Two tenants on one deployment, each with its own Trello member, token, board and connection.
The emulator fails every request concerning tenant A's board (/_emulator/outages). While it
does, tenant B's export and edit reach B's board, and A's links say `retrying` with their
error and next attempt; when the outage ends, A's export makes exactly one card and A's cards
carry the last edits made while they waited. An outage longer than the retry limit fails the
links visibly, and exporting again after it resumes them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# Generous: under load the services may be slow, and a condition that holds is met at once.
WITHIN = 90.0


# Quick retries, so the parked work is applied soon after the board is back.
QUICK_RETRIES = {
    "TETHER_TRELLO_RETRY_BASE_DELAY": "0.2",
    "TETHER_TRELLO_RETRY_MAX_DELAY": "1",
    "TETHER_TRELLO_RETRY_POLL_INTERVAL": "0.2",
}


@pytest.fixture
def trello_env_overrides() -> dict[str, str]:
    return dict(QUICK_RETRIES)


async def test_a_failing_board_holds_up_no_other_tenant_and_catches_up_after(
    trello_world: TrelloWorld, second_trello_tenant: TrelloWorld
) -> None:
    a, b = trello_world, second_trello_tenant
    a_old, a_old_card = await a.export_new_task(title="A: exported before")
    b_old, b_old_card = await b.export_new_task(title="B: exported before")

    started = await a.trello.post(
        "/_emulator/outages", json={"board_id": a.board_id, "status": 503}
    )
    assert started.status_code == 200, started.text

    a_new = await _request_export(a, "A: exported during the outage")
    await _edit(a, a_old, title="A: first edit")
    b_new = await _request_export(b, "B: exported during A's outage")
    await _edit(b, b_old, title="B: edited during A's outage")

    # While A's board still fails, B's work flows: one new card, and the edit on its card.
    b_link = await eventually(_link_in(b, b_new, "active"), within=WITHIN, what="B's export")
    b_cards = await b.board_cards()
    assert [c["name"] for c in b_cards if c["name"] == "B: exported during A's outage"] == [
        "B: exported during A's outage"
    ]
    b_new_card = next(c["id"] for c in b_cards if c["name"] == "B: exported during A's outage")
    assert b_link["external_id"] == b_new_card
    await eventually(
        _card_named(b, b_old_card, "B: edited during A's outage"), within=WITHIN, what="B's edit"
    )

    # A's export and A's edit wait on their links, visibly.
    for task_id in (a_new, a_old):
        link = await eventually(
            _link_in(a, task_id, "retrying"), within=WITHIN, what="A's link retrying"
        )
        assert "503" in str(link["error"]), link
        assert link["next_attempt_at"] is not None, link
    # More edits while parked: the newest state replaces the parked one, and an edit of the
    # task whose export waits is applied once its card exists.
    await _edit(a, a_old, title="A: last edit", description="Agenda (last)")
    await _edit(a, a_new, title="A: renamed while its export waits")

    # A's work keeps being retried (and refused) while parked: its export's first call and
    # its edit's read before writing, each again and again.
    async def retried_while_out() -> Any:
        log = (await a.trello.get("/_emulator/requests")).json()
        refused = [(e["method"], e["path"]) for e in log if e["status"] == 503]
        reads = refused.count(("GET", f"/1/cards/{a_old_card}"))
        places = refused.count(("GET", f"/1/lists/{a.list_id}"))
        return log if reads >= 3 and places >= 3 else None

    log = await eventually(retried_while_out, within=WITHIN, what="A's work retried")
    # The outage is still on, and only A met it: B's calls were never refused.
    assert (await a.trello.get("/_emulator/outages")).json() == [
        {"board_id": a.board_id, "status": 503}
    ]
    b_ids = (b.board_id, b.list_id, b_old_card, b_new_card)
    assert not [e for e in log if e["status"] >= 500 and any(i in e["path"] for i in b_ids)]
    assert [(c["id"], c["name"]) for c in await a.board_cards()] == [
        (a_old_card, "A: exported before")
    ]

    assert (await a.trello.delete("/_emulator/outages")).json() == {"ended": 1}

    # A catches up: exactly one card for its export, and the last edit on its edited card.
    a_link = await eventually(_link_in(a, a_new, "active"), within=WITHIN, what="A's export")

    async def last_edit_on_card() -> Any:
        card = next((c for c in await a.board_cards() if c["id"] == a_old_card), {})
        desc = str(card.get("desc", ""))
        return (
            card
            if card.get("name") == "A: last edit" and desc.startswith("Agenda (last)")
            else None
        )

    await eventually(last_edit_on_card, within=WITHIN, what="A's last edit on its card")
    await eventually(
        _card_named(a, a_link["external_id"], "A: renamed while its export waits"),
        within=WITHIN,
        what="the edit of A's waiting export on its card",
    )
    await eventually(_link_in(a, a_old, "active"), within=WITHIN, what="A's edited link active")
    a_cards = await a.board_cards()
    assert sorted(c["id"] for c in a_cards) == sorted([a_old_card, a_link["external_id"]])
    task = await a.task(a_old)
    assert (task["title"], task["description"]) == ("A: last edit", "Agenda (last)")


class TestAnOutageLongerThanTheRetryLimit:
    """Links whose work is given up say `failed`; exporting again once the board is back
    resumes them ("failed (given up: export again to retry)", LinkOut)."""

    @pytest.fixture
    def trello_env_overrides(self) -> dict[str, str]:
        return {**QUICK_RETRIES, "TETHER_TRELLO_RETRY_LIMIT": "3"}

    async def test_links_fail_visibly_and_exporting_again_resumes_them(
        self, trello_world: TrelloWorld
    ) -> None:
        a = trello_world
        edited, edited_card = await a.export_new_task(title="Exported before")
        started = await a.trello.post(
            "/_emulator/outages", json={"board_id": a.board_id, "status": 503}
        )
        assert started.status_code == 200, started.text
        waiting = await _request_export(a, "Exported during the outage")
        await _edit(a, edited, title="Edited during the outage")

        links: dict[str, str] = {}
        for task_id in (waiting, edited):
            link = await eventually(
                _link_in(a, task_id, "failed"), within=WITHIN, what="the link to give up"
            )
            assert "gave up" in str(link["error"]), link
            assert "503" in str(link["error"]), link
            links[task_id] = link["id"]
        assert (await a.trello.delete("/_emulator/outages")).json() == {"ended": 1}

        for task_id in (waiting, edited):
            again = await _export(a, task_id)
            assert again == links[task_id]  # the same link, whose id marks its card
        created = await eventually(
            _link_in(a, waiting, "active"), within=WITHIN, what="the export made again"
        )
        await eventually(
            _card_named(a, edited_card, "Edited during the outage"),
            within=WITHIN,
            what="the given-up edit on its card",
        )
        resumed = await eventually(
            _link_in(a, edited, "active"), within=WITHIN, what="the edited link resumed"
        )
        assert resumed["external_id"] == edited_card
        cards = await a.board_cards()
        assert sorted(c["id"] for c in cards) == sorted([edited_card, created["external_id"]])
        assert [c["name"] for c in cards if c["id"] == created["external_id"]] == [
            "Exported during the outage"
        ]


async def _request_export(world: TrelloWorld, title: str) -> str:
    """Create a task and ask for its export to the world's first list; returns the task id."""
    created = await world.api.post("/v1/tasks", json={"title": title})
    assert created.status_code == 201, created.text
    task_id = str(created.json()["id"])
    await _export(world, task_id)
    return task_id


async def _export(world: TrelloWorld, task_id: str) -> str:
    """Ask for the task's export to the world's first list; returns the link id."""
    exported = await world.api.post(
        f"/v1/tasks/{task_id}/exports",
        json={"connection_id": world.connection_id, "target": {"list_id": world.list_id}},
    )
    assert exported.status_code == 202, exported.text
    return str(exported.json()["id"])


async def _edit(world: TrelloWorld, task_id: str, **fields: Any) -> None:
    edited = await world.api.patch(f"/v1/tasks/{task_id}", json=fields)
    assert edited.status_code == 200, edited.text


def _link_in(world: TrelloWorld, task_id: str, status: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        links = await world.links(task_id)
        return links[0] if len(links) == 1 and links[0]["status"] == status else None

    return probe


def _card_named(world: TrelloWorld, card_id: str, name: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        return any(c["id"] == card_id and c["name"] == name for c in await world.board_cards())

    return probe
