"""Every call a connector makes to its provider, counted by endpoint class and status.

Counted by an httpx response hook on the connector's one client (app.py), so each adapter's
calls are counted whatever its client looks like (Trello's has its own, Asana's and Jira's go
through provider_http). A 429 is a status like any other: ``status="429"`` is the rate-limit
count of a provider. A call that got no answer (timeout, network) is not counted here: it
surfaces as a retry (parking.py's ``tether_connector_link_retries_total``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
from prometheus_client import Counter

PROVIDER_CALLS = Counter(
    "tether_connector_provider_calls_total",
    "Calls to a provider's API, by endpoint class (method and resource) and answer status",
    ["provider", "endpoint", "status"],
)

# A resource name: lower-case words. Ids (Trello's hex, Asana's digits, Jira's PROJ-12),
# versions ("1", "3", "1.0") and anything with a digit are not, so the label set stays the
# provider's vocabulary of resources.
_RESOURCE = re.compile(r"^[a-z][a-z_]{0,31}$")


def endpoint_class(method: str, path: str) -> str:
    """``"PUT cards"`` for ``PUT /1/cards/5f1c...``: the method and the last resource named in
    the path (``GET /1/boards/abc/cards`` is ``GET cards``)."""
    resources = [part for part in path.split("/") if _RESOURCE.match(part)]
    return f"{method.upper()} {resources[-1] if resources else '/'}"


def counting_hook(provider: str) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx response hook counting each answer ``provider``'s API gave."""

    async def count(response: httpx.Response) -> None:
        request = response.request
        endpoint = endpoint_class(request.method, request.url.path)
        PROVIDER_CALLS.labels(provider, endpoint, str(response.status_code)).inc()

    return count
