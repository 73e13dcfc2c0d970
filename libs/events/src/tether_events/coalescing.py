"""Coalescing a consumed batch: which events a handler gets, and when their offsets may commit.

Events with one key collapse into a single delivery, placed where the key's last event stood
(so surviving events keep their order) and carrying the newest of them (by ``newer_of``;
normally the later one, but a replayed old event can follow a newer one in the log). Events
whose key is ``None`` are delivered one by one.

After a delivery is handled, the batch's first ``done`` events are accounted for: each was
handled or is represented by a handled delivery. Committing exactly that prefix keeps
at-least-once: a crash redelivers every event whose state was not yet handled, and the
skipped ones come back with it rather than being lost behind a committed offset. Without
coalescing every event is its own delivery and ``done`` advances one event at a time, which is
the bus's plain per-event commit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Generic, TypeVar

T = TypeVar("T")


def later(older: T, newer: T) -> T:
    return newer


@dataclass(frozen=True)
class Delivery(Generic[T]):
    item: T
    # How many of the batch's first events are handled once ``item`` is: commit up to here.
    done: int
    # How many events of the batch ``item`` stands for (1 when nothing was coalesced).
    stands_for: int


def plan_deliveries(
    batch: Sequence[T],
    key: Callable[[T], Hashable | None],
    newer_of: Callable[[T, T], T] = later,
) -> list[Delivery[T]]:
    groups: list[list[int]] = []  # batch positions behind each delivery
    by_key: dict[Hashable, list[int]] = {}
    for position, item in enumerate(batch):
        k = key(item)
        if k is None:
            groups.append([position])
        elif k in by_key:
            by_key[k].append(position)
        else:
            by_key[k] = [position]
            groups.append(by_key[k])
    groups.sort(key=lambda positions: positions[-1])
    # A prefix is done when no later delivery still stands for an event inside it: the
    # smallest first position among the deliveries after each one.
    done = [len(batch)] * len(groups)
    for i in range(len(groups) - 2, -1, -1):
        done[i] = min(done[i + 1], groups[i + 1][0])
    return [
        Delivery(reduce(newer_of, (batch[p] for p in positions)), done[i], len(positions))
        for i, positions in enumerate(groups)
    ]
