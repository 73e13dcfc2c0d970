"""The emulator's state and the operations the Jira API and the control API share.

An issue changed through the API (by a client) and one changed through the control API ("by a
person in Jira") go through ``issues.py`` and ``publish``, so both fire the same webhooks; only
the acting user differs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tether_emulators.common.deliveries import DeliverySettings
from tether_emulators.common.emulator import reset_shared_parts
from tether_emulators.common.limits import Clock
from tether_emulators.common.outages import Outages
from tether_emulators.common.request_log import RequestLog
from tether_emulators.jira import workflow
from tether_emulators.jira.errors import JiraError
from tether_emulators.jira.issues import IssueEvent
from tether_emulators.jira.limits import LimitConfig, RateLimiter
from tether_emulators.jira.match import Reader
from tether_emulators.jira.oauth_state import OAuthState
from tether_emulators.jira.payloads import issue_payload
from tether_emulators.jira.store import JiraStore, User, jira_time
from tether_emulators.jira.webhook_model import Webhook
from tether_emulators.jira.webhooks import WebhookDispatcher

SANDBOX_EMAIL = "sandbox@tether.test"
SANDBOX_TOKEN = "sandbox-jira-token"
SANDBOX_PROJECT = "SAND"
SANDBOX_ID_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SANDBOX_ID_BASE = 100_000  # what is made after the seed counts up from here (and time)


@dataclass(frozen=True)
class SandboxInfo:
    """What ``sandbox=True`` seeded: an administrator (Administer Jira: admin webhooks) with an
    API token, and a project with the default workflow; names -> ids of its issue types and of
    the workflow's statuses."""

    account_id: str
    email: str
    api_token: str
    project_key: str
    issue_type_ids: dict[str, str]
    status_ids: dict[str, str]


@dataclass(frozen=True)
class JiraAccount:
    """A user seeded at start-up, with an API token for Basic auth (``email:api_token``)."""

    email: str
    api_token: str
    display_name: str = "Tether"
    time_zone: str = "UTC"
    admin: bool = False


@dataclass(frozen=True)
class OAuthApp:
    """An OAuth 2.0 (3LO) app from the developer console; empty ``redirect_uris`` take any."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class Site:
    """The one Jira site: its name, its URL (``https://<name>.atlassian.net`` for real; the
    emulator's own address here) and its cloud id."""

    name: str
    url: str
    cloud_id: str


class JiraEmulator:
    """One emulated Jira Cloud site: store, OAuth, webhooks, limits, outages, clock, log."""

    def __init__(
        self,
        *,
        site: Site,
        accounts: Sequence[JiraAccount],
        apps: Sequence[OAuthApp],
        limits: LimitConfig,
        clock: Clock,
        wall_clock: Callable[[], datetime],
        deliveries: DeliverySettings,
        sandbox: bool,
    ) -> None:
        self.site = site
        self._accounts = list(accounts)
        self.apps = {app.client_id: app for app in apps}
        self._clock, self._wall_clock = clock, wall_clock
        self.offset = 0.0  # seconds the control API moved the clock forward
        self._sandbox = sandbox
        self.sandbox_info: SandboxInfo | None = None
        self.limiter = RateLimiter(limits, self.monotonic)
        self.outages = Outages("project_key")
        self.requests = RequestLog(lambda: jira_time(self.now()))
        self.webhooks: dict[str, Webhook] = {}
        self.dispatcher = WebhookDispatcher(
            deliveries,
            lookup=self.webhooks.get,
            forget=self._forget_webhook,
            now=lambda: jira_time(self.now()),
        )
        self._seed()

    def _forget_webhook(self, ident: str) -> None:
        self.webhooks.pop(ident, None)

    @property
    def base(self) -> str:
        return self.site.url

    def now(self) -> datetime:
        return self._wall_clock() + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return self._clock() + self.offset

    def _seed(self) -> None:
        self.store = JiraStore(self.now)
        self.oauth = OAuthState(self.now)
        self.webhooks.clear()
        self._webhook_ids = itertools.count(1)
        self._changelog_ids = itertools.count(10000)
        # The "person in Jira" whom control-API edits are attributed to by default.
        self.person = self.add_user("A Person In Jira", "person@jira.test")
        for account in self._accounts:
            self.add_user(account.display_name, account.email, account.time_zone, account.admin)
            self.store.tokens[(account.email, account.api_token)] = self.user_id(account.email)
        if self._sandbox:
            self.sandbox_info = self._seed_sandbox()

    def _seed_sandbox(self) -> SandboxInfo:
        """The sandbox's administrator and project. Their ids stay the same across restarts, so
        a client's connection still fits. What is made later must not repeat an earlier run's
        ids: a client still linked to that run's issue would take the new issue for it. Later
        ids count up from the start's time in microseconds, far above the seeded ones."""
        user = self.add_user("Sandbox User", SANDBOX_EMAIL, "UTC", admin=True)
        self.store.tokens[(SANDBOX_EMAIL, SANDBOX_TOKEN)] = user.account_id
        project = self.store.add_project(SANDBOX_PROJECT, "Sandbox")
        elapsed = self.now() - SANDBOX_ID_EPOCH
        self.store.skip_ids_to(SANDBOX_ID_BASE + elapsed // timedelta(microseconds=1))
        return SandboxInfo(
            user.account_id,
            SANDBOX_EMAIL,
            SANDBOX_TOKEN,
            project.key,
            issue_type_ids={t.name: t.id for t in project.issue_types},
            status_ids={s.name: s.id for s in workflow.STATUSES.values()},
        )

    def add_user(self, name: str, email: str, time_zone: str = "UTC", admin: bool = False) -> User:
        """A user on the site; account ids look like Atlassian's (``5b10a2844c20165700ede21g``
        style: hexadecimal, 24 characters)."""
        account_id = f"5b10ac8d82e05b22cc7d{len(self.store.users) + 1:04x}"
        return self.store.add_user(User(account_id, name, email, time_zone, admin))

    def user_id(self, email: str) -> str:
        user = self.store.user_by_email(email)
        assert user is not None
        return user.account_id

    def actor(self, account_id: str | None) -> User:
        """Who acts in a control-API call: the person in Jira unless another user is named."""
        if account_id is None:
            return self.person
        user = self.store.users.get(account_id)
        if user is None:
            raise JiraError(400, f"Unknown accountId: {account_id}")
        return user

    def reader(self, user: User) -> Reader:
        """How ``user`` reads JQL: in their profile's time zone."""
        return Reader(self.store, user.time_zone, self.now)

    def next_webhook_id(self) -> int:
        return next(self._webhook_ids)

    async def reset(self) -> None:
        """Back to the state right after start-up."""
        await reset_shared_parts(self)
        self.offset = 0.0
        self._seed()

    async def aclose(self) -> None:
        await self.dispatcher.aclose()

    # --- webhooks --------------------------------------------------------------------------

    def publish(self, event: IssueEvent) -> None:
        """Deliver ``event``: one POST per app and URL of the dynamic webhooks that match it,
        one per matching admin webhook."""
        now, changelog_id = self.now(), str(next(self._changelog_ids))
        by_app: dict[tuple[str, str], list[Webhook]] = {}
        for webhook in list(self.webhooks.values()):
            owner = self.store.users.get(webhook.owner) or self.person
            if not webhook.wants(event.webhook_event, event.issue, self.reader(owner), now):
                continue
            if webhook.kind == "admin":
                payload = issue_payload(self.store, event, self.base, None, changelog_id)
                self.dispatcher.send(webhook, payload, now)
            else:
                by_app.setdefault((webhook.app or "", webhook.url), []).append(webhook)
        for matched in by_app.values():
            ids = [w.id for w in matched]
            payload = issue_payload(self.store, event, self.base, ids, changelog_id)
            self.dispatcher.send(matched[0], payload, now)


def default_site(url: str = "https://tether-emulated.atlassian.net") -> Site:
    return Site("tether-emulated", url, "11111111-2222-4333-8444-555555555555")


__all__ = ["JiraAccount", "JiraEmulator", "OAuthApp", "SandboxInfo", "Site", "default_site"]
