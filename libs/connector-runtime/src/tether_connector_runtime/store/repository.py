"""Every query a connector makes, over its provider's tables: one object, its queries kept
by subject (connections, links, parked work, the webhook intake)."""

from __future__ import annotations

from tether_connector_runtime.store.connections_queries import ConnectionQueries
from tether_connector_runtime.store.intake_queries import IntakeQueries
from tether_connector_runtime.store.links_queries import LinkQueries
from tether_connector_runtime.store.parking_queries import ParkingQueries
from tether_connector_runtime.store.records import WATCHED, Parked, StoredLink, WriteIntent
from tether_connector_runtime.store.tables import ConnectorTables

__all__ = ["WATCHED", "ConnectorRepository", "Parked", "StoredLink", "WriteIntent"]


class ConnectorRepository(ConnectionQueries, LinkQueries, ParkingQueries, IntakeQueries):
    def __init__(self, tables: ConnectorTables) -> None:
        self.t = tables
