"""Core -> provider: a task's new state reaches each of its links' items.

Per link, in its turn: the write is planned (planning.py: decided against the base, the item
read first, the intent committed), then made, and the new base saved. A deletion archives the
item (removals.py); an item found gone unlinks. A provider failure that passes parks the
link's work (parking.py); a write the provider refuses for good is recorded on the link,
which keeps syncing (refusals.py), and the next write that goes through clears it.
"""

from __future__ import annotations

from tether_common.db import transaction
from tether_connector_runtime.pipeline import bursts, parking, refusals, removals
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.pipeline.planning import Planned, plan
from tether_connector_runtime.port import ProviderItem, UnreadWrites
from tether_connector_runtime.ratelimit import BudgetSpent, waiting_at_most
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from tether_connector_runtime.store.repository import StoredLink
from tether_events import TaskChanged
from tether_sync import ArchiveProviderCopy, after_write, overwrites

# Failures that pass: the work waits on its link and is tried again.
PASSING = (RetryableProviderError, AuthRevokedError)


async def on_task_changed(p: Pipeline, task: TaskChanged) -> None:
    async def lookup(task_id: str) -> tuple[str, ...]:
        async with transaction(p.sessions) as session:
            links = await p.repo.links_of_task(session, task_id)
        return tuple(link.link_id for link in links)

    # Each link is read again in its turn (planning.py): a cached id of a link that went away
    # since is skipped there.
    for link_id in await p.links_of_task.of(task.task_id, task.links_version, lookup):
        async with p.turns.turn(link_id):
            await attempt_write(p, link_id, task, arrived=True)


async def attempt_write(
    p: Pipeline, link_id: str, task: TaskChanged, *, arrived: bool = False
) -> bool:
    """Apply ``task`` to the link's item (caller holds the turn); False when it was parked
    (or held: its rate-limit budget has no room for longer than ``p.budget_wait``).

    ``arrived``: the state just arrived from core, so a link whose work is parked keeps it
    for the link's next attempt (planning.py) rather than writing out of turn; the retrier
    passes the parked state itself."""
    try:
        with waiting_at_most(p.budget_wait):
            outcome = await _write(p, link_id, task, arrived)
            if isinstance(outcome, ArchiveProviderCopy):
                await removals.archive(p, link_id, outcome)
            elif isinstance(outcome, StoredLink):
                await removals.unlink(p, outcome)
    except BudgetSpent as exc:
        await bursts.hold_for_budget(p, link_id, task, exc.retry_after or 0.0)
        return False
    except PASSING as exc:
        await parking.park(p, link_id, task, exc)
        return False
    return True


async def _write(
    p: Pipeline, link_id: str, task: TaskChanged, arrived: bool
) -> ArchiveProviderCopy | StoredLink | None:
    """Decide and write; returns an archive to carry out, or the link if its item is gone.

    The write is recorded on the link (its intent) and committed before the provider is
    called, and the new base after: killed in between, the next look at the item takes what
    it holds of the write for our echo, not for a person's edit (settling.settled_base).
    """
    planned = await plan(p, link_id, task, arrived=arrived)
    if not isinstance(planned, Planned):
        return planned
    try:
        answer = await _send(planned, link_id)
    except BudgetSpent:
        if planned.item is None:
            # An unread write is one call, refused before it was sent: nothing of it can be on
            # the item, so its intent goes (the next attempt need not read the item to settle
            # it). An update may be several calls (Jira: fields, then a transition).
            async with transaction(p.sessions) as session:
                await p.repo.clear_intent(session, link_id)
        raise
    except PermanentProviderError as exc:
        if not refusals.is_refusal(exc):
            raise  # a 401: the caller parks it (parking.py asks what it means)
        return await _refused(p, link_id, planned, exc)
    p.bursts.wrote(link_id, p.now())
    cleared = False
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is not None and link.state is not None:
            state = after_write(link.state, planned.decision)
            # The write's own time closes the window of what it may have overwritten.
            written = None
            if answer is not None and answer.edited_at is not None:
                names = tuple(planned.decision.changes)
                written = overwrites.written_at(link.overwrites, names, answer.edited_at)
            await p.repo.save_state(session, state, due_zone=planned.due_zone, overwrites=written)
            cleared = await refusals.clear(p, session, link)
    if cleared:
        p.outbox.committed()
    return None


async def _send(planned: Planned, link_id: str) -> ProviderItem | None:
    """The planned write made: unread (port.UnreadWrites) when planning read no item."""
    changes = planned.decision.changes
    if planned.item is None:
        assert isinstance(planned.provider, UnreadWrites)
        return await planned.provider.write_unread(planned.external_id, changes, link_id)
    return await planned.provider.update(planned.item, changes, link_id, planned.move_to)


async def _refused(
    p: Pipeline, link_id: str, planned: Planned, exc: PermanentProviderError
) -> StoredLink | None:
    """The provider refused the write for good: recorded on the link, whose base and clock
    stay as they were and whose intent stays (refusals.py says why). A 404 may mean the item
    went away since it was read, or only something the write names (a list, a section): the
    item is read again to tell, and a gone item's link is returned (to unlink)."""
    if exc.status == 404 and await planned.provider.read(planned.external_id) is None:
        async with transaction(p.sessions) as session:
            return await p.repo.link(session, link_id)
    await refusals.record(p, link_id, exc)
    return None
