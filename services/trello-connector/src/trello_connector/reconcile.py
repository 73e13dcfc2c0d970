"""Repairing missed webhooks: poll each board's actions since the last one seen.

Trello promises neither delivery nor order, and a webhook can be down for hours. Every
``reconcile_interval`` each board holding linked cards is asked for the card actions since our
cursor; every card they mention is observed (read, mapped, compared with its base) exactly as
a webhook would have made us do, so a repaired change is indistinguishable from a delivered
one, and a change a webhook did deliver is an echo the second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from tether_common.db import transaction
from trello_connector.state import TrelloState

log = structlog.get_logger(__name__)


async def reconcile_once(state: TrelloState) -> int:
    """One pass over every board with linked cards; returns how many cards were observed."""
    async with transaction(state.sessions) as session:
        links = await state.repo.active_links(session)
    by_board: dict[tuple[str, str], set[str]] = {}
    for link in links:
        if link.external_id:
            by_board.setdefault((link.connection_id, link.container_id), set()).add(
                link.external_id
            )
    observed = 0
    for (connection_id, board_id), linked_cards in by_board.items():
        async with transaction(state.sessions) as session:
            cursor = await state.repo.cursor(session, board_id)
            client = await state.sync.client_for(session, connection_id)
        actions = await client.board_actions(board_id, since=cursor)
        if cursor is None:
            cards = linked_cards  # no history yet: look at every linked card once
        else:
            cards = {
                str(a["data"]["card"]["id"]) for a in actions if "card" in a.get("data", {})
            } & linked_cards
        for card_id in sorted(cards):
            await state.sync.observe(card_id)
            observed += 1
        if actions:
            async with transaction(state.sessions) as session:
                # Actions come newest first; the next poll starts after the newest.
                await state.repo.save_cursor(session, board_id, str(actions[0]["id"]))
    return observed


async def reconcile_forever(
    state: TrelloState, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> None:
    while True:
        await sleep(state.settings.reconcile_interval)
        try:
            count = await reconcile_once(state)
            if count:
                log.info("trello_reconciled", cards=count)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A provider outage must not end the loop: the next pass retries from the cursor.
            log.exception("trello_reconcile_failed")
