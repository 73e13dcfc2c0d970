"""One Asana account as the runtime's :class:`ProviderSession`: workspaces, projects and
sections; tasks; project webhooks; the events API (PROVIDERS.md, Asana).

A project is the runtime's container and its sections are the places. A task in the trash
answers 404, so ``read`` says it no longer exists (the runtime's deletion rules take over, and
exporting its task again makes a new one): Asana has no API to take a task out of the trash,
so ``restore`` refuses plainly.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from asana_connector.client import AsanaClient, SyncTokenExpired, path
from asana_connector.mapping import (
    OAUTH_TASK_FIELDS,
    TASK_FIELDS,
    split_marker,
    start_to_clear,
    task_data,
    task_gids,
    task_item,
)
from tether_connector_runtime.port import (
    ChangesSince,
    ItemNotice,
    Placement,
    ProviderItem,
    RegisteredWebhook,
)
from tether_connector_runtime.retry import PermanentProviderError
from tether_contracts.connections import Container, Place
from tether_sync import FieldName, FieldValue, TaskFields

# Pages of 100 events read back to the cursor in one poll: past that, reading every linked
# task is cheaper, so the poll says it is incomplete.
EVENT_PAGES = 10
# The task changes a project webhook is asked for (https://developers.asana.com/reference/createwebhook):
# edits, section and project moves, trashing and un-trashing.
WEBHOOK_FILTERS = [
    {"resource_type": "task", "action": action}
    for action in ("changed", "added", "removed", "deleted", "undeleted")
]
Changes = Mapping[FieldName, FieldValue]
# Asana's gids are strings of digits; anything else would only reach another route.
_GID = re.compile(r"\d{1,32}")


def asana_gid(kind: str, value: object) -> str:
    """``value`` if it is an Asana gid; ``PermanentProviderError`` naming ``kind`` if not."""
    if isinstance(value, str) and _GID.fullmatch(value):
        return value
    raise PermanentProviderError(
        f"not an Asana {kind} gid (digits): {str(value)[:40]!r}", status=400
    )


class AsanaSession:
    def __init__(self, client: AsanaClient, *, oauth: bool, event_pages: int = EVENT_PAGES):
        """``oauth``: the token is an OAuth app's, which marks tasks with ``external``; a
        personal access token marks them inside ``html_notes`` (mapping.py)."""
        self._client = client
        self._oauth = oauth
        self._fields = OAUTH_TASK_FIELDS if oauth else TASK_FIELDS
        self._event_pages = event_pages
        # Each task's start date as last answered (gid -> YYYY-MM-DD or None): a due date
        # written on or before it needs it cleared in the same request.
        self._start_on: dict[str, Any] = {}

    async def targets(self) -> list[Container]:
        containers = []
        for workspace in await self._client.all("/workspaces"):
            projects = await self._client.all(
                "/projects", {"workspace": str(workspace["gid"]), "archived": "false"}
            )
            for project in projects:
                sections = await self._client.all(path("projects", str(project["gid"]), "sections"))
                containers.append(
                    Container(
                        id=str(project["gid"]),
                        name=str(project.get("name") or ""),
                        kind="project",
                        group=str(workspace.get("name") or ""),
                        places=[
                            Place(
                                id=str(s["gid"]),
                                name=str(s["name"]),
                                target={
                                    "project_gid": str(project["gid"]),
                                    "section_gid": str(s["gid"]),
                                },
                            )
                            for s in sections
                        ],
                    )
                )
        return containers

    async def resolve(self, target: Mapping[str, str]) -> Placement:
        """``{"project_gid", "section_gid"?}``: the project, and the section in it (its first
        section when none is named, which is where Asana puts a new task)."""
        if not target.get("project_gid"):
            raise PermanentProviderError(
                'an Asana export needs a target {"project_gid": ..., "section_gid"?: ...}'
            )
        project = asana_gid("project", target["project_gid"])
        if not target.get("section_gid"):
            return Placement(container_id=project)
        placement = await self.place(target["section_gid"])
        if placement.container_id != project:
            raise PermanentProviderError(
                f"section {placement.place_id} is not in project {project}", status=400
            )
        return placement

    async def place(self, place_id: str) -> Placement:
        section = await self._client.call(
            "GET",
            path("sections", asana_gid("section", place_id)),
            params={"opt_fields": "project"},
        )
        return Placement(container_id=str(section["project"]["gid"]), place_id=place_id)

    async def find_marked(self, placement: Placement, link_id: str) -> ProviderItem | None:
        """The task an earlier attempt created for ``link_id``: by ``external`` (one call) for
        OAuth; for a personal access token, by reading the project's tasks (paged, html_notes
        included) for our marker: only ever after a crashed attempt."""
        if self._oauth:
            found = await self._client.maybe(
                path("tasks", f"external:{link_id}"), {"opt_fields": self._fields}
            )
            return None if found is None else task_item(found)
        where = path("projects", asana_gid("project", placement.container_id), "tasks")
        async for task in self._client.pages(where, {"opt_fields": self._fields}):
            if split_marker(str(task.get("html_notes") or ""))[1] == link_id:
                return task_item(task)
        return None

    async def create(self, placement: Placement, fields: TaskFields, link_id: str) -> ProviderItem:
        values: dict[str, FieldValue] = dict(fields.model_dump())
        if values.get("due") is None:
            values.pop("due", None)  # nothing to clear on a new task
        data = task_data(values, pat_link_id=None if self._oauth else link_id)
        project = asana_gid("project", placement.container_id)
        data["projects"] = [project]
        if placement.place_id is not None:
            data["memberships"] = [{"project": project, "section": placement.place_id}]
        if self._oauth:
            data["external"] = {"gid": link_id}
        task = await self._client.call("POST", "/tasks", params=self._opt(), data=data)
        return self._seen(task)

    async def read(self, external_id: str) -> ProviderItem | None:
        task = await self._client.maybe(path("tasks", asana_gid("task", external_id)), self._opt())
        return None if task is None else self._seen(task)

    def _seen(self, task: Mapping[str, Any]) -> ProviderItem:
        """The pipeline's view of a task answer; its start date is kept for the next write."""
        self._start_on[str(task["gid"])] = task.get("start_on")
        return task_item(task)

    async def update(
        self, item: ProviderItem, changes: Changes, link_id: str, move_to: str | None
    ) -> ProviderItem:
        """Only the changed fields (an unchanged description is never rewritten: Asana's
        mentions and underlines would not survive the Markdown), then the section move."""
        gid = asana_gid("task", item.external_id)
        data = task_data(
            {str(k): v for k, v in changes.items()}, pat_link_id=None if self._oauth else link_id
        )
        if "due" in changes and start_to_clear(self._start_on.get(gid), changes["due"]):
            # Asana refuses a start date without a due date, or on or after it: the due date
            # is what we sync, so a person's start date in its way goes with it (the request
            # carries the due date, as Asana asks when start_on is unset).
            data["start_on"] = None
        if data:
            task = await self._client.call("PUT", path("tasks", gid), params=self._opt(), data=data)
            item = self._seen(task)
        if move_to is not None and move_to != item.place_id:
            section = asana_gid("section", move_to)
            await self._client.call(
                "POST", path("sections", section, "addTask"), data={"task": gid}
            )
            item = dataclasses.replace(item, place_id=section)
        return item

    async def archive(self, external_id: str) -> None:
        # DELETE moves the task to the trash, recoverable for 30 days in Asana's app.
        try:
            await self._client.call("DELETE", path("tasks", asana_gid("task", external_id)))
        except PermanentProviderError as exc:
            if exc.status != 404:  # already in the trash
                raise

    async def restore(self, external_id: str) -> None:
        raise PermanentProviderError(
            f"Asana has no API to take task {external_id} out of the trash: restore it in "
            "Asana (Trash, then Restore) or export the task again to make a new one"
        )

    async def check_grant(self) -> None:
        await self._client.call("GET", "/users/me", params={"opt_fields": "name"})

    async def ensure_webhook(self, container_id: str, callback_url: str) -> RegisteredWebhook:
        """A project webhook calling ``callback_url``. A webhook of ours already there for it
        (registered before a crash) is deleted and made again: Asana shows a webhook's secret
        only when it is created, and without it no delivery could be verified."""
        project = asana_gid("project", container_id)
        about = await self._client.call(
            "GET", path("projects", project), params={"opt_fields": "workspace"}
        )
        hooks = await self._client.all(
            "/webhooks", {"workspace": str(about["workspace"]["gid"]), "resource": project}
        )
        for hook in hooks:
            if hook.get("target") == callback_url:
                await self._client.call("DELETE", path("webhooks", str(hook["gid"])))
        # Asana calls callback_url with X-Hook-Secret while this request is open.
        body = {"data": {"resource": project, "target": callback_url, "filters": WEBHOOK_FILTERS}}
        response = await self._client.raw("POST", "/webhooks", json=body)
        answer = response.json()
        secret = answer.get("X-Hook-Secret") or response.headers.get("x-hook-secret")
        return RegisteredWebhook(str(answer["data"]["gid"]), str(secret) if secret else None)

    async def changes_since(self, container_id: str, cursor: str | None) -> ChangesSince:
        """The tasks named by the project's events after ``cursor`` (a sync token), one
        notice each, and the token to poll from next. None: no history, a fresh token only.
        A token Asana no longer knows (412, e.g. older than 24 hours) gives the fresh one and
        ``complete=False`` (the runtime then reads every linked task); so does a backlog of
        more than ``event_pages`` pages."""
        project = asana_gid("project", container_id)
        try:
            page = await self._client.events(project, cursor)
        except SyncTokenExpired as expired:
            return ChangesSince([], expired.sync, complete=cursor is None)
        if cursor is None:
            return ChangesSince([], str(page.get("sync") or ""))
        events: list[dict[str, Any]] = list(page.get("data") or [])
        for _ in range(self._event_pages - 1):
            if not page.get("has_more"):
                break
            try:
                page = await self._client.events(project, str(page["sync"]))
            except SyncTokenExpired as expired:
                return ChangesSince([], expired.sync, complete=False)
            events.extend(page.get("data") or [])
        notices = [ItemNotice(gid) for gid in task_gids(events)]
        return ChangesSince(notices, str(page["sync"]), complete=not page.get("has_more"))

    def _opt(self) -> dict[str, str]:
        return {"opt_fields": self._fields}
