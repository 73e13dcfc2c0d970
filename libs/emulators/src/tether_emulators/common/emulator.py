"""An emulator as the shared machinery sees it: every provider's emulator has these parts."""

from __future__ import annotations

from typing import Any, Protocol

from tether_emulators.common.deliveries import DeliveryQueue
from tether_emulators.common.limits import Limiter
from tether_emulators.common.outages import Outages
from tether_emulators.common.request_log import RequestLog


class Emulator(Protocol):
    """Its webhook dispatcher, rate limiter, outages in force and request log; each lives as
    long as the emulator (a reset empties them, it does not replace them)."""

    @property
    def dispatcher(self) -> DeliveryQueue[Any, Any]: ...

    @property
    def limiter(self) -> Limiter: ...

    @property
    def outages(self) -> Outages: ...

    @property
    def requests(self) -> RequestLog: ...

    async def aclose(self) -> None:
        """Stop delivering (the app is shutting down)."""


async def reset_shared_parts(emulator: Emulator) -> None:
    """Empty what every emulator shares (deliveries in flight and logged, rate-limit counts,
    outages, the request log) as its reset does; the provider then reseeds its own state."""
    await emulator.dispatcher.reset()
    emulator.limiter.reset()
    emulator.outages.end_all()
    emulator.requests.clear()
