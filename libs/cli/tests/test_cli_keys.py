"""``tether keys rotate``: every stored secret re-encrypted under the first key, once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tether_cli.main import app
from tether_cli.ops.keys import ENCRYPTED_COLUMNS
from tether_common.db import create_engine, session_factory, transaction
from tether_connector_runtime.secrets import TokenCipher, generate_key
from tether_connector_runtime.store.authorizations import (
    PendingAuthorization,
    PendingAuthorizations,
)
from tether_connector_runtime.store.repository import ConnectorRepository
from tether_connector_runtime.store.tables import connector_tables
from tether_connector_runtime.testing.rig import TEST_TOKEN_KEY

runner = CliRunner()
KEY_B = generate_key()


def stored_secrets(url: str) -> dict[str, str]:
    """Every ciphertext in the Trello connector's tables, by table/row."""

    async def read() -> dict[str, str]:
        tables, engine = connector_tables("trello"), create_engine(url)
        found: dict[str, str] = {}
        try:
            async with engine.connect() as connection:
                for name, key, column in ENCRYPTED_COLUMNS:
                    table = getattr(tables, name)
                    rows = await connection.execute(select(table.c[key], table.c[column]))
                    found.update({f"{name}/{k}": v for k, v in rows if v is not None})
        finally:
            await engine.dispose()
        return found

    return asyncio.run(read())


def add_webhook_and_authorization(url: str, connection_id: str) -> None:
    """A webhook with its own signing secret and a consent in flight, sealed under key A."""
    sealed = TokenCipher([TEST_TOKEN_KEY])

    async def add() -> None:
        tables, engine = connector_tables("trello"), create_engine(url)
        try:
            async with transaction(session_factory(engine)) as session:
                await ConnectorRepository(tables).add_webhook(
                    session,
                    id="hook-1",
                    connection_id=connection_id,
                    model_id="board-9",
                    callback_url="http://tether.test/hook",
                    secret_encrypted=sealed.encrypt("s1"),
                )
                now = datetime.now(UTC)
                await PendingAuthorizations(tables.pending_authorizations).add(
                    session,
                    PendingAuthorization(
                        state="req-1",
                        tenant_id="acme",
                        user_id="u1",
                        time_zone=None,
                        secret_encrypted=sealed.encrypt("s2"),
                        created_at=now,
                        expires_at=now + timedelta(minutes=10),
                    ),
                )
        finally:
            await engine.dispose()

    asyncio.run(add())


def test_every_encrypted_column_is_rotated() -> None:
    columns = {
        (table.name.removeprefix("trello_"), column.name)
        for table in connector_tables("trello").metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_encrypted")
    }
    assert columns == {(name, column) for name, _, column in ENCRYPTED_COLUMNS}


def test_rotation_moves_every_secret_to_the_new_key_and_a_rerun_changes_nothing(
    one_export: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_webhook_and_authorization(one_export.database_url, one_export.connection_id)
    before = stored_secrets(one_export.database_url)
    assert len(before) == 3, before
    only_b = TokenCipher([KEY_B])
    assert not any(only_b.is_current(v) for v in before.values())

    monkeypatch.setenv("TETHER_TRELLO_TOKEN_ENCRYPTION_KEY", f"{KEY_B},{TEST_TOKEN_KEY}")
    first = runner.invoke(app, ["keys", "rotate", "--json", "--batch", "2"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)[0] | {"failed": []} == {
        "provider": "trello",
        "rotated": 3,
        "current": 0,
        "undecryptable": 0,
        "failed": [],
    }
    after = stored_secrets(one_export.database_url)
    old = TokenCipher([TEST_TOKEN_KEY])
    assert {k: only_b.decrypt(v) for k, v in after.items()} == {
        k: old.decrypt(v) for k, v in before.items()
    }

    again = runner.invoke(app, ["keys", "rotate", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)[0]["rotated"] == 0
    assert json.loads(again.stdout)[0]["current"] == 3
    assert stored_secrets(one_export.database_url) == after


def test_a_secret_under_no_configured_key_is_reported_and_left(
    one_export: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = stored_secrets(one_export.database_url)
    monkeypatch.setenv("TETHER_TRELLO_TOKEN_ENCRYPTION_KEY", KEY_B)
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 1
    assert f"cannot decrypt trello_connections/{one_export.connection_id}" in result.stdout
    assert stored_secrets(one_export.database_url) == before


def test_an_unusable_key_setting_is_one_line(
    one_export: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_TRELLO_TOKEN_ENCRYPTION_KEY", "not-a-key")
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
