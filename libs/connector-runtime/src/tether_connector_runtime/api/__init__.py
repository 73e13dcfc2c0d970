"""The internal HTTP API every connector serves the gateway (tether_contracts.connections)."""
