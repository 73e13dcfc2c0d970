"""The connectors an operator command can reach: each one's settings (env prefix
``TETHER_<PROVIDER>_``) and its provider adapter, as its service builds them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from api_gateway.config import GatewaySettings
from asana_connector.adapter import AsanaAdapter
from asana_connector.config import AsanaSettings
from jira_connector.adapter import JiraAdapter
from jira_connector.config import JiraSettings
from tether_cli.ops.common import OperatorError
from tether_connector_runtime.port import ProviderAdapter
from tether_connector_runtime.settings import ConnectorSettings
from trello_connector.adapter import TrelloAdapter
from trello_connector.config import TrelloSettings


@dataclass(frozen=True)
class ConnectorKit:
    """``settings()`` reads the connector's environment; ``adapter(settings, http)`` is the
    provider adapter its app makes from its HTTP client."""

    provider: str
    settings: Callable[[], ConnectorSettings]
    adapter: Callable[[ConnectorSettings, httpx.AsyncClient], ProviderAdapter]

    @property
    def service(self) -> str:
        return f"{self.provider}-connector"


def _trello(settings: ConnectorSettings, http: httpx.AsyncClient) -> ProviderAdapter:
    assert isinstance(settings, TrelloSettings)
    return TrelloAdapter(http, settings)


def _asana(settings: ConnectorSettings, http: httpx.AsyncClient) -> ProviderAdapter:
    assert isinstance(settings, AsanaSettings)
    return AsanaAdapter(http, settings)


def _jira(settings: ConnectorSettings, http: httpx.AsyncClient) -> ProviderAdapter:
    assert isinstance(settings, JiraSettings)
    return JiraAdapter(http, settings)


KITS: dict[str, ConnectorKit] = {
    "trello": ConnectorKit("trello", TrelloSettings, _trello),
    "asana": ConnectorKit("asana", AsanaSettings, _asana),
    "jira": ConnectorKit("jira", JiraSettings, _jira),
}


def deployed(provider: str | None = None) -> list[ConnectorKit]:
    """The connectors this deployment runs (those the gateway's settings give a URL), or the
    one named ``provider``; raises :class:`OperatorError` if it is unknown or not deployed."""
    running = [KITS[name] for name in GatewaySettings().connector_urls() if name in KITS]
    if provider is None:
        return running
    if provider not in KITS:
        raise OperatorError(f"unknown provider {provider!r} (one of: {', '.join(KITS)})")
    chosen = [kit for kit in running if kit.provider == provider]
    if not chosen:
        raise OperatorError(f"the {provider} connector is not deployed (its gateway URL is unset)")
    return chosen
