"""Fixtures of the pipeline tests: a fake Trello-like provider with two boards, and a
connector's pipeline over it on its own SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether_connector_runtime.testing import FakeProvider, PipelineRig, pipeline_rig
from tether_connector_runtime.testing.scenarios import BOARD


@pytest.fixture
def fake() -> FakeProvider:
    provider = FakeProvider("trello")
    provider.add_container(BOARD)
    provider.add_container("board-2")
    return provider


@pytest.fixture
async def rig(fake: FakeProvider, tmp_path: Path) -> AsyncIterator[PipelineRig]:
    async with pipeline_rig(fake, f"sqlite+aiosqlite:///{tmp_path}/connector.db") as started:
        yield started
