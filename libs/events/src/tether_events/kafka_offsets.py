"""A Kafka subscription's offsets: committed only once handled, and handed over whole.

At-least-once delivery allows an event to be handled again after a crash; it must not allow
two replicas to handle one partition's events side by side. Without care, a rebalance (a
replica joining, leaving, restarting) gives a partition to its next owner while the last owner
is still handling a batch from it: the next owner starts from the last committed offset and
handles the same events at the same time (a provider write made twice, a later edit passing an
earlier one). :class:`FinishBeforeHandover` makes the rebalance wait, as Kafka's consumer
protocol allows (the revoking callback runs before the member rejoins): the batch in hand is
finished and its offsets committed first, so the next owner starts after them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError

from tether_events.metrics import CONSUMER_HANDOVERS

log = structlog.get_logger(__name__)

# Seconds between two commits of a subscription's handled offsets while events keep coming.
COMMIT_INTERVAL = 0.2


class HandledOffsets:
    """A subscription's offsets: the first record not yet committed per partition, and the
    next offset to commit (each record before it handled).

    Offsets are committed after the handler returned, never before (at-least-once), but not
    after every event: one commit request per interval carries every partition's progress.
    A crash can then deliver again up to an interval's handled events, which handlers take as
    duplicates (they are idempotent); a stop commits first."""

    def __init__(self, consumer: AIOKafkaConsumer, group_id: str) -> None:
        self._consumer = consumer
        self._group_id = group_id
        self._uncommitted: dict[TopicPartition, int] = {}
        self._pending: dict[TopicPartition, int] = {}
        self._last = time.monotonic()

    def fetched(self, partition: TopicPartition, offset: int) -> None:
        self._uncommitted.setdefault(partition, offset)

    def handled(self, partition: TopicPartition, offset: int) -> None:
        self._pending[partition] = offset

    async def commit(self, *, due_only: bool) -> None:
        if not self._pending or (due_only and time.monotonic() - self._last < COMMIT_INTERVAL):
            return
        pending, self._pending = self._pending, {}
        self._last = time.monotonic()
        try:
            await self._consumer.commit(pending)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced since those records were fetched (a member joined or left:
            # another replica, or a service restarted with a backlog), so the commit was
            # refused. What was not committed goes again to each partition's owner (handlers
            # are idempotent); what is still ours is rewound to its first uncommitted record.
            # Raising instead would end the subscription silently: the service would stay up,
            # never reading again.
            log.warning("consumer_commit_refused", group=self._group_id, error=str(exc))
            self.rewind()
            return
        for partition in pending:
            self._uncommitted.pop(partition, None)

    def rewind(self) -> None:
        """Seek every partition still ours back to its first uncommitted record."""
        for partition, offset in self._uncommitted.items():
            with contextlib.suppress(IllegalStateError):  # no longer assigned to us
                self._consumer.seek(partition, offset)
        self._uncommitted.clear()
        self._pending.clear()


class FinishBeforeHandover(ConsumerRebalanceListener):  # type: ignore[misc]
    """The rebalance listener of one subscription's consumer: partitions are revoked only
    between batches, after the handled offsets are committed. A revocation that had to wait
    for a batch is counted in ``tether_consumer_handovers_total``."""

    def __init__(self, offsets: HandledOffsets, group_id: str) -> None:
        self._offsets = offsets
        self._group_id = group_id
        self._batch = asyncio.Lock()

    @asynccontextmanager
    async def handling(self) -> AsyncIterator[None]:
        """Hold for the handling of one batch: a revocation waits until it ends."""
        async with self._batch:
            yield

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self._batch.locked():
            CONSUMER_HANDOVERS.labels(self._group_id).inc()
            log.info("consumer_handover_waits", group=self._group_id, partitions=len(revoked))
        async with self._batch:
            await self._offsets.commit(due_only=False)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        del assigned  # nothing to load: offsets live in Kafka
