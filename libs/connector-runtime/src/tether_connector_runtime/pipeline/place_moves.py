"""A place moved to another container with its items, which the provider does not name.

Trello moves a list to another board with its cards and records ``moveListFromBoard`` on the
old board and ``moveListToBoard`` on the new one: no card action, so no notice names a card,
and the cards' later actions are recorded on a board this connector may not watch. Left
alone, every link of those cards would go silent. So every linked item of the old container
is looked at (one read each; list moves are rare): an item now elsewhere moves its link,
whose new container's webhook and history are then set up (observations.py), as for an item
moved on its own. A cached placement naming the place is dropped (placements_cache.py).
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from tether_common.db import transaction
from tether_connector_runtime.pipeline import observations
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.port import ItemNotice, PlaceMove

log = structlog.get_logger(__name__)


async def place_moved(p: Pipeline, move: PlaceMove, linked: Iterable[str] | None = None) -> int:
    """Follow ``move``: the items ``linked`` (external ids), or, when None, every watched
    link's item in the old container, looked at; returns how many. Provider errors pass (a
    webhook delivery is then retried, a reconciliation tries again)."""
    p.placements.forget_place(move.place_id)
    if linked is None:
        async with transaction(p.sessions) as session:
            links = await p.repo.watched_links_in(session, move.from_container)
        linked = [link.external_id for link in links if link.external_id]
    looked = 0
    for external_id in sorted(linked):
        # Dates nothing: only the item's container (and any edit its own notice dates) is news.
        await observations.observe(p, ItemNotice(external_id))
        looked += 1
    log.info(
        "place_moved", place_id=move.place_id, from_container=move.from_container, items=looked
    )
    return looked
