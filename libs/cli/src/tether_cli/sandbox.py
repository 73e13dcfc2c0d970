"""The sandbox: embedded Tether plus a Trello emulator, already connected, so a newcomer can
see two-way sync with no account and no network.

Two HTTP servers in one process: Tether on :8000 and the emulator on :9101. They talk over
real loopback HTTP, signatures and all, exactly as Tether talks to Trello.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Literal

import httpx
import uvicorn

from api_gateway.auth.models import utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import issue_token
from api_gateway.config import GatewaySettings
from tether_cli.embedded import EmbeddedSettings, embedded_system
from tether_common.db import create_engine, session_factory, transaction
from tether_common.logging import configure_logging
from tether_emulators.trello import create_trello_emulator, get_emulator
from trello_connector.config import TrelloSettings

EMULATOR_PORT = 9101
# Tether's services are started by embedded_system(); the emulator runs its own lifespan.
_OFF: Literal["off"] = "off"
_ON: Literal["on"] = "on"
KEY, SECRET, TOKEN = "sandbox-key", "sandbox-secret", "sandbox-token"


def sandbox_banner(base: str, token: str, connection_id: str, lists: dict[str, str]) -> str:
    emulator = f"http://127.0.0.1:{EMULATOR_PORT}"
    first_list = next(iter(lists.values()))
    return f"""
Tether sandbox: Tether at {base}, a Trello emulator at {emulator} (already connected).
  API token:      {token}
  Connection:     {connection_id}  (Trello board "Sandbox", lists {", ".join(lists)})

  export TOKEN={token} AUTH="Authorization: Bearer {token}" JSON="Content-Type: application/json"
  # 1. create a task and export it to the "To do" list
  curl -s -X POST {base}/v1/tasks -H "$AUTH" -H "$JSON" -d '{{"title": "Try Tether"}}'
  TASK=<the id it printed>
  curl -s -X POST {base}/v1/tasks/$TASK/exports -H "$AUTH" -H "$JSON" \\
    -d '{{"connection_id": "{connection_id}", "target": {{"list_id": "{first_list}"}}}}'
  # 2. the link's external_id is the card; edit it "as a person in Trello"
  curl -s {base}/v1/tasks/$TASK/links -H "$AUTH"
  CARD=<its external_id>
  curl -s -X POST {emulator}/_emulator/cards/$CARD/edit -H "$JSON" \\
    -d '{{"name": "Edited in Trello"}}'
  # 3. watch the task change (and its history)
  curl -s {base}/v1/tasks/$TASK -H "$AUTH"; curl -s {base}/v1/tasks/$TASK/history -H "$AUTH"
  # 4. drag the card to "Done" (mapped to done): the task is completed
  curl -s -X POST {emulator}/_emulator/cards/$CARD/edit -H "$JSON" \
    -d '{{"idList": "{lists.get("Done", first_list)}"}}'

  # 5. or connect through Trello's consent page: open the authorize_url this prints in a
  #    browser and allow as @sandbox; the browser lands on the new connection
  curl -s "{base}/v1/connections/trello/authorize?redirect=false" -H "$AUTH"

  Emulator controls: {emulator}/_emulator/docs   Stop with Ctrl-C.
"""


def sandbox_list_mapping(lists: dict[str, str]) -> dict[str, str]:
    """List id -> meaning for the sandbox board: "Done" is done, every other list is not."""
    return {list_id: "done" if name == "Done" else "not_done" for name, list_id in lists.items()}


async def mint_token(tenant: str, email: str) -> str:
    engine = create_engine(GatewaySettings().database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            issued = await issue_token(
                AuthRepository(session), tenant_name=tenant, email=email, now=utcnow()
            )
        return issued.token
    finally:
        await engine.dispose()


async def serve_sandbox(settings: EmbeddedSettings | None = None) -> None:
    settings = settings or EmbeddedSettings()
    configure_logging("tether", settings.log_level, settings.log_json)
    base = f"http://{settings.host}:{settings.port}"
    emulator = create_trello_emulator(api_key=KEY, api_secret=SECRET, sandbox=True)
    trello = TrelloSettings(
        bus="inprocess",
        api_url=f"http://127.0.0.1:{EMULATOR_PORT}/1",
        oauth_url=f"http://127.0.0.1:{EMULATOR_PORT}/1",
        api_key=KEY,
        api_secret=SECRET,
        public_url=base,
        reconcile_interval=10,
    )
    async with embedded_system(trello_settings=trello) as system:
        servers = [
            uvicorn.Server(
                uvicorn.Config(
                    app,
                    host="127.0.0.1",
                    port=port,
                    lifespan=lifespan,
                    log_config=None,
                    access_log=False,
                )
            )
            for app, port, lifespan in (
                (system.app, settings.port, _OFF),
                (emulator, EMULATOR_PORT, _ON),
            )
        ]
        serving = [asyncio.create_task(s.serve()) for s in servers]
        # uvicorn only exposes a `started` flag, no event to wait on.
        while not all(s.started for s in servers):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        token = await mint_token("sandbox", "you@sandbox.local")
        info = get_emulator(emulator).sandbox_info
        assert info is not None
        async with httpx.AsyncClient(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            connected = await api.post(
                "/v1/connections", json={"provider": "trello", "token": TOKEN}
            )
            connected.raise_for_status()
            # The board's Done list means done: dragging a card there completes its task.
            mapped = await api.put(
                f"/v1/connections/{connected.json()['id']}/list-mapping",
                json={"lists": sandbox_list_mapping(info.list_ids)},
            )
            mapped.raise_for_status()
        print(
            sandbox_banner(base, token, connected.json()["id"], info.list_ids),
            file=sys.stderr,
            flush=True,
        )
        await asyncio.gather(*serving)
