"""The steps the sandbox prints: every id filled in, so each line can be pasted as it is."""

from __future__ import annotations

import re

from tether_cli.sandbox_emulators import TRELLO_KEY
from tether_cli.sandbox_world import DONE_PLACE, SAMPLE_PLACE, SAMPLE_TITLE, SandboxWorld

# The test that starts the sandbox waits for this line on stdout.
READY_LINE = "Sandbox ready. Stop it with Ctrl-C."
# The Jira emulator's workflow (every project's): no direct way from "To Do" to "Done".
JIRA_WORKFLOW = "To Do -> In Progress -> In Review -> Done"


def list_variable(name: str) -> str:
    """The shell variable naming a list's id: "To do" -> TO_DO."""
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


def _names(places: dict[str, str]) -> str:
    return ", ".join(f'"{name}"' for name in places)


def _overview(world: SandboxWorld) -> str:
    trello, asana, jira = world.trello, world.asana, world.jira
    trello_url, asana_url = trello.account.emulator_url, asana.account.emulator_url
    jira_url = jira.account.emulator_url
    return f"""
Tether sandbox: Tether at {world.tether_url} (API docs {world.tether_url}/docs), beside a
Trello emulator at {trello_url} (docs {trello_url}/_emulator/docs), an
Asana emulator at {asana_url} (docs {asana_url}/_emulator/docs) and a
Jira emulator at {jira_url} (docs {jira_url}/_emulator/docs), all three
already connected.

  API token    {world.api_token}
  Trello       connection {trello.connection_id}: board "Sandbox" {trello.account.container_id}, \
lists {_names(trello.account.places)} ("{DONE_PLACE}" means done)
  Asana        connection {asana.connection_id}: project "Sandbox" {asana.account.container_id}, \
sections {_names(asana.account.places)} ("{DONE_PLACE}" means done)
  Jira         connection {jira.connection_id}: project "Sandbox" {jira.account.container_id}, \
statuses {_names(jira.account.places)} (workflow {JIRA_WORKFLOW}; "Done" means done)
  Sample task  {world.task_id} "{SAMPLE_TITLE}", exported to "{SAMPLE_PLACE}" on Trello and \
Asana and to Jira: Trello card {trello.item_id}, Asana task {asana.item_id}, Jira issue \
{jira.item_key}
"""


def _variables(world: SandboxWorld) -> str:
    trello, asana, jira = world.trello, world.asana, world.jira
    places = trello.account.places
    lists = " ".join(f"{list_variable(name)}={list_id}" for name, list_id in places.items())
    return f"""\
  TETHER={world.tether_url} EMU={trello.account.emulator_url} ASANA={asana.account.emulator_url}
  JIRA={jira.account.emulator_url}
  TOKEN={world.api_token}
  CONNECTION={trello.connection_id} BOARD={trello.account.container_id}
  TASK={world.task_id} CARD={trello.item_id}
  {lists}
  ASANA_CONNECTION={asana.connection_id} PROJECT={asana.account.container_id} \
ASANA_TASK={asana.item_id}
  JIRA_CONNECTION={jira.connection_id} ISSUE={jira.item_key}
  AUTH="Authorization: Bearer $TOKEN" JSON="Content-Type: application/json"
  # The emulators speak Trello's, Asana's and Jira's APIs; these are their sandbox accounts'
  # Trello key and token, Asana personal access token, and Jira email and API token.
  TRELLO="key={TRELLO_KEY}&token={trello.account.token}"
  ASANA_AUTH="Authorization: Bearer {asana.account.token}"
  JIRA_USER="{jira.account.credentials["email"]}:{jira.account.token}"
"""


def sandbox_steps(world: SandboxWorld) -> str:
    """The whole printout: overview, the block to paste, where the emulators' state is, and
    the ready line last (stdout)."""
    trello_url = world.trello.account.emulator_url
    asana_url = world.asana.account.emulator_url
    jira_url = world.jira.account.emulator_url
    return f"""{_overview(world)}
Paste into a shell, every id is filled in:

{_variables(world)}
{_SYNC_STEPS}{_JIRA_STEPS}{_more_steps(world)}
  The emulators' state: {trello_url}/_emulator (boards, lists, members, webhooks),
  {asana_url}/_emulator (users, workspaces, projects and their sections) and
  {jira_url}/_emulator (the site, users, projects and their issue types); their
  controls (outages, held responses, webhook pauses): /_emulator/docs on each
  Restarting keeps Tether's data in ./.tether/ (the emulators start empty again);
  `make reset` forgets it.

{READY_LINE}
"""


# No ids here, only the shell variables the pasted block sets first: a plain string.
_SYNC_STEPS = """\
  # Then paste one step at a time: each change takes a moment to reach the others.
  # 1. Look at the card in the Trello emulator, as Trello's API shows it (then the board).
  curl -s "$EMU/1/cards/$CARD?$TRELLO&fields=name,desc,due,idList,closed"
  curl -s "$EMU/1/boards/$BOARD/cards?$TRELLO&fields=name,idList"
  # 2. Edit the card "as a person in Trello", then see the task follow, and its history.
  curl -s -X POST "$EMU/_emulator/cards/$CARD/edit" -H "$JSON" \\
    -d '{"name": "Edited in Trello"}'
  curl -s "$TETHER/v1/tasks/$TASK" -H "$AUTH"
  curl -s "$TETHER/v1/tasks/$TASK/history" -H "$AUTH"
  # 3. Edit the task in Tether, then see the card follow.
  curl -s -X PATCH "$TETHER/v1/tasks/$TASK" -H "$AUTH" -H "$JSON" \\
    -d '{"title": "Edited in Tether"}'
  curl -s "$EMU/1/cards/$CARD?$TRELLO&fields=name"
  # 4. The same task in the Asana emulator, as Asana's API shows it: every edit so far
  #    reached it too.
  curl -s "$ASANA/api/1.0/tasks/$ASANA_TASK?opt_fields=name,notes,completed" -H "$ASANA_AUTH"
  # 5. Edit it "as a person in Asana", then see the task and the Trello card follow.
  curl -s -X POST "$ASANA/_emulator/tasks/$ASANA_TASK/edit" -H "$JSON" \\
    -d '{"name": "Edited in Asana", "notes": "Written in Asana"}'
  curl -s "$TETHER/v1/tasks/$TASK" -H "$AUTH"
  curl -s "$EMU/1/cards/$CARD?$TRELLO&fields=name,desc"
"""

_JIRA_STEPS = """\
  # 6. The same task as an issue in the Jira emulator, as Jira's API shows it (Basic auth
  #    with the email and API token): every edit so far reached it too.
  curl -s -u "$JIRA_USER" "$JIRA/rest/api/3/issue/$ISSUE?fields=summary,description,status"
  # 7. Edit the issue "as a person in Jira", then see the task, the Trello card and the
  #    Asana task follow.
  curl -s -X POST "$JIRA/_emulator/issues/$ISSUE/edit" -H "$JSON" \\
    -d '{"fields": {"summary": "Edited in Jira", "description": "Written in Jira"}}'
  curl -s "$TETHER/v1/tasks/$TASK" -H "$AUTH"
  curl -s "$EMU/1/cards/$CARD?$TRELLO&fields=name,desc"
  curl -s "$ASANA/api/1.0/tasks/$ASANA_TASK?opt_fields=name,notes" -H "$ASANA_AUTH"
  # 8. Move the issue through Jira's workflow to "Done", one transition at a time (there is
  #    no direct one from "To Do"): the task is completed, the card moves to the list "Done"
  #    and the Asana task is completed, in its section "Done".
  curl -s -X POST "$JIRA/_emulator/issues/$ISSUE/transition" -H "$JSON" \\
    -d '{"status": "In Progress"}'
  curl -s -X POST "$JIRA/_emulator/issues/$ISSUE/transition" -H "$JSON" \\
    -d '{"status": "In Review"}'
  curl -s -X POST "$JIRA/_emulator/issues/$ISSUE/transition" -H "$JSON" \\
    -d '{"status": "Done"}'
  curl -s "$TETHER/v1/tasks/$TASK" -H "$AUTH"
  curl -s "$EMU/1/cards/$CARD?$TRELLO&fields=name,idList"
  curl -s "$ASANA/api/1.0/tasks/$ASANA_TASK?opt_fields=completed,memberships.section.name" \\
    -H "$ASANA_AUTH"
"""


def _more_steps(world: SandboxWorld) -> str:
    lists = world.trello.account.places
    other = next((name for name in lists if name not in (SAMPLE_PLACE, DONE_PLACE)), SAMPLE_PLACE)
    key, kind = (world.jira.account.sample_target[k] for k in ("project_key", "issue_type_id"))
    return f"""\
  # 9. Drag the card back to "{SAMPLE_PLACE}": the task is open again, so is the Asana task,
  #    and Tether walks the Jira issue back through its workflow (Reopen) to "To Do".
  curl -s -X POST "$EMU/_emulator/cards/$CARD/edit" -H "$JSON" \\
    -d "{{\\"idList\\": \\"${list_variable(SAMPLE_PLACE)}\\"}}"
  curl -s "$TETHER/v1/tasks/$TASK" -H "$AUTH"
  curl -s "$ASANA/api/1.0/tasks/$ASANA_TASK?opt_fields=completed" -H "$ASANA_AUTH"
  curl -s -u "$JIRA_USER" "$JIRA/rest/api/3/issue/$ISSUE?fields=status"
  # 10. Create another task and export it to "{other}" in Trello and to Jira (a Task in
  #     project {key}); its links name its card and its issue.
  NEW=$(curl -s -X POST "$TETHER/v1/tasks" -H "$AUTH" -H "$JSON" -d '{{"title": "Another"}}' \\
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
  curl -s -X POST "$TETHER/v1/tasks/$NEW/exports" -H "$AUTH" -H "$JSON" \\
    -d "{{\\"connection_id\\": \\"$CONNECTION\\",
        \\"target\\": {{\\"list_id\\": \\"${list_variable(other)}\\"}}}}"
  curl -s -X POST "$TETHER/v1/tasks/$NEW/exports" -H "$AUTH" -H "$JSON" \\
    -d "{{\\"connection_id\\": \\"$JIRA_CONNECTION\\",
        \\"target\\": {{\\"project_key\\": \\"{key}\\", \\"issue_type_id\\": \\"{kind}\\"}}}}"
  curl -s "$TETHER/v1/tasks/$NEW/links" -H "$AUTH"
  # 11. Or connect through Trello's consent page: open the authorize_url this prints and
  #     allow as @sandbox. Connecting the same account again repairs this connection (same
  #     id), it never makes a second one.
  curl -s "$TETHER/v1/connections/trello/authorize?redirect=false" -H "$AUTH"
  curl -s "$TETHER/v1/connections" -H "$AUTH"
"""
