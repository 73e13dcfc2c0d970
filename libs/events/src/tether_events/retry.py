"""How a subscription treats a failing handler: retry the same event with capped backoff.

The event is not acknowledged meanwhile, so nothing behind it on the partition overtakes it
(per-task order is kept) and nothing is lost. Parking poison events in a dead-letter topic after
a number of attempts is a policy of the connector runtime, layered on top.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import structlog

from tether_events.bus import Handler
from tether_events.envelope import CloudEvent

log = structlog.get_logger(__name__)


async def handle_until_done(
    handler: Handler, event: CloudEvent[Any], *, base_delay: float = 0.05, max_delay: float = 5.0
) -> None:
    attempt = 0
    while True:
        try:
            await handler(event)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            attempt += 1
            delay = min(max_delay, base_delay * 2**attempt) * (0.5 + random.random() / 2)
            log.exception(
                "event_handler_failed",
                event_id=event.id,
                type=event.type,
                attempt=attempt,
                retry_in=round(delay, 3),
            )
            await asyncio.sleep(delay)
