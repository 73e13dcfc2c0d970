"""The steps a schedule is made of (each one thing the world does next), and :class:`Crash`,
the death of a connector process at a chosen point."""

from __future__ import annotations

from dataclasses import dataclass

from tests.simulation.constants import CONSUMERS
from tether_sync import FieldName, Provider


class Crash(Exception):
    """A process (a connector, or task-core's relay) dies here: raised at a chosen point,
    never caught by the code under test."""


@dataclass(frozen=True)
class CoreEdit:
    task: str
    field: FieldName

    def __repr__(self) -> str:
        return f"core edits {self.task}.{self.field}"


@dataclass(frozen=True)
class CoreDelete:
    task: str

    def __repr__(self) -> str:
        return f"core deletes {self.task}"


@dataclass(frozen=True)
class Export:
    task: str
    provider: Provider

    def __repr__(self) -> str:
        return f"export {self.task} to {self.provider}"


@dataclass(frozen=True)
class PersonEdit:
    provider: Provider
    task: str

    def __repr__(self) -> str:
        return f"person edits {self.task}'s {self.provider} item"


@dataclass(frozen=True)
class Tussle:
    """A person renames task-1's item, someone renames the task in core, the person renames
    the item again, one after the other: the first rename's webhook may arrive last."""

    provider: Provider

    def __repr__(self) -> str:
        return f"person, core, person rename task-1 ({self.provider})"


def _dies(crash: str | None) -> str:
    return f" (dies at {crash})" if crash else ""


@dataclass(frozen=True)
class Deliver:
    consumer: int
    crash: str | None = None

    def __repr__(self) -> str:
        who, topic = CONSUMERS[self.consumer]
        return f"deliver {topic.split('.')[1]} to {who}{_dies(self.crash)}"


@dataclass(frozen=True)
class Redeliver:
    consumer: int

    def __repr__(self) -> str:
        who, topic = CONSUMERS[self.consumer]
        return f"redeliver last {topic.split('.')[1]} to {who}"


@dataclass(frozen=True)
class CoreCrash:
    """Task-core's relay dies after the bus took the next event it publishes, before the
    outbox row was marked: the restarted relay publishes that event again."""

    def __repr__(self) -> str:
        return "core's relay dies after its next publish"


@dataclass(frozen=True)
class Relay:
    provider: Provider
    crash: bool = False

    def __repr__(self) -> str:
        return f"relay {self.provider}{' (crash after 1st publish)' if self.crash else ''}"


@dataclass(frozen=True)
class Webhook:
    provider: Provider
    index: int
    drop: bool = False
    crash: str | None = None

    def __repr__(self) -> str:
        verb = "drop" if self.drop else "deliver"
        return f"{verb} {self.provider} webhook {self.index}{_dies(self.crash)}"


@dataclass(frozen=True)
class Poll:
    provider: Provider
    crash: str | None = None

    def __repr__(self) -> str:
        return f"poll {self.provider}{_dies(self.crash)}"


@dataclass(frozen=True)
class Fail:
    provider: Provider
    kind: str

    def __repr__(self) -> str:
        return f"next {self.provider} {self.kind} is a 503"


@dataclass(frozen=True)
class Retry:
    provider: Provider

    def __repr__(self) -> str:
        return f"{self.provider} retries due links"


@dataclass(frozen=True)
class Outage:
    provider: Provider

    def __repr__(self) -> str:
        return f"deliver task-changed to {self.provider} while its board answers 503"


@dataclass(frozen=True)
class Interleave:
    """Two things the connector does at once for one link, the first held inside a provider
    call: ``write`` (a task change's update) while its items are polled; ``retry`` (the
    retrier's update) while the next task change arrives; ``look`` (a poll's read) while the
    items are polled again (a webhook and reconciliation)."""

    provider: Provider
    mode: str = "write"

    def __repr__(self) -> str:
        held = {"write": "a task change's update", "retry": "a retry's update"}
        meanwhile = {"write": "its items are polled", "retry": "the next task change arrives"}
        if self.mode == "look":
            return f"{self.provider}: a poll's read held while the items are polled again"
        return f"{self.provider}: {held[self.mode]} held while {meanwhile[self.mode]}"


Step = (
    CoreEdit
    | CoreDelete
    | Export
    | PersonEdit
    | Tussle
    | Deliver
    | Redeliver
    | CoreCrash
    | Relay
    | Webhook
    | Poll
    | Fail
    | Outage
    | Retry
    | Interleave
)
