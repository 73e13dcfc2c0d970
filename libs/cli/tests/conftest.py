"""Fixtures of the operator commands' tests: a Trello connector database made by the
production pipeline over the fake provider, and the environment that points the CLI at it
(only the Trello connector deployed)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tether_cli.ops import kits
from tether_connector_runtime.port import ProviderAdapter
from tether_connector_runtime.settings import ConnectorSettings
from tether_connector_runtime.testing.fake_provider import FakeProvider
from tether_connector_runtime.testing.rig import TEST_TOKEN_KEY, pipeline_rig
from tether_connector_runtime.testing.scenarios import BOARD, exported, task_state


@dataclass
class Exported:
    fake: FakeProvider
    database_url: str
    external_id: str
    connection_id: str


def point_cli_at(monkeypatch: pytest.MonkeyPatch, tmp: Path, fake: FakeProvider) -> str:
    """Environment for the CLI: Trello's database in ``tmp``, the other connectors not
    deployed, and the Trello kit's adapter replaced by ``fake``; returns the database URL."""
    url = f"sqlite+aiosqlite:///{tmp / 'trello.db'}"
    monkeypatch.chdir(tmp)
    monkeypatch.setenv("TETHER_TRELLO_DATABASE_URL", url)
    monkeypatch.setenv("TETHER_TRELLO_TOKEN_ENCRYPTION_KEY", TEST_TOKEN_KEY)
    monkeypatch.setenv("TETHER_GATEWAY_ASANA_CONNECTOR_URL", "")
    monkeypatch.setenv("TETHER_GATEWAY_JIRA_CONNECTOR_URL", "")

    def adapter(settings: ConnectorSettings, http: httpx.AsyncClient) -> ProviderAdapter:
        return fake

    trello = kits.KITS["trello"]
    monkeypatch.setitem(kits.KITS, "trello", kits.ConnectorKit("trello", trello.settings, adapter))
    return url


@pytest.fixture
def one_export(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Exported:
    """One task exported (link ``link-1``) to the fake Trello through the production pipeline."""
    tmp, link_id = tmp_path, "link-1"
    fake = FakeProvider()
    fake.add_container(BOARD)
    url = point_cli_at(monkeypatch, tmp, fake)

    async def export() -> Exported:
        async with pipeline_rig(fake, url) as rig:
            external_id = await exported(rig, task_state(1, {"core": 1}), link_id=link_id)
            link = await rig.link(link_id)
            return Exported(fake, url, external_id, link.connection_id)

    return asyncio.run(export())
