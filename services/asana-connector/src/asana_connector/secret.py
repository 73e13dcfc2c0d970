"""What the runtime keeps (encrypted) for an Asana connection: JSON naming how it connected.

``{"kind": "pat", "access_token": <personal access token>}`` or ``{"kind": "oauth",
"access_token": ..., "refresh_token": ...}``. A personal access token never expires; an OAuth
access token lasts an hour and is renewed with the refresh token (which Asana does not
rotate: https://developers.asana.com/docs/oauth).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from tether_connector_runtime.stored_secret import dump_secret, load_secret

Kind = Literal["pat", "oauth"]
_NEEDS = {"pat": ("access_token",), "oauth": ("access_token", "refresh_token")}


@dataclass(frozen=True)
class AsanaSecret:
    kind: Kind
    access_token: str
    refresh_token: str | None = None

    @property
    def oauth(self) -> bool:
        return self.kind == "oauth"

    def dumps(self) -> str:
        return dump_secret(asdict(self))

    @classmethod
    def loads(cls, stored: str) -> AsanaSecret:
        """The secret a connection stored; ``AuthRevokedError`` for one that cannot be read
        (no call could succeed with it: the person must connect again)."""
        raw = load_secret(stored, "Asana", _NEEDS)
        kind: Kind = "oauth" if raw["kind"] == "oauth" else "pat"
        return cls(kind, raw["access_token"], raw.get("refresh_token"))
