"""Embedded mode: every service in one process, one ASGI entry point, the in-process bus."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tether_cli.embedded import EmbeddedSettings, embedded_system
from tether_cli.main import app as tether
from tether_events import CloudEvent, Topic, VectorClock, decode, topic_name
from tether_events.sqlitelog import SqliteLogStore


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Embedded mode keeps its SQLite files under ./.tether, like `make run` in the checkout.
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TETHER_"):
            monkeypatch.delenv(name)
    return tmp_path


def mint_token() -> str:
    result = CliRunner().invoke(
        tether, ["token", "create", "--tenant", "acme", "--email", "ada@example.com"]
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


async def test_task_lifecycle_through_the_one_embedded_server(in_tmp: Path) -> None:
    token = await asyncio.to_thread(mint_token)
    async with embedded_system() as system:
        seen: list[CloudEvent[Any]] = []

        async def tap(event: CloudEvent[Any]) -> None:
            seen.append(event)

        system.bus.subscribe([topic_name(Topic.TASK_CHANGED)], "test-tap", tap)
        transport = httpx.ASGITransport(app=system.app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tether", headers=headers
        ) as api:
            created = await api.post("/v1/tasks", json={"title": "Plan the week"})
            assert created.status_code == 201, created.text
            task_id = created.json()["id"]
            assert (await api.get(f"/v1/tasks/{task_id}")).json()["title"] == "Plan the week"
            patched = await api.patch(f"/v1/tasks/{task_id}", json={"completed": True})
            assert patched.json()["completed"] is True
            assert (await api.delete(f"/v1/tasks/{task_id}")).status_code == 204
            assert (await api.get(f"/v1/tasks/{task_id}")).status_code == 404
            assert (
                await api.get("/v1/tasks", headers={"Authorization": "Bearer x"})
            ).status_code == 401
            # Connector webhook routes share the port; health answers for every service.
            assert (await api.get("/healthz")).status_code == 200
            for _ in range(100):
                if len(seen) >= 3:
                    break
                await asyncio.sleep(0.05)
    assert [e.data.clock for e in seen] == [VectorClock({"core": n}) for n in (1, 2, 3)]
    assert [e.data.deleted for e in seen] == [False, False, True]


async def test_the_embedded_bus_keeps_its_log_in_the_configured_file(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = in_tmp / "elsewhere" / "bus.db"
    monkeypatch.setenv("TETHER_BUS_PATH", str(path))
    assert EmbeddedSettings().bus_path == path
    topic = topic_name(Topic.TASK_CHANGED)
    async with embedded_system() as system:
        seen = asyncio.Event()

        async def tap(event: CloudEvent[Any]) -> None:
            seen.set()

        system.bus.subscribe([topic], "test-tap", tap)
        token = await asyncio.to_thread(mint_token)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=system.app),
            base_url="http://tether",
            headers={"Authorization": f"Bearer {token}"},
        ) as api:
            created = await api.post("/v1/tasks", json={"title": "Survive a restart"})
            assert created.status_code == 201, created.text
        await asyncio.wait_for(seen.wait(), 30)
    # After the process, the file still holds the event and the tap's commit.
    store = SqliteLogStore(path)
    try:
        [raw] = await store.read(topic, 0, 10)
        assert await store.committed(topic, "test-tap") == 1
    finally:
        await store.close()
    assert decode(raw).data.title == "Survive a restart"


def test_config_command_lists_every_setting() -> None:
    result = CliRunner().invoke(tether, ["config"])
    assert result.exit_code == 0, result.output
    for env in (
        "TETHER_GATEWAY_DATABASE_URL",
        "TETHER_TASK_CORE_DATABASE_URL",
        "TETHER_TRELLO_API_URL",
        "TETHER_PORT",
        "TETHER_SANDBOX_EMULATOR_PORT",
    ):
        assert f"`{env}`" in result.stdout


def test_config_lists_every_settings_class_a_command_reads() -> None:
    # A settings class nobody lists is a setting no one can find: every concrete one (a leaf
    # of the BaseSettings tree in Tether's packages, not a test's own) must be in
    # ``tether config``.
    import inspect

    from pydantic_settings import BaseSettings

    import tether_cli.sandbox  # noqa: F401  (its settings class must be imported to be seen)
    from tether_cli.configdoc import SETTINGS

    def leaves(cls: type[BaseSettings]) -> set[type[BaseSettings]]:
        below = cls.__subclasses__()
        if not below:
            return {cls}
        return set().union(*(leaves(sub) for sub in below))

    ours = {
        c
        for c in leaves(BaseSettings)
        if not c.__module__.startswith("pydantic") and "/src/" in inspect.getfile(c)
    }
    listed = {settings for _, settings in SETTINGS}
    assert ours - listed == set(), "add these to tether_cli.configdoc.SETTINGS"
    assert listed <= ours  # the walk does see Tether's own classes


def test_readme_configuration_table_matches_the_code() -> None:
    from tether_cli.configdoc import markdown_table

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    start = readme.index("<!-- config-table:start -->") + len("<!-- config-table:start -->")
    end = readme.index("<!-- config-table:end -->")
    assert readme[start:end].strip() == markdown_table().strip(), (
        "README's configuration table is stale: paste the output of `tether config`"
    )


async def test_ctrl_c_stops_make_run_cleanly(in_tmp: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tether_cli",
        "run",
        env={**os.environ, "TETHER_PORT": str(port)},
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    seen: list[bytes] = []
    # The banner (on stderr, with the logs) is printed once the server accepts connections.
    async with asyncio.timeout(120):
        while b"Tether is running" not in (line := await process.stderr.readline()):
            assert line, b"".join(seen).decode()
            seen.append(line)
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    process.send_signal(signal.SIGINT)
    rest = await process.stderr.read()
    code = await asyncio.wait_for(process.wait(), 60)
    errors = (b"".join(seen) + rest).decode()
    assert code in (0, 130), errors
    assert "Traceback" not in errors, errors
