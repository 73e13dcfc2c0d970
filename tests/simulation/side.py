"""One connector in the simulation: its rig, its provider, the webhooks it has yet to receive,
and the points where its process may die (then it is restarted over the same database)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.simulation.steps import Crash
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.port import ItemNotice
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_sync import Provider


@dataclass
class Side:
    provider: Provider
    fake: FakeProvider
    rig: PipelineRig
    connection_id: str = ""
    webhooks: list[ItemNotice] = field(default_factory=list)
    armed: set[str] = field(default_factory=set)
    crashes: int = 0
    # The outbox may hold rows (written since the last relay that finished): the drain relays
    # only then (a relay is a transaction; draining calls for one per delivery otherwise).
    unrelayed: bool = False

    @property
    def p(self) -> Pipeline:
        return self.rig.pipeline

    def install(self) -> None:
        """Crash points on the pipeline's own store and outbox (again after each restart)."""
        p = self.p
        p.repo.save_state = self._crashing("save_state", p.repo.save_state)  # type: ignore[method-assign]
        p.repo.save_link = self._crashing("save_link", p.repo.save_link)  # type: ignore[method-assign]
        p.outbox.add = self._crashing("outbox", self._noting(p.outbox.add))  # type: ignore[method-assign]

    def _noting(self, add: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def noted(*args: Any, **kwargs: Any) -> None:
            self.unrelayed = True
            await add(*args, **kwargs)

        return noted

    def _crashing(
        self, point: str, real: Callable[..., Awaitable[None]]
    ) -> Callable[..., Coroutine[Any, Any, None]]:
        async def maybe_crash(*args: Any, **kwargs: Any) -> None:
            if point in self.armed:
                self.armed.discard(point)
                self.crashes += 1
                raise Crash(point)
            await real(*args, **kwargs)

        return maybe_crash

    def restart(self) -> None:
        self.rig.restart()
        self.install()

    @contextlib.contextmanager
    def crashing(self, point: str | None) -> Iterator[None]:
        """The process dies at ``point`` (a provider call once it took effect, a link-state
        write, an outbox write) if the step reaches it."""
        fault = None
        if point in ("create", "update"):

            def crash() -> Exception:
                return Crash(f"after the provider applied the {point}")

            # Counted by the fake among the faults that fired.
            fault = self.fake.fail_next(point, after_effect=True, error=crash)  # type: ignore[arg-type]
        elif point is not None:
            self.armed.add(point)
        try:
            yield
        finally:
            self.armed.clear()
            if fault is not None:
                self.fake.withdraw(fault)

    async def run(self, work: Callable[[], Awaitable[Any]]) -> bool:
        """Run a pipeline step; False when the process crashed (it is restarted)."""
        try:
            await work()
        except Crash:
            self.restart()
            return False
        return True
