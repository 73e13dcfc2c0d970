"""The token commands: scripts capture the token from stdout, people read stderr."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api_gateway.auth.models import utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import Principal, authenticate
from api_gateway.cli import cli, token_app
from tether_common.db import create_engine, session_factory, transaction
from tether_common.errors import Unauthorized

runner = CliRunner()


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "nested" / "gateway.db"
    # The CLI reads its settings from the environment, like in production.
    monkeypatch.setenv("TETHER_GATEWAY_DATABASE_URL", f"sqlite:///{path}")
    return path


def who(path: Path, token: str) -> Principal:
    async def check() -> Principal:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with transaction(session_factory(engine)) as session:
                return await authenticate(AuthRepository(session), token, now=utcnow())
        finally:
            await engine.dispose()

    return asyncio.run(check())


def create(tenant: str, email: str) -> str:
    result = runner.invoke(token_app, ["create", "--tenant", tenant, "--email", email])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_create_prints_only_the_token_on_stdout(database_file: Path) -> None:
    result = runner.invoke(token_app, ["create", "--tenant", "acme", "--email", "ann@acme.test"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert token.startswith("tth_")
    assert f"revoke --prefix {token[:12]}" in result.stderr
    assert token not in result.stderr
    principal = who(database_file, token)
    assert (principal.tenant_name, principal.email) == ("acme", "ann@acme.test")


def test_create_reuses_the_tenant_and_user(database_file: Path) -> None:
    first = create("acme", "ann@acme.test").strip()
    second = create("acme", "ann@acme.test").strip()
    third = create("acme", "bob@acme.test").strip()

    a, b, c = (who(database_file, t) for t in (first, second, third))
    assert a.user_id == b.user_id
    assert a.tenant_id == b.tenant_id == c.tenant_id
    assert c.user_id != a.user_id


def test_revoke_by_prefix(database_file: Path) -> None:
    token = create("acme", "ann@acme.test").strip()

    result = runner.invoke(token_app, ["revoke", "--prefix", token[:12]])

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    with pytest.raises(Unauthorized):
        who(database_file, token)
    again = runner.invoke(token_app, ["revoke", "--prefix", token[:12]])
    assert again.exit_code == 1
    assert "no active token" in again.stderr


def test_list_shows_prefixes_never_tokens(database_file: Path) -> None:
    token = create("acme", "ann@acme.test").strip()
    runner.invoke(token_app, ["revoke", "--prefix", token[:12]])
    create("acme", "bob@acme.test")

    result = runner.invoke(token_app, ["list", "--tenant", "acme"])

    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(r[0] == token[:12], r[1], r[4]) for r in rows] == [
        (True, "ann@acme.test", "revoked"),
        (False, "bob@acme.test", "active"),
    ]
    assert token not in result.stdout


def test_bad_input_fails_with_a_message_on_stderr(database_file: Path) -> None:
    result = runner.invoke(token_app, ["create", "--tenant", "acme", "--email", "nobody"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "not an email address" in result.stderr


def test_migrate_command(database_file: Path) -> None:
    result = runner.invoke(cli, ["migrate"])
    assert result.exit_code == 0, result.output
    assert database_file.exists()


def test_python_m_api_gateway_keeps_stdout_for_the_token(database_file: Path) -> None:
    # The real entry point configures logging and migrates first; none of that may reach stdout.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "api_gateway",
            "token",
            "create",
            "--tenant",
            "acme",
            "--email",
            "ann@acme.test",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TETHER_GATEWAY_LOG_LEVEL": "DEBUG"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    token = result.stdout.strip()
    assert who(database_file, token).email == "ann@acme.test"
    assert "python -m api_gateway token revoke --prefix" in result.stderr
