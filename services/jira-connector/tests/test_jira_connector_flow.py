"""The Jira connector (the runtime with the Jira adapter) against the Jira emulator, in memory:
connect with an API token (an administrator's: admin webhooks; anyone else's: polling), export
one task (one issue, marked by an entity property), a person's edit delivered signed and
published once, completion walked through a workflow with no direct way to Done, a forged or
repeated delivery refused, and a polling connection's edits found through JQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from jira_connector.dialect import JiraWebhooks
from tether_connector_runtime.pipeline import reconcile
from tether_connector_runtime.port import ItemNotice
from tether_events import LinkChanged, ProviderItemChanged, Topic, topic_name

from .conftest import ADMIN, MEMBER, TASK_TYPE, Harness, task


async def test_a_refused_api_token_is_a_400_with_jiras_reason(harness: Harness) -> None:
    answer = await harness.api.post(
        "/internal/v1/tenants/acme/connections", json={**ADMIN, "api_token": "not-the-token"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("Jira rejected the credentials")


async def test_a_site_outside_jira_cloud_is_refused_before_any_call(harness: Harness) -> None:
    answer = await harness.api.post(
        "/internal/v1/tenants/acme/connections",
        json={**ADMIN, "site_url": "https://intranet.example.com"},
    )
    assert answer.status_code == 400
    assert "TETHER_JIRA_SITE_HOSTS" in answer.json()["error"]["message"]
    assert list(harness.emu.requests) == []


async def test_an_administrator_gets_webhooks_anyone_else_polls(harness: Harness) -> None:
    assert (await harness.connect(ADMIN))["delivery"] == "webhook"
    assert (await harness.connect(MEMBER))["delivery"] == "polling"


async def test_export_creates_one_marked_issue_and_an_admin_webhook(harness: Harness) -> None:
    issue_id = await harness.export((await harness.connect(ADMIN))["id"])
    (only,) = harness.emu.store.issues.values()
    assert only.id == issue_id
    assert (only.summary, only.duedate, only.issuetype_id) == (
        "Plan the launch",
        "2026-12-01",
        TASK_TYPE,
    )
    assert only.properties["tether.link"] == {"id": "link-1"}
    assert only.description is not None
    assert only.description["type"] == "doc"
    (hook,) = harness.emu.webhooks.values()
    assert (hook.kind, hook.jql) == ("admin", "project = OPS")
    assert hook.url.startswith("http://tether.test/webhooks/jira/")
    assert harness.tap.of(LinkChanged)[0].replica == f"jira:{issue_id}"


async def test_a_persons_edit_in_jira_is_published_once(harness: Harness) -> None:
    issue_id = await harness.export((await harness.connect(ADMIN))["id"])
    edit = await harness.jira.post(
        f"/_emulator/issues/{issue_id}/edit", json={"fields": {"summary": "Launch day"}}
    )
    edit.raise_for_status()
    await harness.jira.post("/_emulator/webhooks/flush")
    await harness.until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    assert change.new_values == {"title": "Launch day"}
    assert change.base_values == {"title": "Plan the launch"}


async def test_a_repeated_delivery_is_a_duplicate_and_a_forged_one_is_refused(
    harness: Harness,
) -> None:
    issue_id = await harness.export((await harness.connect(ADMIN))["id"])
    edit = await harness.jira.post(
        f"/_emulator/issues/{issue_id}/edit", json={"fields": {"summary": "Launch day"}}
    )
    edit.raise_for_status()
    await harness.jira.post("/_emulator/webhooks/flush")
    await harness.until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    deliveries = (await harness.jira.get("/_emulator/webhooks/deliveries")).json()
    delivered = [d for d in deliveries if d["status"] == "delivered"]
    repeat = await harness.jira.post(f"/_emulator/webhooks/deliveries/{delivered[-1]['id']}/repeat")
    repeat.raise_for_status()
    await harness.jira.post("/_emulator/webhooks/flush")
    assert len(harness.tap.of(ProviderItemChanged)) == 1
    (hook,) = harness.emu.webhooks.values()
    path = hook.url.removeprefix("http://tether.test")
    body = b'{"webhookEvent": "jira:issue_updated", "issue": {"id": "1"}}'
    forged = await harness.api.post(path, content=body, headers={"X-Hub-Signature": "sha256=00"})
    assert forged.status_code == 401
    unsigned = await harness.api.post("/webhooks/jira", content=body)
    assert unsigned.status_code == 401


async def test_completion_walks_the_workflow_to_done_and_back(harness: Harness) -> None:
    issue_id = await harness.export((await harness.connect(ADMIN))["id"])
    await harness.core_edit(2, completed=True)
    await harness.until(lambda: harness.emu.store.issues[issue_id].status_id == "10002")
    walked = [r for r in harness.emu.requests if r["path"].endswith("/transitions")]
    # To Do -> In Progress -> In Review -> Done: three hops, each read then taken.
    assert [r["method"] for r in walked] == ["GET", "POST"] * 3
    await harness.core_edit(3, completed=False)
    await harness.until(lambda: harness.emu.store.issues[issue_id].status_id == "10000")
    await harness.jira.post("/_emulator/webhooks/flush")
    assert harness.tap.of(ProviderItemChanged) == []  # our own moves are no person's edits


async def test_a_polling_connection_finds_edits_through_jql(harness: Harness) -> None:
    issue_id = await harness.export((await harness.connect(MEMBER))["id"])
    assert harness.emu.webhooks == {}
    pipeline = harness.state.pipeline
    await reconcile.reconcile_once(pipeline)  # the first pass sets the watermark
    edit = await harness.jira.post(
        f"/_emulator/issues/{issue_id}/edit", json={"fields": {"summary": "Polled"}}
    )
    edit.raise_for_status()
    await reconcile.reconcile_once(pipeline)
    await harness.until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    assert change.new_values == {"title": "Polled"}
    searches = [r for r in harness.emu.requests if r["path"].endswith("/search/jql")]
    assert searches, "reconciliation asked JQL what changed"


async def test_a_due_instant_is_written_as_its_day_and_read_back_as_no_change(
    harness: Harness,
) -> None:
    """Jira's due date has no time: an instant is written as its day in the owner's zone, and
    that day read back is the instant we wrote, not a person's edit of the due."""
    connection = await harness.connect(ADMIN, zone="Pacific/Auckland")
    evening = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 2 December, 12:30 in Auckland
    issue_id = await harness.export(connection["id"], due_date=None, due_at=evening)
    assert harness.emu.store.issues[issue_id].duedate == "2026-12-02"
    await harness.person_edits(issue_id, summary="Launch day")
    await harness.until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    assert change.new_values == {"title": "Launch day"}
    puts = [r for r in harness.emu.requests if r["method"] == "PUT"]
    assert puts == []  # the export wrote the due once, in its create


async def test_the_done_target_is_the_projects_mapped_status(harness: Harness) -> None:
    """A project whose team says done at In Review (mapped done) has its issues walked there,
    not on to Done; reopening goes back to the status mapped not done."""
    connection = await harness.connect(ADMIN)
    mapped = await harness.api.put(
        f"/internal/v1/tenants/acme/connections/{connection['id']}/status-mapping",
        json={"places": {"OPS:10001": "done", "OPS:10000": "not_done"}},
    )
    assert mapped.status_code == 200, mapped.text
    issue_id = await harness.export(connection["id"])
    await harness.core_edit(2, completed=True)
    await harness.until(lambda: harness.emu.store.issues[issue_id].status_id == "10001")
    await harness.core_edit(3, completed=False)
    await harness.until(lambda: harness.emu.store.issues[issue_id].status_id == "10000")
    taken = [
        r for r in harness.emu.requests if r["method"] == "POST" and "transitions" in r["path"]
    ]
    # To Do -> In Progress -> In Review (not on to Done); back, this workflow's only way to
    # To Do from In Review is through Done and Reopen, which the walk finds.
    assert len(taken) == 4
    await harness.jira.post("/_emulator/webhooks/flush")
    assert harness.tap.of(ProviderItemChanged) == []


async def test_a_title_longer_than_jira_takes_is_cut_and_its_echo_is_no_edit(
    harness: Harness,
) -> None:
    """Jira refuses a summary over 255 characters: the issue shows the title cut (ending in
    an ellipsis), core keeps it whole, and the cut title read back changes nothing."""
    connection = await harness.connect(ADMIN)
    long_title = "Plan " + "the launch " * 40  # 445 characters
    issue_id = await harness.export(connection["id"], title=long_title)
    summary = harness.emu.store.issues[issue_id].summary
    assert len(summary) == 255
    assert summary.endswith("…")
    assert long_title.startswith(summary[:-1])
    await harness.person_edits(issue_id, duedate="2026-12-24")
    await harness.until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    assert set(change.new_values) == {"due"}


def _errors(harness: Harness) -> list[str | None]:
    """The error each active LinkChanged announced, in order."""
    return [x.error for x in harness.tap.of(LinkChanged) if x.status == "active"]


async def test_a_done_the_workflow_cannot_reach_is_the_links_error_until_it_can(
    harness: Harness,
) -> None:
    """Only another user may take In Review -> Done (a workflow condition): the title is
    written, the walk stops at In Review, and the link stays active saying why; once the
    condition is lifted the task's next change completes the issue and clears the error."""
    issue_id = await harness.export((await harness.connect(ADMIN))["id"])
    project = harness.emu.store.project("OPS")
    project.conditions["31"] = frozenset({"someone-else"})
    await harness.core_edit(2, completed=True, title="Ship it")
    await harness.until(lambda: _errors(harness)[-1] is not None)
    issue = harness.emu.store.issues[issue_id]
    assert (issue.summary, issue.status_id) == ("Ship it", "10001")
    error = _errors(harness)[-1]
    assert error is not None
    assert "offers no way to" in error
    assert "10001" in error

    del project.conditions["31"]
    await harness.core_edit(3, completed=True, title="Ship it", description="Go")
    await harness.until(lambda: _errors(harness)[-1] is None)
    assert harness.emu.store.issues[issue_id].status_id == "10002"
    assert _errors(harness) == [None, error, None]  # said once, cleared once
    await harness.jira.post("/_emulator/webhooks/flush")
    assert harness.tap.of(ProviderItemChanged) == []  # the walk's own moves are no person's edits


async def test_a_description_markdown_cannot_hold_is_kept_and_said_on_the_link(
    harness: Harness,
) -> None:
    """A person's description with a mention is published as Markdown can show it; core's
    next description is not written over it (the mention would be lost): the other fields
    are, and the link says why the description was not."""
    issue_id = await harness.export((await harness.connect(ADMIN))["id"])
    mention = {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Bob"}}
    rich = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Ask "}, mention]}],
    }
    await harness.person_edits(issue_id, description=rich)
    await harness.until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    clock = {"core": 2, change.replica: 1}
    newer = task(2, clock, title="Ask Bob first", description="Ask Bob tomorrow")
    await harness.bus.publish(
        topic_name(Topic.TASK_CHANGED),
        newer.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )
    await harness.until(lambda: _errors(harness)[-1] is not None)
    issue = harness.emu.store.issues[issue_id]
    assert issue.summary == "Ask Bob first"
    assert issue.description == rich, "a person's ADF is never overwritten"
    error = _errors(harness)[-1]
    assert error is not None
    assert "was not replaced" in error


def _echoes_unread() -> float:
    value = REGISTRY.get_sample_value("tether_connector_echoes_unread_total", {"provider": "jira"})
    return value or 0.0


async def test_our_own_summary_write_coming_back_costs_no_read(harness: Harness) -> None:
    """The webhook of a change to the summary alone names the title it set: our write's echo
    is known from it. A change that touched anything else is read."""
    issue_id = await harness.export((await harness.connect(ADMIN))["id"])
    await harness.jira.post("/_emulator/webhooks/flush")
    echoes = _echoes_unread()
    await harness.core_edit(2, title="Renamed in core")
    await harness.until(lambda: harness.emu.store.issues[issue_id].summary == "Renamed in core")
    seq = harness.emu.requests[-1]["seq"]

    await harness.jira.post("/_emulator/webhooks/flush")
    await harness.until(lambda: _echoes_unread() == echoes + 1)

    assert [r["method"] for r in harness.emu.requests.since(seq)] == []
    assert harness.tap.of(ProviderItemChanged) == []


def test_only_a_summary_only_change_names_its_value() -> None:
    dialect = JiraWebhooks("client", "secret")

    def parsed(items: list[dict[str, str]]) -> ItemNotice:
        body = {
            "timestamp": 1767225600000,
            "webhookEvent": "jira:issue_updated",
            "issue": {"id": "10001", "fields": {"project": {"key": "OPS"}}},
            "changelog": {"id": "1", "items": items},
        }
        (notice,) = dialect.parse(json.dumps(body).encode(), {}).notices
        return notice

    summary = {"field": "summary", "toString": "Launch day"}
    alone = parsed([summary])
    assert alone.field_values == {"title": "Launch day"}
    assert alone.field_edited_at == {"title": datetime(2026, 1, 1, tzinfo=UTC)}
    mixed = parsed([summary, {"field": "description", "toString": "h1. Notes"}])
    assert (mixed.field_values, mixed.field_edited_at) == ({}, {}), "the issue is read"


async def test_each_issue_type_names_the_export_target_that_creates_it(harness: Harness) -> None:
    """The targets list a project's issue types with the export target that creates an issue
    of that type there; its statuses name none (a new issue starts in its workflow's first)."""
    connection = await harness.connect(ADMIN)
    answer = await harness.api.get(
        f"/internal/v1/tenants/acme/connections/{connection['id']}/targets"
    )
    assert answer.status_code == 200, answer.text
    (project,) = [c for c in answer.json()["containers"] if c["id"] == "OPS"]
    assert project["kinds"]
    for kind in project["kinds"]:
        assert kind["target"] == {"project_key": "OPS", "issue_type_id": kind["id"]}
    assert TASK_TYPE in [kind["id"] for kind in project["kinds"]]
    assert all(place["target"] is None for place in project["places"])
