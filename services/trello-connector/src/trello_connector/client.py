"""Trello's REST API, as much of it as the connector speaks (see PROVIDERS.md)."""

from __future__ import annotations

from typing import Any

import httpx

from tether_connector_runtime.ratelimit import RateLimiter
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)

# Trello sends no Retry-After; its per-token window is 10 s, so waiting one window is the
# shortest pause that surely clears it.
TRELLO_WINDOW_SECONDS = 10.0


class TrelloClient:
    """One user's view of Trello: the app key plus that user's token.

    Credentials travel in the ``Authorization: OAuth`` header rather than the query string, so
    they never appear in access logs or in error messages that quote the URL.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        key: str,
        token: str,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._http = http
        self._api = api_url.rstrip("/")
        self._key = key
        self._token = token
        self._limiter = limiter

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {
            "Authorization": f'OAuth oauth_consumer_key="{self._key}", oauth_token="{self._token}"'
        }
        budgets = (f"token:{self._token[-12:]}", f"key:{self._key}")
        try:
            if self._limiter is not None:
                async with self._limiter.acquire(*budgets):
                    response = await self._http.request(
                        method, f"{self._api}{path}", headers=headers, **kwargs
                    )
            else:
                response = await self._http.request(
                    method, f"{self._api}{path}", headers=headers, **kwargs
                )
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableProviderError(f"Trello unreachable: {exc!r}") from exc
        if response.status_code == 429:
            if self._limiter is not None:
                scope = budgets[1] if "KEY" in response.text else budgets[0]
                self._limiter.penalize(scope, TRELLO_WINDOW_SECONDS)
            raise RetryableProviderError(
                f"Trello rate limit: {response.text[:200]}", retry_after=TRELLO_WINDOW_SECONDS
            )
        if response.status_code >= 500:
            raise RetryableProviderError(
                f"Trello {response.status_code}: {response.text[:200]}", retry_after=None
            )
        if response.status_code == 401:
            raise AuthRevokedError(f"Trello refused the token: {response.text[:200]}")
        if response.status_code >= 400:
            raise PermanentProviderError(
                f"Trello {response.status_code} on {method} {path}: {response.text[:200]}",
                status=response.status_code,
            )
        return response.json() if response.content else None

    async def me(self) -> dict[str, Any]:
        return dict(await self._call("GET", "/members/me"))

    async def boards(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", "/members/me/boards", params={"filter": "open"}))

    async def lists(self, board_id: str) -> list[dict[str, Any]]:
        return list(await self._call("GET", f"/boards/{board_id}/lists"))

    async def list_(self, list_id: str) -> dict[str, Any]:
        return dict(await self._call("GET", f"/lists/{list_id}"))

    async def board_cards(self, board_id: str) -> list[dict[str, Any]]:
        return list(await self._call("GET", f"/boards/{board_id}/cards/all"))

    async def card(self, card_id: str) -> dict[str, Any] | None:
        try:
            return dict(await self._call("GET", f"/cards/{card_id}"))
        except PermanentProviderError as exc:
            if exc.status == 404:
                return None
            raise

    async def create_card(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("POST", "/cards", json=params))

    async def update_card(self, card_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("PUT", f"/cards/{card_id}", json=params))

    async def create_webhook(
        self, *, callback_url: str, model_id: str, description: str
    ) -> dict[str, Any]:
        return dict(
            await self._call(
                "POST",
                "/webhooks",
                json={
                    "callbackURL": callback_url,
                    "idModel": model_id,
                    "description": description,
                    "active": True,
                },
            )
        )

    async def token_webhooks(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", f"/tokens/{self._token}/webhooks"))

    async def board_actions(self, board_id: str, since: str | None) -> list[dict[str, Any]]:
        params = {"filter": "createCard,updateCard,deleteCard", "limit": "1000"}
        if since:
            params["since"] = since
        return list(await self._call("GET", f"/boards/{board_id}/actions", params=params))
