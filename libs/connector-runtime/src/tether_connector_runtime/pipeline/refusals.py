"""Writes a provider refuses for good, recorded on a link that keeps syncing.

A provider may refuse one write of a link and take the next: Jira's workflow offers no way to
a done status (``WorkflowUnreachable``), a value the provider will not hold (a 400 that will
recur). Trying the same call again cannot help, and dead-lettering the task change (or failing
the link) would stop every later edit of the task reaching the item, silently, for one
field's sake. So the refusal is recorded on the link, which stays ``active``: ``last_error``
holds the provider's words and core is told (``LinkChanged`` active, with ``error``), once
per refusal that says something new.

What was refused was not written, and the link must not claim it was (the runtime assumes an
``update`` that raises wrote nothing it can count on):

- The base (``synced_fields``) and ``synced_clock`` stay as they were. Had the base taken the
  refused values, the next look at the item (a webhook, reconciliation) would find the item's
  old value differing from it and publish that as a person's edit, based on the refused
  value: core, still holding that value, would take the edit (``merge_provider_change``: the
  core value equals the base) and its own edit would be lost. Had the clock moved on, the same
  state sent again (redelivered; re-sent by core) would be skipped as already reflected. As it
  is, the next task change is diffed against the old base, so the refused value is offered
  again with it (and written once the provider takes it), and a person's edit of another field
  is published against the base the item really holds.
- The write's intent stays recorded. A provider may have taken part of the call before it
  refused (Jira edits the fields, then refuses the transition): the next look at the item
  takes each field it holds at the written value for our write, not a person's edit, and the
  base takes it (``settling.settled_base``); the refused rest stays out of the base.

The refusal stands until the link's base catches up with what the task asks: a later write
succeeds (an empty one too: the task no longer asks for what was refused), or an observation
finds the whole write on the item (a person put it there). Then ``last_error`` is cleared and
core told once (``active``, no error). A refusal is an outcome of writing: what stops writes
(a pause, an unlink, an archive) forgets it, and the next write after them records it again if
the provider still refuses.
"""

from __future__ import annotations

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from tether_common.db import transaction
from tether_connector_runtime.pipeline import announce
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.retry import AuthRevokedError, PermanentProviderError
from tether_connector_runtime.store.repository import StoredLink

log = structlog.get_logger(__name__)

REFUSED = Counter(
    "tether_connector_write_refusals_total",
    "Writes a provider refused for good, recorded on their link (which stays active)",
    ["provider"],
)


def is_refusal(exc: BaseException) -> bool:
    """A write refused for good. A 401 is not one: the credentials, or the item's reach, are
    in question, and parking.py asks which."""
    return isinstance(exc, PermanentProviderError) and not isinstance(exc, AuthRevokedError)


def words_of(exc: BaseException) -> str:
    """The provider's words as the link shows them."""
    return (str(exc) or type(exc).__name__)[:2000]


async def record(p: Pipeline, link_id: str, exc: BaseException) -> None:
    """The provider refused the link's write for good (caller holds the link's turn): its words
    on the link, which stays active; parked work ends (it was this write). Core is told when
    the link was parked (it shows ``retrying``) or the words are new: a state sent again and
    refused again in the same words says nothing new."""
    error = words_of(exc)
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None or link.status != "active":
            # Archiving (its task was deleted) or gone meanwhile: the write no longer matters.
            log.info("write_refused_after_link_left", link_id=link_id, error=error)
            return
        news = link.parked is not None or link.refusal != error
        await p.repo.record_refusal(session, link_id, error)
        if news:
            await announce.link_changed(p, session, link, "active", error=error)
    p.outbox.committed()
    REFUSED.labels(p.provider).inc()
    log.warning("write_refused", link_id=link_id, error=error)


async def clear(p: Pipeline, session: AsyncSession, link: StoredLink) -> bool:
    """The link's base caught up with what the task asks (in the caller's transaction, ``link``
    as read in it): a standing refusal is cleared and core told, once. True when it was (the
    caller rings the outbox after its commit)."""
    if link.refusal is None:
        return False
    await p.repo.clear_refusal(session, link.link_id)
    await announce.link_changed(p, session, link, "active")
    log.info("write_refusal_cleared", link_id=link.link_id)
    return True
