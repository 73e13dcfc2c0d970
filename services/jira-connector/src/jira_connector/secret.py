"""What the runtime keeps (encrypted) for a Jira connection: JSON naming how it connected.

- ``{"kind": "basic", "site_url", "email", "api_token"}``: an API token of the person's
  Atlassian account, sent with Basic auth to ``<site_url>/rest/api/3``; it does not expire
  (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/).
- ``{"kind": "oauth", "site_url", "cloud_id", "access_token", "refresh_token"}``: an OAuth 2.0
  (3LO) grant; calls go to ``<api_url>/ex/jira/<cloud_id>/rest/api/3``; the access token lasts
  an hour and each refresh ROTATES the refresh token (PROVIDERS.md, Jira Cloud).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from tether_connector_runtime.stored_secret import dump_secret, load_secret

Kind = Literal["basic", "oauth"]
_NEEDS: dict[str, tuple[str, ...]] = {
    "basic": ("site_url", "email", "api_token"),
    "oauth": ("site_url", "cloud_id", "access_token", "refresh_token"),
}


@dataclass(frozen=True)
class JiraSecret:
    kind: Kind
    site_url: str
    email: str | None = None
    api_token: str | None = None
    cloud_id: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None

    @property
    def oauth(self) -> bool:
        return self.kind == "oauth"

    @property
    def credential(self) -> str:
        """The text that must never appear in a message (the API token or access token)."""
        return str(self.access_token if self.oauth else self.api_token)

    def dumps(self) -> str:
        return dump_secret(asdict(self))

    @classmethod
    def basic(cls, site_url: str, email: str, api_token: str) -> JiraSecret:
        return cls("basic", site_url, email=email, api_token=api_token)

    @classmethod
    def loads(cls, stored: str) -> JiraSecret:
        """The secret a connection stored; ``AuthRevokedError`` for one that cannot be read
        (no call could succeed with it: the person must connect again)."""
        raw = load_secret(stored, "Jira", _NEEDS)
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__ and k != "kind"}
        return cls("oauth" if raw["kind"] == "oauth" else "basic", **known)


def account_key(account_id: str, site_url: str) -> str:
    """The connection's account id: the Atlassian account on one site (``<accountId>@<host>``),
    so one person connecting two sites has two connections, and connecting a site again (by
    either way in) repairs the same one."""
    host = site_url.split("://", 1)[-1].split("/", 1)[0].lower()
    return f"{account_id}@{host}"[:128]
