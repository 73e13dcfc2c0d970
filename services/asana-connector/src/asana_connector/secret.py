"""What the runtime keeps (encrypted) for an Asana connection: JSON naming how it connected.

``{"kind": "pat", "access_token": <personal access token>}`` or ``{"kind": "oauth",
"access_token": ..., "refresh_token": ...}``. A personal access token never expires; an OAuth
access token lasts an hour and is renewed with the refresh token (which Asana does not
rotate: https://developers.asana.com/docs/oauth).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

from tether_connector_runtime.retry import AuthRevokedError

Kind = Literal["pat", "oauth"]


@dataclass(frozen=True)
class AsanaSecret:
    kind: Kind
    access_token: str
    refresh_token: str | None = None

    @property
    def oauth(self) -> bool:
        return self.kind == "oauth"

    def dumps(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def loads(cls, stored: str) -> AsanaSecret:
        """The secret a connection stored; ``AuthRevokedError`` for one that cannot be read
        (no call could succeed with it: the person must connect again)."""
        try:
            raw = json.loads(stored)
            kind = raw["kind"]
            access, refresh = str(raw["access_token"]), raw.get("refresh_token")
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthRevokedError("the stored Asana credentials are unreadable") from exc
        if kind not in ("pat", "oauth") or (kind == "oauth" and not refresh):
            raise AuthRevokedError("the stored Asana credentials are unreadable")
        return cls(kind, access, str(refresh) if refresh else None)
