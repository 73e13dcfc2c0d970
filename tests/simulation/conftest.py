"""The simulation's bench, one per test: task-core's migrated database and a connector rig
per provider, renewed for each schedule (see :mod:`tests.simulation.bench`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulation.bench import Bench
from tests.simulation.constants import PROVIDERS, RETRY, T0
from tests.simulation.core import CoreDatabase
from tests.simulation.log import Log
from tether_connector_runtime.testing import FakeProvider, ManualClock, PipelineRig
from tether_sync import Provider


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    """Task-core's migrated database and a connector rig per provider, renewed for each
    schedule."""
    with asyncio.Runner() as runner:
        core = CoreDatabase(str(tmp_path / "task-core.db"))
        runner.run(core.start())
        rigs: dict[Provider, PipelineRig] = {}
        for provider in PROVIDERS:
            rig = PipelineRig(
                FakeProvider(provider),
                f"sqlite+aiosqlite:///{tmp_path / provider}.db",
                retry=RETRY,
                clock=ManualClock(T0),
                deletion_burst_threshold=1000,
                # Half a step: a link written within a step holds the step's later changes
                # until a retry (the drain's retries write them).
                burst_window=30.0,
                bus=Log(),
                inline_sqlite=True,
            )
            runner.run(rig.start())
            rigs[provider] = rig
        try:
            yield Bench(runner, core, rigs)
        finally:
            for rig in rigs.values():
                runner.run(rig.close())
            runner.run(core.close())
