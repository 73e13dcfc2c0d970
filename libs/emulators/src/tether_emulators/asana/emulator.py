"""The emulator's state and the operations the Asana API and the control API share.

A task changed through the API (by Tether) and one changed through the control API ("by a
person in Asana") go through ``tasks.py`` and ``publish``, so both record the same events and
fire the same webhooks; only the acting user differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tether_emulators.asana.errors import AsanaError, unknown_object
from tether_emulators.asana.events import Event, EventLog
from tether_emulators.asana.limits import LimitConfig, RateLimiter
from tether_emulators.asana.store import (
    GID_BASE,
    JSON,
    AsanaStore,
    Credential,
    Project,
    Task,
    User,
    Workspace,
    asana_time,
)
from tether_emulators.asana.webhook_model import Webhook
from tether_emulators.asana.webhooks import WebhookDispatcher
from tether_emulators.common.deliveries import DeliverySettings
from tether_emulators.common.emulator import reset_shared_parts
from tether_emulators.common.limits import Clock
from tether_emulators.common.outages import Outages
from tether_emulators.common.request_log import RequestLog

SANDBOX_TOKEN = "sandbox-asana-token"
SANDBOX_SECTIONS = ["To do", "Doing", "Done"]
SANDBOX_GID_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SandboxInfo:
    user_gid: str
    token: str
    workspace_gid: str
    project_gid: str
    section_gids: dict[str, str]


@dataclass(frozen=True)
class OAuthApp:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


class AsanaEmulator:
    """One emulated Asana: store, events, webhooks, limits, outages, clock and request log."""

    def __init__(
        self,
        *,
        tokens: Mapping[str, str],
        apps: Sequence[OAuthApp],
        limits: LimitConfig,
        clock: Clock,
        wall_clock: Callable[[], datetime],
        deliveries: DeliverySettings,
        allow_local_targets: bool,
        sandbox: bool,
    ) -> None:
        self._initial_tokens = dict(tokens)
        self.apps = {app.client_id: app for app in apps}
        self._clock, self._wall_clock = clock, wall_clock
        self.offset = 0.0  # seconds the control API moved the clock forward
        self.allow_local_targets = allow_local_targets
        self._sandbox = sandbox
        self.limiter = RateLimiter(limits, self.monotonic)
        self.outages = Outages("project_gid")
        self.requests = RequestLog(lambda: asana_time(self.now()))
        self.webhooks: dict[str, Webhook] = {}
        self.dispatcher = WebhookDispatcher(
            deliveries,
            lookup=self.webhooks.get,
            forget=self._forget_webhook,
            now=lambda: asana_time(self.now()),
        )
        self.sandbox_info: SandboxInfo | None = None
        self._seed()

    def _forget_webhook(self, webhook_gid: str) -> None:
        self.webhooks.pop(webhook_gid, None)

    def now(self) -> datetime:
        return self._wall_clock() + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return self._clock() + self.offset

    def _seed(self) -> None:
        self.store = store = AsanaStore(self.now)
        self.events = EventLog(self.now)
        self.webhooks.clear()
        # The "person in Asana" whom control-API edits are attributed to by default.
        self.person = store.add_user("A Person In Asana", "person@asana.test")
        self.workspace = store.add_workspace("Emulated Workspace")
        for token, name in self._initial_tokens.items():
            self.add_user(name, token=token)
        if self._sandbox:
            user = self.add_user("Sandbox User", token=SANDBOX_TOKEN)
            project = store.add_project(self.workspace, "Sandbox", SANDBOX_SECTIONS)
            sections = {s.name: s.gid for s in store.project_sections(project.gid)}
            self.sandbox_info = SandboxInfo(
                user.gid, SANDBOX_TOKEN, self.workspace.gid, project.gid, sections
            )
            # The seeded gids stay the same across restarts, so a client's connection and
            # mapping still fit. What is made later must not repeat an earlier run's gids: a
            # client still linked to that run's task would take the new task for it. Later
            # gids count up from the start's time in microseconds, far above the seeded ones.
            elapsed = self.now() - SANDBOX_GID_EPOCH
            store.skip_gids_to(GID_BASE + elapsed // timedelta(microseconds=1))

    def add_user(self, name: str, *, token: str | None = None) -> User:
        """A user in every workspace; ``token`` becomes their personal access token."""
        slug = "".join(c for c in name.lower() if c.isalnum()) or "user"
        user = self.store.add_user(name, f"{slug}@asana.test")
        if token is not None:
            self.store.tokens[token] = Credential(user.gid)
        return user

    async def reset(self) -> None:
        """Back to the state right after start-up."""
        await reset_shared_parts(self)
        self.offset = 0.0
        self._seed()

    async def aclose(self) -> None:
        await self.dispatcher.aclose()

    # --- access ----------------------------------------------------------------------------

    def visible_workspace(self, user: User, gid: str) -> Workspace:
        workspace = self.store.workspace(gid)
        if user.gid not in workspace.member_gids:
            raise unknown_object(gid)
        return workspace

    def visible_project(self, user: User, gid: str) -> Project:
        project = self.store.project(gid)
        self.visible_workspace(user, project.workspace_gid)
        return project

    def visible_task(self, user: User, credential: Credential, ident: str) -> Task:
        """A task by gid, or by ``external:<gid>`` for the OAuth app that set that external id
        (https://developers.asana.com/docs/custom-external-data)."""
        if ident.startswith("external:"):
            task = self._by_external(credential, ident.removeprefix("external:"))
        else:
            task = self.store.task(ident)
        if not self.store.can_see_workspace(user.gid, task.workspace_gid):
            raise unknown_object(ident)
        return task

    def _by_external(self, credential: Credential, external_gid: str) -> Task:
        for task in self.store.tasks.values():
            external = task.externals.get(credential.app or "")
            found = credential.is_oauth and external and external.gid == external_gid
            if found and task.trashed_at is None:
                return task
        raise unknown_object(f"external:{external_gid}")

    def actor(self, user_gid: str | None) -> User:
        if user_gid is None:
            return self.person
        user = self.store.users.get(user_gid)
        if user is None:
            raise AsanaError(400, "user: Unknown user")
        return user

    # --- events ----------------------------------------------------------------------------

    def task_event(
        self,
        actor: User,
        task: Task,
        action: str,
        field: str | None = None,
        *,
        parent: JSON | None = None,
        extra: set[str] | None = None,
    ) -> list[Event]:
        """Record one event about ``task``; it bubbles up to the task's projects and sections.

        ``change`` has no ``new_value``: name, notes, due dates and completion are not Asana
        objects, and only object values are carried (the ``EventResponse`` schema).
        """
        concerns = {task.gid, *(g for m in task.memberships for g in m), *(extra or set())}
        if parent is not None:
            concerns.add(str(parent["gid"]))
        change = {"field": field, "action": "changed"} if field else None
        event = self.events.record(
            user=actor.compact(),
            action=action,
            resource=task.compact(),
            parent=parent,
            change=change,
            concerns=frozenset(concerns),
        )
        return [event]

    def publish(self, events: list[Event]) -> None:
        """Deliver one operation's events: one POST per interested webhook."""
        for webhook in list(self.webhooks.values()):
            wanted = [event for event in events if webhook.wants(event)]
            if wanted:
                self.dispatcher.dispatch(webhook, wanted)
