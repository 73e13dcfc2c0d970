"""The steps the sandbox prints: every id filled in, so each line can be pasted as it is."""

from __future__ import annotations

import re

from tether_cli.sandbox_world import DONE_LIST, SAMPLE_LIST, SAMPLE_TITLE, SandboxWorld

# The test that starts the sandbox waits for this line on stdout.
READY_LINE = "Sandbox ready. Stop it with Ctrl-C."


def list_variable(name: str) -> str:
    """The shell variable naming a list's id: "To do" -> TO_DO."""
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


def sandbox_steps(world: SandboxWorld) -> str:
    lists = world.list_ids
    other = next((name for name in lists if name not in (SAMPLE_LIST, DONE_LIST)), SAMPLE_LIST)
    list_vars = " ".join(f"{list_variable(name)}={list_id}" for name, list_id in lists.items())
    list_names = ", ".join(f'"{name}"' for name in lists)
    return f"""
Tether sandbox: Tether at {world.tether_url} (API docs {world.tether_url}/docs), a Trello
emulator at {world.emulator_url} (docs {world.emulator_url}/_emulator/docs), already connected.

  API token    {world.api_token}
  Connection   {world.connection_id}: Trello board "Sandbox" {world.board_id}, lists \
{list_names} ("{DONE_LIST}" means done)
  Sample task  {world.task_id} "{SAMPLE_TITLE}", exported to "{SAMPLE_LIST}" as card \
{world.card_id}

Paste into a shell, every id is filled in:

  TETHER={world.tether_url} EMU={world.emulator_url}
  TOKEN={world.api_token}
  CONNECTION={world.connection_id} BOARD={world.board_id}
  TASK={world.task_id} CARD={world.card_id}
  {list_vars}
  AUTH="Authorization: Bearer $TOKEN" JSON="Content-Type: application/json"
  # The emulator speaks Trello's API; these are its sandbox account's key and token.
  TRELLO="key={world.emulator_key}&token={world.emulator_token}"

  # 1. Look at the card in the emulator, as Trello's API shows it (then the whole board).
  curl -s "$EMU/1/cards/$CARD?$TRELLO&fields=name,desc,due,idList,closed"
  curl -s "$EMU/1/boards/$BOARD/cards?$TRELLO&fields=name,idList"
  # 2. Edit the card "as a person in Trello", then see the task follow, and its history.
  curl -s -X POST "$EMU/_emulator/cards/$CARD/edit" -H "$JSON" \\
    -d '{{"name": "Edited in Trello"}}'
  curl -s "$TETHER/v1/tasks/$TASK" -H "$AUTH"
  curl -s "$TETHER/v1/tasks/$TASK/history" -H "$AUTH"
  # 3. Edit the task in Tether, then see the card follow.
  curl -s -X PATCH "$TETHER/v1/tasks/$TASK" -H "$AUTH" -H "$JSON" \\
    -d '{{"title": "Edited in Tether"}}'
  curl -s "$EMU/1/cards/$CARD?$TRELLO&fields=name"
  # 4. Drag the card to "{DONE_LIST}": the task is completed.
  curl -s -X POST "$EMU/_emulator/cards/$CARD/edit" -H "$JSON" \\
    -d "{{\\"idList\\": \\"${list_variable(DONE_LIST)}\\"}}"
  curl -s "$TETHER/v1/tasks/$TASK" -H "$AUTH"
  # 5. Create another task and export it to "{other}"; its link names its card.
  NEW=$(curl -s -X POST "$TETHER/v1/tasks" -H "$AUTH" -H "$JSON" -d '{{"title": "Another"}}' \\
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
  curl -s -X POST "$TETHER/v1/tasks/$NEW/exports" -H "$AUTH" -H "$JSON" \\
    -d "{{\\"connection_id\\": \\"$CONNECTION\\",
        \\"target\\": {{\\"list_id\\": \\"${list_variable(other)}\\"}}}}"
  curl -s "$TETHER/v1/tasks/$NEW/links" -H "$AUTH"
  # 6. Or connect through Trello's consent page: open the authorize_url this prints and
  #    allow as @sandbox. Connecting the same account again repairs this connection (same
  #    id), it never makes a second one.
  curl -s "$TETHER/v1/connections/trello/authorize?redirect=false" -H "$AUTH"
  curl -s "$TETHER/v1/connections" -H "$AUTH"

  The emulator's state: {world.emulator_url}/_emulator (boards, lists, members, webhooks);
  its controls (outages, held responses, webhook pauses): {world.emulator_url}/_emulator/docs
  Restarting keeps Tether's data in ./.tether/ (the emulator starts empty again);
  `make reset` forgets it.

{READY_LINE}
"""
