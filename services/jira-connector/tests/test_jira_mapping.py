"""A Jira issue as the pipeline sees it, and the fields written for a change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jira_connector.mapping import (
    FIELD_LIMITS,
    issue_data,
    issue_item,
    marker_of,
    updated_at,
)

SITE = "https://acme.atlassian.net"
PARIS = ZoneInfo("Europe/Paris")


def issue(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "summary": "Plan the week",
        "description": None,
        "duedate": None,
        "status": {"id": "10000", "statusCategory": {"key": "new"}},
        "updated": "2026-12-01T11:00:00.000+0100",
        "project": {"key": "OPS"},
    }
    return {"id": "10042", "key": "OPS-7", "fields": base | fields}


def test_an_issue_reads_as_its_fields_project_status_and_update_time() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "Who", "marks": [{"type": "strong"}]}],
            }
        ],
    }
    item = issue_item(issue(description=doc, duedate="2026-12-03"), SITE)
    assert item.external_id == "10042"  # the id: it stays when the issue changes project
    assert (item.container_id, item.place_id) == ("OPS", "OPS:10000")
    assert (item.fields.title, item.fields.description) == ("Plan the week", "**Who**")
    assert (item.fields.due, item.fields.completed) == (date(2026, 12, 3), False)
    assert item.url == f"{SITE}/browse/OPS-7"
    assert item.edited_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert item.marker is None


def test_done_is_the_status_category_and_the_marker_an_entity_property() -> None:
    done = issue(status={"id": "10003", "statusCategory": {"key": "done"}})
    done["properties"] = {"tether.link": {"id": "link-9"}}
    item = issue_item(done, SITE)
    assert item.fields.completed is True
    assert marker_of(done) == "link-9"
    assert updated_at({"fields": {"updated": "not a time"}}) is None


def test_only_changed_fields_are_written_and_an_instant_is_its_owners_day() -> None:
    assert issue_data({"title": "New"}, PARIS) == {"summary": "New"}
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # already 2 December in Paris
    assert issue_data({"due": late}, PARIS) == {"duedate": "2026-12-02"}
    assert issue_data({"due": date(2026, 12, 1)}, PARIS) == {"duedate": "2026-12-01"}
    assert issue_data({"due": None, "description": ""}, PARIS) == {
        "duedate": None,
        "description": None,
    }
    written = issue_data({"description": "Who, **what**"}, PARIS)["description"]
    assert written["type"] == "doc"
    assert written["content"][0]["content"][1]["marks"] == [{"type": "strong"}]
    assert FIELD_LIMITS == {"title": 255}
