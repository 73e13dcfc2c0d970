"""The bus's Prometheus metrics, the same whichever adapter carries the events.

Labels name topics and consumer groups, never events or tasks, so their number stays the
number of topics times groups (a deployment's topic namespace is one prefix)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_PUBLISHED = Counter(
    "tether_events_published_total", "Events the bus accepted for a topic", ["topic"]
)
EVENTS_CONSUMED = Counter(
    "tether_events_consumed_total",
    # Coalesced events count too: each was read and its effect is in the newest one's.
    "Events a consumer group handled (its offset may move past them)",
    ["topic", "group"],
)
CONSUMER_LAG = Gauge(
    "tether_consumer_lag",
    "Events on a partition not yet read by the group, as this replica last saw it (Kafka)",
    ["topic", "partition", "group"],
)
CONSUMER_HANDOVERS = Counter(
    "tether_consumer_handovers_total",
    "Rebalances that waited for this replica to finish a batch before its partitions moved",
    ["group"],
)
