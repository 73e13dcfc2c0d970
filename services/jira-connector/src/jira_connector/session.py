"""One Jira account on one site as the runtime's :class:`ProviderSession`: projects with their
issue types and statuses; issues; completion through the workflow (PROVIDERS.md, Jira Cloud).

A project (by key) is the container; its statuses are the places (``<key>:<status id>``, see
``mapping.place_id``); an export names the issue type to create. An issue is known by its id.
Jira deletes issues for good (its archive is a Premium feature), so a task deleted in Tether
leaves its issue in place: ``archive`` marks our entity property ``archived`` (the issue reads
as closed, the link is archived) and ``restore`` takes the mark off. Webhooks and polling are
:mod:`jira_connector.hooks` and :mod:`jira_connector.changes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from jira_connector.adf import safe_to_replace
from jira_connector.changes import Watermarks
from jira_connector.client import JiraClient, path
from jira_connector.hooks import JiraHooks
from jira_connector.mapping import (
    ISSUE_FIELDS,
    MARKER_PROPERTY,
    issue_data,
    issue_item,
    marker_value,
    project_key,
    split_place,
)
from jira_connector.transitions import Workflow, WorkflowMap
from tether_connector_runtime.port import (
    ChangesSince,
    Placement,
    ProviderItem,
    RegisteredWebhook,
)
from tether_connector_runtime.retry import PermanentProviderError
from tether_contracts.connections import Container, Place
from tether_sync import FieldName, FieldValue, TaskFields

Changes = Mapping[FieldName, FieldValue]


class DescriptionKept(PermanentProviderError):
    """The issue's description holds what Markdown cannot (a mention, a table...): it was not
    replaced (adf/policy.py); the other fields of the write were."""


@dataclass(frozen=True)
class IssueFacts:
    """What a write needs of an issue beyond the pipeline's view: its workflow's scope
    (project key, issue type id), its status, its description as Jira holds it."""

    project: str
    issue_type: str
    status: str
    description: Mapping[str, Any] | None

    @classmethod
    def of(cls, issue: Mapping[str, Any]) -> IssueFacts:
        fields = issue.get("fields") or {}
        return cls(
            project=str((fields.get("project") or {}).get("key") or ""),
            issue_type=str((fields.get("issuetype") or {}).get("id") or ""),
            status=str((fields.get("status") or {}).get("id") or ""),
            description=fields.get("description"),
        )


class JiraSession:
    def __init__(
        self,
        client: JiraClient,
        *,
        site_url: str,
        zone: ZoneInfo,
        workflows: WorkflowMap,
        hooks: JiraHooks,
        watermarks: Watermarks,
    ) -> None:
        """``zone``: the connection owner's (an instant's day is taken there: Jira's due date
        has no time); ``workflows``: what is learnt of this site's workflows (shared)."""
        self._client = client
        self._site = site_url
        self._zone = zone
        self._workflow = Workflow(client, workflows)
        self._hooks = hooks
        self._watermarks = watermarks
        self._facts: dict[str, IssueFacts] = {}

    async def targets(self) -> list[Container]:
        containers = []
        async for project in self._client.pages("/project/search"):
            key = str(project["key"])
            kinds = [
                Place(
                    id=str(t["id"]),
                    name=str(t.get("name") or ""),
                    target={"project_key": key, "issue_type_id": str(t["id"])},
                )
                async for t in self._client.pages(
                    path("issue", "createmeta", key, "issuetypes"), key="issueTypes"
                )
            ]
            containers.append(
                Container(
                    id=key,
                    name=str(project.get("name") or key),
                    kind="project",
                    group=self._site,
                    places=await self._places(key),
                    kinds=kinds,
                )
            )
        return containers

    async def _places(self, key: str) -> list[Place]:
        """The project's statuses, each once, in the order its workflows list them."""
        seen: dict[str, Place] = {}
        for kind in await self._client.call("GET", path("project", key, "statuses")) or []:
            for status in kind.get("statuses") or []:
                place = f"{key}:{status['id']}"
                seen.setdefault(place, Place(id=place, name=str(status.get("name") or "")))
        return list(seen.values())

    async def resolve(self, target: Mapping[str, str]) -> Placement:
        """``{"project_key", "issue_type_id"}``: the project, and an issue type one may create
        in it (``PermanentProviderError`` naming the types there are otherwise)."""
        key, kind = target.get("project_key"), target.get("issue_type_id")
        if not key or not kind:
            raise PermanentProviderError(
                'a Jira export needs a target {"project_key": ..., "issue_type_id": ...}',
                status=400,
            )
        where = path("issue", "createmeta", key, "issuetypes")
        kinds = {str(t["id"]) async for t in self._client.pages(where, key="issueTypes")}
        if kind not in kinds:
            raise PermanentProviderError(
                f"issue type {kind[:40]!r} cannot be created in project {key}: it offers "
                f"{', '.join(sorted(kinds)) or 'none'}",
                status=400,
            )
        return Placement(container_id=key, kind=kind)

    async def place(self, place_id: str) -> Placement:
        try:
            key, _ = split_place(place_id)
        except ValueError as exc:
            raise PermanentProviderError(str(exc), status=400) from exc
        if place_id not in {p.id for p in await self._places(key)}:
            raise PermanentProviderError(f"project {key} has no status {place_id}", status=404)
        return Placement(container_id=key, place_id=place_id)

    async def find_marked(self, placement: Placement, link_id: str) -> ProviderItem | None:
        """The issue an earlier attempt created for ``link_id``, by our entity property (one
        search; only ever after a crashed attempt)."""
        key = project_key(placement.container_id)
        jql = f'project = {key} AND issue.property[{MARKER_PROPERTY}].id = "{_quoted(link_id)}"'
        page = await self._client.search(jql, ISSUE_FIELDS, properties=MARKER_PROPERTY)
        found = page.get("issues") or []
        return self._seen(found[0]) if found else None

    async def create(self, placement: Placement, fields: TaskFields, link_id: str) -> ProviderItem:
        """One ``POST /issue`` carrying the fields and our marker (the property exists as soon
        as the issue does), then a read (the answer carries only the id and key)."""
        if placement.kind is None:
            raise PermanentProviderError("a Jira issue needs an issue type", status=400)
        values: dict[FieldName, FieldValue] = {
            n: fields.value(n) for n in ("title", "description", "due") if fields.value(n)
        }
        data = issue_data(values, self._zone)
        data |= {"project": {"key": placement.container_id}, "issuetype": {"id": placement.kind}}
        marker = {"key": MARKER_PROPERTY, "value": marker_value(link_id)}
        body = {"fields": data, "properties": [marker]}
        created = await self._client.call("POST", "/issue", json=body)
        item = await self.read(str(created["id"]))
        if item is None:
            raise PermanentProviderError(f"Jira created issue {created['id']} but cannot show it")
        return item

    async def read(self, external_id: str) -> ProviderItem | None:
        issue = await self._client.maybe(
            path("issue", external_id), {"fields": ISSUE_FIELDS, "properties": MARKER_PROPERTY}
        )
        return None if issue is None else self._seen(issue)

    def _seen(self, issue: Mapping[str, Any]) -> ProviderItem:
        self._facts[str(issue["id"])] = IssueFacts.of(issue)
        return issue_item(issue, self._site)

    async def _facts_of(self, issue_id: str) -> IssueFacts:
        if issue_id not in self._facts and await self.read(issue_id) is None:
            raise PermanentProviderError(f"Jira issue {issue_id} does not exist", status=404)
        return self._facts[issue_id]

    async def update(
        self, item: ProviderItem, changes: Changes, link_id: str, move_to: str | None
    ) -> ProviderItem | None:
        """The changed fields in one ``PUT`` (a description Markdown cannot hold is left as it
        is: ``DescriptionKept`` after the rest is written), then the workflow walk to the
        status the completion asks for (``move_to``: a mapped status; else any status of the
        wanted kind). None: Jira answers both with no body, and the runtime reads the issue
        only where it needs it."""
        issue_id = item.external_id
        facts = await self._facts_of(issue_id)
        wanted: dict[FieldName, FieldValue] = {k: v for k, v in changes.items() if k != "completed"}
        kept = "description" in wanted and not safe_to_replace(facts.description)
        if kept:
            del wanted["description"]
        if wanted:
            data = issue_data(wanted, self._zone)
            await self._client.call("PUT", path("issue", issue_id), json={"fields": data})
        if "completed" in changes or move_to is not None:
            await self._complete(issue_id, facts, bool(changes.get("completed")), move_to)
        self._facts.pop(issue_id, None)  # its status and description may have changed
        if kept:
            raise DescriptionKept(
                f"the description of Jira issue {issue_id} holds what Tether's Markdown cannot "
                "(a mention, a table, a panel...): it was not replaced; edit it in Jira",
                status=409,
            )
        return None

    async def _complete(
        self, issue_id: str, facts: IssueFacts, done: bool, move_to: str | None
    ) -> None:
        target = split_place(move_to)[1] if move_to is not None else None
        if target == facts.status:
            return
        scope = (facts.project, facts.issue_type)
        await self._workflow.reach(issue_id, scope, facts.status, done=done, target=target)

    async def archive(self, external_id: str) -> None:
        await self._mark(external_id, archived=True)

    async def restore(self, external_id: str) -> None:
        await self._mark(external_id, archived=False)

    async def _mark(self, external_id: str, *, archived: bool) -> None:
        where = path("issue", external_id, "properties", MARKER_PROPERTY)
        current = await self._client.maybe(where)
        if current is None:
            if archived:
                return  # the issue (or our mark) is gone: nothing is left to archive
            raise PermanentProviderError(f"Jira issue {external_id} is gone", status=404)
        link_id = str((current.get("value") or {}).get("id") or "")
        await self._client.call("PUT", where, json=marker_value(link_id, archived=archived))

    async def check_grant(self) -> None:
        await self._client.call("GET", "/myself")

    async def ensure_webhook(self, container_id: str, callback_url: str) -> RegisteredWebhook:
        return await self._hooks.ensure(container_id, callback_url)

    async def changes_since(self, container_id: str, cursor: str | None) -> ChangesSince:
        return await self._watermarks.changes_since(container_id, cursor)


def _quoted(value: str) -> str:
    """``value`` inside a JQL string literal (backslash and double quote escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')
