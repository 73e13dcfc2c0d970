"""``tether links`` and ``tether resync`` against a connector's SQLite database."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from tether_cli.main import app
from tether_common.db import create_engine
from tether_connector_runtime.store.tables import connector_tables
from tether_events import ProviderItemChanged
from tether_events.codec import decode

runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def outbox_changes(url: str) -> list[ProviderItemChanged]:
    """The provider changes waiting in the connector's outbox, oldest first."""

    async def read() -> list[ProviderItemChanged]:
        engine = create_engine(url)
        try:
            table = connector_tables("trello").outbox
            async with engine.connect() as connection:
                rows = await connection.execute(select(table.c.payload).order_by(table.c.id))
                events = [decode(row.payload.encode()) for row in rows]
        finally:
            await engine.dispose()
        return [e.data for e in events if isinstance(e.data, ProviderItemChanged)]

    return asyncio.run(read())


def test_links_lists_the_export_with_its_state_and_filters(one_export: Any) -> None:
    result = cli("links", "--json")
    assert result.exit_code == 0, result.output
    [link] = json.loads(result.stdout)
    assert link["link_id"] == "link-1"
    assert link["external_id"] == one_export.external_id
    assert (link["status"], link["state"], link["last_error"]) == ("active", "ok", None)
    assert link["last_sync"] is not None
    assert json.loads(cli("links", "--json", "--status", "failed").stdout) == []
    assert json.loads(cli("links", "--json", "--status", "retrying").stdout) == []
    assert json.loads(cli("links", "--json", "--task", "another-task").stdout) == []
    assert len(json.loads(cli("links", "--json", "--task", "task-1").stdout)) == 1
    table = cli("links")
    assert table.exit_code == 0
    assert "1 link(s)" in table.stdout


def test_links_names_a_provider_that_is_not_deployed(one_export: Any) -> None:
    result = cli("links", "--provider", "jira")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: the jira connector is not deployed (its gateway URL is unset)"
    )


def test_resync_publishes_an_edit_no_webhook_reported_and_only_once(
    one_export: Any,
) -> None:
    before = len(outbox_changes(one_export.database_url))
    one_export.fake.edit(one_export.external_id, title="Edited in Trello")
    result = cli("resync", "link-1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"link_id": "link-1", "provider": "trello", "outcome": "changed", "error": None}
    ]
    changes = outbox_changes(one_export.database_url)[before:]
    assert [c.new_values.get("title") for c in changes] == ["Edited in Trello"]
    again = cli("resync", "link-1", "--json")
    assert json.loads(again.stdout)[0]["outcome"] == "unchanged"
    assert len(outbox_changes(one_export.database_url)) == before + 1


def test_resync_of_a_connection_reads_each_of_its_links(one_export: Any) -> None:
    one_export.fake.edit(one_export.external_id, title="Edited once more")
    result = cli("resync", "--connection", one_export.connection_id)
    assert result.exit_code == 0, result.output
    assert "1 changed, 0 unchanged, 0 gone, 0 failed of 1 link(s)" in result.stdout


def test_resync_reports_a_failing_provider_and_exits_non_zero(one_export: Any) -> None:
    one_export.fake.fail_next("read", times=100)
    result = cli("resync", "link-1", "--json")
    assert result.exit_code == 1
    [outcome] = json.loads(result.stdout)
    assert outcome["outcome"] == "failed"
    assert outcome["error"]


def test_resync_of_an_unknown_id_is_one_line_and_exit_1(one_export: Any) -> None:
    for args, words in (
        (("resync", "nope"), "error: no link nope in any connector's database"),
        (
            ("resync", "--connection", "nope"),
            "error: no connection nope in any connector's database",
        ),
    ):
        result = cli(*args)
        assert result.exit_code == 1
        assert result.stderr.strip() == words
    assert cli("resync").exit_code == 2
