"""A connector killed (``kill -9``) while its provider withholds an answer, the same way for
Trello, Asana and Jira: the emulator performs a call but holds its answer back
(``/_emulator/holds``), so the effect exists while the connector still waits to hear of it;
then the connector's process dies, and its unacknowledged work comes back to it on restart.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e.world import ProviderWorld, eventually

WITHIN = 120.0  # generous: the restarted connector waits for Kafka to drop the dead consumer


async def hold(world: ProviderWorld, method: str, path: str, *, count: int | None = None) -> None:
    """Arm a rule: the emulator performs the next ``method path`` (``count`` of them, or every
    one) but withholds its answer until released, or until the caller hangs up."""
    rule: dict[str, Any] = {"method": method, "path": path}
    if count is not None:
        rule["count"] = count
    held = await world.emulator.post("/_emulator/holds", json=rule)
    assert held.status_code == 200, held.text


async def until_held(
    world: ProviderWorld, *, what: str, within: float = WITHIN, path: str | None = None
) -> None:
    """Return once one call (to ``path``, if given) waits for its withheld answer."""

    async def held() -> bool:
        holds = await world.holds()
        return bool(holds["waiting"] == 1 and (path is None or holds["held"][0]["path"] == path))

    await eventually(held, within=within, what=what)


async def kill_connector(world: ProviderWorld) -> None:
    """``kill -9`` the world's connector while its call is held, and see its connection close
    with the answer unread: the rule is spent, nothing is left to release."""
    world.deployment.kill(f"{world.provider}-connector")  # SIGKILL: no cleanup, no last words

    async def hung_up() -> bool:
        return bool((await world.holds())["abandoned"] == 1)

    await eventually(hung_up, what="the killed connector's connection to close")
    cleared = (await world.emulator.delete("/_emulator/holds")).json()
    assert cleared == {"disarmed": 0, "released": 0}


async def restart_connector(world: ProviderWorld) -> None:
    """Start the world's killed connector again (it rejoins its consumer group)."""
    await asyncio.to_thread(world.deployment.start_one, f"{world.provider}-connector")
