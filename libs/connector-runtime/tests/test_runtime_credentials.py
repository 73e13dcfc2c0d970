"""Credentials that expire (OAuth 2 access tokens), on the real pipeline over a fake whose
tokens expire on the test's manual clock: renewed before they do, once for every opener at a
time, committed before use, a refusal breaking the connection visibly, a transient failure
retried, a crash between the provider's renewal and our commit recovered, and a token the
provider refuses early renewed once before the grant check decides."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tether_common.db import transaction
from tether_connector_runtime.pipeline import observations, retries, writes
from tether_connector_runtime.retry import AuthRevokedError, PermanentProviderError
from tether_connector_runtime.testing import (
    ManualClock,
    OAuthFakeProvider,
    PipelineRig,
    pipeline_rig,
    unavailable,
)
from tether_connector_runtime.testing.faults import no_access
from tether_connector_runtime.testing.scenarios import BOARD, exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import LinkChanged, ProviderItemChanged

HOUR = 3600.0
MARGIN = 300.0  # the setting's default


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def oauth(clock: ManualClock) -> OAuthFakeProvider:
    provider = OAuthFakeProvider("trello", clock=clock, lifetime=HOUR)
    provider.add_container(BOARD)
    return provider


@pytest.fixture
async def rig(
    oauth: OAuthFakeProvider, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[PipelineRig]:
    url = f"sqlite+aiosqlite:///{tmp_path}/connector.db"
    async with pipeline_rig(oauth, url, clock=clock) as started:
        yield started


async def stored(rig: PipelineRig, connection_id: str) -> Any:
    """The connection's row as committed (a transaction of its own)."""
    async with transaction(rig.pipeline.sessions) as session:
        return await rig.pipeline.repo.connection(session, connection_id)


def secret_of(rig: PipelineRig, row: Any) -> str:
    return rig.pipeline.connections.decrypt(row.token_encrypted)


async def open_session(rig: PipelineRig, connection_id: str) -> Any:
    async with transaction(rig.pipeline.sessions) as session:
        row, _ = await rig.pipeline.connections.opened(session, connection_id)
    return row


async def test_a_token_is_renewed_once_it_expires_within_the_margin_and_not_before(
    rig: PipelineRig, oauth: OAuthFakeProvider, clock: ManualClock
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    assert (await stored(rig, connection_id)).expires_at == clock.now + timedelta(seconds=HOUR)

    clock.advance(HOUR - MARGIN - 1)
    await open_session(rig, connection_id)
    assert oauth.calls["refresh"] == 0

    clock.advance(2)
    row = await open_session(rig, connection_id)
    assert oauth.refreshed == ["grant-tok-a:0"]
    assert secret_of(rig, row) == "grant-tok-a:1"
    assert row.expires_at == clock.now + timedelta(seconds=HOUR)
    assert secret_of(rig, await stored(rig, connection_id)) == "grant-tok-a:1"


async def test_the_renewed_token_is_committed_before_the_provider_sees_it(
    rig: PipelineRig, oauth: OAuthFakeProvider, clock: ManualClock
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    connection_id = (await rig.link("link-1")).connection_id
    clock.advance(HOUR)  # expired
    held = oauth.hold("read")
    observing = asyncio.create_task(
        observations.observe(rig.pipeline, oauth.edit(item_id, title="Edited"))
    )
    await held.wait_reached()
    # The read runs inside the observation's transaction; what it uses is committed already.
    assert secret_of(rig, await stored(rig, connection_id)) == "grant-tok-a:1"
    held.release()
    await observing
    await rig.relay()
    assert [e.new_values.get("title") for e in rig.events(ProviderItemChanged)] == ["Edited"]


async def test_many_openers_at_once_make_one_renewal(
    rig: PipelineRig, oauth: OAuthFakeProvider, clock: ManualClock
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    clock.advance(HOUR - 10)
    held, second = oauth.hold("refresh"), oauth.hold("refresh")
    openers = [asyncio.create_task(open_session(rig, connection_id)) for _ in range(5)]
    await held.wait_reached()
    renewer = rig.pipeline.connections.renewer
    assert renewer is not None
    # Every other opener read the expiring row and queues behind the one renewing, unless
    # one of them reaches the provider too (the second hold stops it there).
    queued = asyncio.create_task(renewer.locks.until_waiting(connection_id, 4))
    also_renewing = asyncio.create_task(second.wait_reached())
    await asyncio.wait([queued, also_renewing], return_when=asyncio.FIRST_COMPLETED)
    for waiting in (queued, also_renewing):
        waiting.cancel()
    held.release()
    second.release()
    oauth.cancel(second)
    rows = await asyncio.gather(*openers)

    assert oauth.calls["refresh"] == 1
    assert {secret_of(rig, row) for row in rows} == {"grant-tok-a:1"}


async def test_a_refused_renewal_breaks_the_connection_and_pauses_its_links(
    rig: PipelineRig, oauth: OAuthFakeProvider, clock: ManualClock
) -> None:
    await exported(rig, state(1, {"core": 1}))
    connection_id = (await rig.link("link-1")).connection_id
    oauth.revoked_grants.add("grant-tok-a")  # the person revoked the app meanwhile
    clock.advance(HOUR - 10)
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    await rig.relay()

    row = await stored(rig, connection_id)
    assert row.status == "broken"
    assert "could not be renewed" in row.error
    paused = [e for e in rig.events(LinkChanged) if e.status == "paused"]
    assert [(e.link_id, e.reason) for e in paused] == [("link-1", "connection_broken")]
    assert oauth.calls["refresh"] == 1
    assert oauth.calls["update"] == 0
    assert (await rig.link("link-1")).parked is not None  # the edit waits for a reconnect


async def test_a_renewal_refused_in_other_words_breaks_the_connection_too(
    rig: PipelineRig, oauth: OAuthFakeProvider, clock: ManualClock
) -> None:
    """A refusal that is no 401 (an OAuth ``invalid_request``, a 400 the provider will answer
    again) cannot cure itself either: the connection breaks visibly, nothing stalls in
    silence."""
    await exported(rig, state(1, {"core": 1}))
    connection_id = (await rig.link("link-1")).connection_id
    clock.advance(HOUR)
    oauth.fail_next(
        "refresh",
        error=lambda: PermanentProviderError("invalid_request: redirect_uri", status=400),
    )
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    await rig.relay()

    row = await stored(rig, connection_id)
    assert row.status == "broken"
    assert "invalid_request: redirect_uri" in row.error
    assert (await rig.link("link-1")).parked is not None  # the edit waits for a reconnect
    assert oauth.calls["update"] == 0


async def test_a_renewal_failing_for_now_is_retried_and_breaks_nothing(
    rig: PipelineRig, oauth: OAuthFakeProvider, clock: ManualClock
) -> None:
    await exported(rig, state(1, {"core": 1}))
    connection_id = (await rig.link("link-1")).connection_id
    clock.advance(HOUR)  # expired: the old token is no use
    oauth.fail_next("refresh", error=unavailable)
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    assert (await rig.link("link-1")).parked is not None
    assert (await stored(rig, connection_id)).status == "active"

    clock.advance(60)
    assert await retries.retry_due(rig.pipeline) == 1
    assert oauth.calls["refresh"] == 2
    assert [u.changes.get("title") for u in oauth.updates] == ["v2"]


async def test_a_token_still_valid_is_used_when_its_early_renewal_fails_for_now(
    rig: PipelineRig, oauth: OAuthFakeProvider, clock: ManualClock
) -> None:
    await exported(rig, state(1, {"core": 1}))
    clock.advance(HOUR - 10)  # within the margin, not expired
    oauth.fail_next("refresh", error=unavailable)
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    assert [u.changes.get("title") for u in oauth.updates] == ["v2"]
    assert (await rig.link("link-1")).parked is None


class Crash(Exception):
    """The process dies here (a test's model of kill -9)."""


async def test_a_crash_after_the_providers_renewal_before_our_commit_recovers(
    rig: PipelineRig, oauth: OAuthFakeProvider, clock: ManualClock
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    clock.advance(HOUR)
    oauth.fail_next("refresh", after_effect=True, error=Crash)
    with pytest.raises(Crash):
        await open_session(rig, connection_id)
    assert secret_of(rig, await stored(rig, connection_id)) == "grant-tok-a:0"

    rig.restart()
    row = await open_session(rig, connection_id)
    # The old secret is offered again: a provider whose refresh tokens last takes it.
    assert oauth.refreshed == ["grant-tok-a:0", "grant-tok-a:0"]
    assert secret_of(rig, row) == "grant-tok-a:2"
    assert row.status == "active"


async def test_with_rotating_tokens_the_same_crash_asks_for_a_reconnect_visibly(
    rig: PipelineRig, oauth: OAuthFakeProvider, clock: ManualClock
) -> None:
    oauth.rotating = True  # and no leeway for the old one: the chain is revoked
    connection_id = await rig.connect("acme", "tok-a")
    clock.advance(HOUR)
    oauth.fail_next("refresh", after_effect=True, error=Crash)
    with pytest.raises(Crash):
        await open_session(rig, connection_id)

    rig.restart()
    with pytest.raises(AuthRevokedError):
        await open_session(rig, connection_id)
    assert (await stored(rig, connection_id)).status == "broken"


async def test_a_token_refused_before_its_expiry_is_renewed_once_and_the_call_retried(
    rig: PipelineRig, oauth: OAuthFakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    oauth.expire("grant-tok-a:0")  # the provider stops taking it early
    await observations.observe(rig.pipeline, oauth.edit(item_id, title="Edited"))
    await rig.relay()

    assert oauth.refreshed == ["grant-tok-a:0"]
    assert [e.new_values.get("title") for e in rig.events(ProviderItemChanged)] == ["Edited"]
    link = await rig.link("link-1")
    assert (await stored(rig, link.connection_id)).status == "active"


async def test_a_refusal_renewal_does_not_cure_goes_to_the_grant_check(
    rig: PipelineRig, oauth: OAuthFakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    # The item itself is out of the account's reach: renewed or not, it is refused.
    oauth.fail_next("read", times=2, error=no_access)
    await observations.observe(rig.pipeline, oauth.edit(item_id, title="Edited"))
    await rig.relay()

    assert oauth.calls["refresh"] == 1
    assert oauth.calls["read"] == 2
    assert oauth.calls["check_grant"] == 1
    link = await rig.link("link-1")
    assert link.status == "unlinked"
    assert (await stored(rig, link.connection_id)).status == "active"


async def test_a_secret_that_does_not_expire_is_never_renewed_on_a_refusal(
    rig: PipelineRig, oauth: OAuthFakeProvider
) -> None:
    oauth.lifetime = None  # a personal access token: nothing to renew it with
    item_id = await exported(rig, state(1, {"core": 1}))
    oauth.fail_next("read", error=no_access)
    await observations.observe(rig.pipeline, oauth.edit(item_id, title="Edited"))

    assert oauth.calls["refresh"] == 0
    assert oauth.calls["check_grant"] == 1
    link = await rig.link("link-1")
    assert link.status == "unlinked"
    assert (await stored(rig, link.connection_id)).status == "active"
