"""Webhooks with their own URL and secret (a dialect with ``per_webhook_url``, as Asana's), on
the connector app over a fake that calls the app back from inside its registering call: the
handshake answered while that call is open (no lock, no write transaction held across it),
the secret stored, deliveries at ``/webhooks/<provider>/<key>`` checked with it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tether_common.db import transaction
from tether_connector_runtime.pipeline import Pipeline, watching
from tether_connector_runtime.testing import HANDSHAKE_HEADER, OAuthFakeProvider
from tether_connector_runtime.testing.running_app import running_app

PROJECT = "project-a"


@dataclass
class Registration:
    """What the fake's handshake saw while the registering call was open."""

    urls: list[str] = field(default_factory=list)
    answers: list[httpx.Response] = field(default_factory=list)
    early_deliveries: list[httpx.Response] = field(default_factory=list)
    database_writable: list[bool] = field(default_factory=list)


@dataclass
class App:
    api: httpx.AsyncClient
    fake: OAuthFakeProvider
    pipeline: Pipeline
    database: Path
    seen: Registration


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    fake = OAuthFakeProvider("asana", clock=lambda: datetime.now(UTC))
    fake.add_container(PROJECT)
    async with running_app(fake, tmp_path / "asana.db") as running:
        seen = Registration()
        fake.handshake = handshake_through(running.api, fake, running.database, seen)
        yield App(running.api, fake, running.pipeline, running.database, seen)


def handshake_through(
    api: httpx.AsyncClient, fake: OAuthFakeProvider, database: Path, seen: Registration
) -> Any:
    async def handshake(url: str, secret: str) -> None:
        # As Asana does inside POST /webhooks: the handshake to the target, then (it may) a
        # first delivery before its answer has reached the caller.
        seen.urls.append(url)
        seen.database_writable.append(writable(database))
        seen.answers.append(await api.post(url, headers={HANDSHAKE_HEADER: secret}))
        body, headers = fake.webhooks.delivery("early-1", PROJECT, [], secret)
        seen.early_deliveries.append(await api.post(url, content=body, headers=headers))

    return handshake


def writable(database: Path) -> bool:
    """Whether a writer could start now: no write transaction is open on the file (asked
    without waiting: a busy database answers at once)."""
    probe = sqlite3.connect(database, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


async def registered(app: App) -> Any:
    """Connect an account, register the project's webhook; the webhook's row."""
    created = await app.api.post("/internal/v1/tenants/acme/connections", json={"token": "t"})
    assert created.status_code == 201, created.text
    connection_id = created.json()["id"]
    # The guard only turns a deadlock into a failure; nothing here waits on time.
    async with asyncio.timeout(30):
        await watching.ensure_webhook(app.pipeline, connection_id, PROJECT)
    async with transaction(app.pipeline.sessions) as session:
        return await app.pipeline.repo.webhook_for(session, connection_id, PROJECT)


async def test_the_handshake_is_answered_while_the_registering_call_is_open(app: App) -> None:
    hook = await registered(app)

    assert hook.hook_key
    assert app.seen.urls == [f"http://tether.test/webhooks/asana/{hook.hook_key}"]
    assert hook.callback_url == app.seen.urls[0]
    [answer] = app.seen.answers
    assert answer.status_code == 200
    assert answer.headers[HANDSHAKE_HEADER] == app.fake.hook_secrets[PROJECT]
    assert app.seen.database_writable == [True]
    assert hook.external_webhook_id == f"hook-{PROJECT}"


async def test_the_webhooks_secret_is_stored_encrypted(app: App) -> None:
    hook = await registered(app)
    secret = app.fake.hook_secrets[PROJECT]
    assert hook.secret_encrypted != secret
    assert app.pipeline.connections.decrypt(hook.secret_encrypted) == secret


async def test_a_delivery_before_the_registration_answered_is_asked_again(app: App) -> None:
    await registered(app)
    [early] = app.seen.early_deliveries
    assert early.status_code == 503
    assert early.json()["error"]["code"] == "webhook_registering"


async def test_a_delivery_signed_with_the_webhooks_secret_is_accepted(app: App) -> None:
    hook = await registered(app)
    body, headers = app.fake.webhooks.delivery(
        "delivery-1", PROJECT, [], app.fake.hook_secrets[PROJECT]
    )
    answer = await app.api.post(f"/webhooks/asana/{hook.hook_key}", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "accepted"


async def test_a_delivery_signed_otherwise_is_refused(app: App) -> None:
    hook = await registered(app)
    body, headers = app.fake.webhooks.delivery("delivery-1", PROJECT, [], "another secret")
    answer = await app.api.post(f"/webhooks/asana/{hook.hook_key}", content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "signature_invalid"


async def test_a_delivery_to_an_unknown_key_is_not_found(app: App) -> None:
    await registered(app)
    body, headers = app.fake.webhooks.delivery(
        "delivery-1", PROJECT, [], app.fake.hook_secrets[PROJECT]
    )
    answer = await app.api.post("/webhooks/asana/no-such-key", content=body, headers=headers)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_webhook"


async def test_a_webhook_whose_registration_failed_is_registered_again_at_the_same_url(
    app: App,
) -> None:
    app.fake.fail_next("ensure_webhook")
    failed = await registered(app)
    assert failed.external_webhook_id is None
    assert app.seen.urls == []

    async with asyncio.timeout(30):
        await watching.ensure_webhook(app.pipeline, failed.connection_id, PROJECT)
    assert app.seen.urls == [failed.callback_url]
