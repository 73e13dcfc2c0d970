"""One ASGI entry point for several apps, chosen by path prefix (embedded mode).

Unlike Starlette's Mount it keeps the full path, so each service serves exactly the routes it
serves when it runs alone (``/webhooks/trello`` stays ``/webhooks/trello``).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send


class PathDispatcher:
    def __init__(self, routes: Sequence[tuple[str, ASGIApp]], default: ASGIApp) -> None:
        # Longest prefix first, so /webhooks/trello wins over a hypothetical /webhooks.
        self._routes = sorted(routes, key=lambda route: len(route[0]), reverse=True)
        self._default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            for prefix, app in self._routes:
                if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                    await app(scope, receive, send)
                    return
        await self._default(scope, receive, send)
