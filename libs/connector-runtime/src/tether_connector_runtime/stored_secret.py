"""An adapter's stored secret as JSON naming how the account connected (``kind``) and the
credentials that way needs: written and read the same way by every adapter that keeps more than
one token (an API token, or OAuth's access and refresh tokens)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from tether_connector_runtime.retry import AuthRevokedError


def dump_secret(values: Mapping[str, str | None]) -> str:
    """``values`` as compact JSON, the unset ones left out."""
    return json.dumps({k: v for k, v in values.items() if v is not None})


def load_secret(stored: str, provider: str, needs: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """The stored JSON's string values; ``needs`` maps each ``kind`` to the keys it must
    have (non-empty). ``AuthRevokedError`` for anything else: no call could succeed with it,
    so the person must connect again."""
    try:
        raw = json.loads(stored)
        needed = needs[raw["kind"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthRevokedError(f"the stored {provider} credentials are unreadable") from exc
    values = {str(k): v for k, v in raw.items() if isinstance(v, str)}
    if not all(values.get(name) for name in needed):
        raise AuthRevokedError(f"the stored {provider} credentials are unreadable")
    return values
