"""The engine under a hostile network: a simulated core, three providers and their connectors.

Every decision below is the real engine's (``tether_sync``); the world only plays the parts the
engine leaves to its callers: the provider stores, the bus, the connectors' loops, task-core's
loop. The network delays, duplicates and reorders every message (snapshots, provider changes,
webhooks) and drops webhooks; polls (reconciliation) repair the drops.

After the schedule the world is drained to quiescence (deliver everything, flush every
connector, poll every link, until a round produces nothing) and checked:

- convergence: core, every provider copy and every link base hold the same values, and every
  link's synced clock equals the task clock;
- loop freedom: with E_c edits on core, E_p on providers (E_r on link r), n = 3 links:
  writes to link r <= E_c + E_p - E_r (each edit writes at most once to each other copy, never
  back to its own), provider changes <= E_p, snapshots published <= E_c + E_p, and the total
  number of messages sent, counting a snapshot once per link that receives it,
  3 * snapshots + changes + webhooks <= 2n * E_c + (2n + 1) * E_p = 6 E_c + 7 E_p
  (network duplicates are the network's, not counted: they must cause nothing);
- no lost update: an edit with no concurrent edit of the same field on another replica, and
  no later one, is the final value;
- conflicts: for title, description and due date (every edit writes a fresh value there, so
  values name edits), a conflict is recorded on a field iff two replicas edited it
  concurrently, and each record names two concurrent edits. ``completed`` has two values, so
  a three-way merge cannot see a conflict on it (a provider change of a boolean always has
  new = not base, and core holds one of the two): none may be recorded.

"Concurrent" is judged by ghost causality the engine never sees: every replica carries the set
of edits whose effects it has received, and every message carries its sender's set.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from tether_events.clock import VectorClock
from tether_sync import inbound, merge, outbound
from tether_sync.conflict import Conflict
from tether_sync.fields import FIELD_NAMES, FieldName, FieldValue, TaskFields, TaskSnapshot
from tether_sync.link_state import LinkState
from tether_sync.policy import ConflictPolicy, SyncPolicy

SIM_EXAMPLES = int(os.environ.get("TETHER_SIM_EXAMPLES", "2000"))
MAX_EDITS = 8
LINKS = ("trello", "asana", "jira")
SITES = ("core", *LINKS)
REPLICA = {"trello": "trello:c1", "asana": "asana:1201", "jira": "jira:acme/TT-1"}
FRESH: tuple[FieldName, ...] = ("title", "description", "due")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAY0 = date(2025, 1, 1)


# Schedule steps: what the adversary (hypothesis) does. Short reprs make shrunk schedules
# readable: [edit asana.title, deliver 0, poll jira].
@dataclass(frozen=True)
class Edit:
    site: str
    field: FieldName

    def __repr__(self) -> str:
        return f"edit {self.site}.{self.field}"


@dataclass(frozen=True)
class Deliver:
    index: int

    def __repr__(self) -> str:
        return f"deliver {self.index}"


@dataclass(frozen=True)
class Duplicate:
    index: int

    def __repr__(self) -> str:
        return f"duplicate {self.index}"


@dataclass(frozen=True)
class DropWebhook:
    index: int

    def __repr__(self) -> str:
        return f"drop-webhook {self.index}"


@dataclass(frozen=True)
class Poll:
    link: str

    def __repr__(self) -> str:
        return f"poll {self.link}"


@dataclass(frozen=True)
class Flush:
    link: str

    def __repr__(self) -> str:
        return f"flush {self.link}"


Step = Edit | Deliver | Duplicate | DropWebhook | Poll | Flush


@dataclass(frozen=True)
class Drain:
    """How the world is drained after the schedule: the order of the remaining messages, and
    whether connectors act on each snapshot as it arrives or on all of them at the end."""

    newest_first: bool = False
    eager: bool = False

    def __repr__(self) -> str:
        order = "newest-first" if self.newest_first else "oldest-first"
        return f"drain {order}{', eager' if self.eager else ''}"


# Messages in flight.
@dataclass(frozen=True)
class SnapshotMsg:
    link: str
    snapshot: TaskSnapshot
    ghost: frozenset[int]

    def __repr__(self) -> str:
        return f"snapshot->{self.link} {self.snapshot.clock.to_dict()}"


@dataclass(frozen=True)
class ChangeMsg:
    change: inbound.ProviderChange
    ghost: frozenset[int]

    def __repr__(self) -> str:
        return f"change<-{self.change.replica} {self.change.new_values}"


@dataclass(frozen=True)
class WebhookMsg:
    link: str

    def __repr__(self) -> str:
        return f"webhook->{self.link}"


Message = SnapshotMsg | ChangeMsg | WebhookMsg


@dataclass(frozen=True)
class EditRecord:
    id: int
    site: str
    field: FieldName
    value: FieldValue
    seen: frozenset[int]  # edits the editing replica had received: what this edit is after


@dataclass
class Store:
    """A provider's copy of the task: plain values, a modification time, and the ghost set."""

    fields: TaskFields
    modified_at: datetime
    seen: frozenset[int] = frozenset()


@dataclass
class World:
    policy: SyncPolicy
    now: datetime = T0
    core: merge.CoreTask = field(init=False)
    core_seen: frozenset[int] = frozenset()
    stores: dict[str, Store] = field(default_factory=dict)
    links: dict[str, LinkState] = field(default_factory=dict)
    inbox: dict[str, list[SnapshotMsg]] = field(default_factory=dict)
    pool: list[Message] = field(default_factory=list)
    parked: list[ChangeMsg] = field(default_factory=list)
    edits: list[EditRecord] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)
    trace: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        initial = TaskFields(title="t0", description="d0", due=DAY0, completed=False)
        self.core = merge.CoreTask.create("task-1", initial, at=T0)
        for link in LINKS:
            self.stores[link] = Store(initial, T0)
            self.links[link] = LinkState.exported(
                link_id=f"link-{link}", replica=REPLICA[link], snapshot=self.core.snapshot()
            )
            self.inbox[link] = []

    # Replicas ---------------------------------------------------------------------------------
    def edit(self, site: str, name: FieldName) -> None:
        edit_id = len(self.edits) + 1
        current = self.core.fields if site == "core" else self.stores[site].fields
        value = _fresh(name, edit_id, current.value(name))
        if site == "core":
            self.edits.append(EditRecord(edit_id, site, name, value, self.core_seen))
            self.core = merge.apply_core_edit(self.core, {name: value}, at=self.now)
            self.core_seen |= {edit_id}
            self._publish_snapshot()
        else:
            store = self.stores[site]
            self.edits.append(EditRecord(edit_id, site, name, value, store.seen))
            store.fields = store.fields.with_values({name: value})
            store.modified_at = self.now
            store.seen |= {edit_id}
            self._fire_webhook(site)
        self.trace.append(f"{self.now:%M:%S} {site} edits {name}={value!r}")

    def _publish_snapshot(self) -> None:
        self.sent["snapshots"] += 1
        snapshot = self.core.snapshot()
        self.pool.extend(SnapshotMsg(link, snapshot, self.core_seen) for link in LINKS)

    def _fire_webhook(self, link: str) -> None:
        self.sent["webhooks"] += 1
        self.pool.append(WebhookMsg(link))

    # Connectors -------------------------------------------------------------------------------
    def flush(self, link: str) -> None:
        """Coalesce the snapshots waiting for ``link`` and act on the latest."""
        waiting, self.inbox[link] = self.inbox[link], []
        if not waiting:
            return
        snapshot = outbound.coalesce(m.snapshot for m in waiting)
        ghost = next(m.ghost for m in waiting if m.snapshot is snapshot)
        decision = outbound.decide_outbound(self.links[link], snapshot)
        self.trace.append(
            f"{self.now:%M:%S} {link} outbound {snapshot.clock.to_dict()}: {decision!r}"
        )
        if not isinstance(decision, outbound.WritePlan):
            return
        store = self.stores[link]
        if not decision.is_empty:
            if self.observe(link):
                return  # an unpublished provider edit goes to core first; no overwrite
            store.fields = store.fields.with_values(decision.changes)
            store.modified_at = self.now
            self.sent[f"writes:{link}"] += 1
            self._fire_webhook(link)
        self.links[link] = outbound.after_write(self.links[link], decision)
        store.seen |= ghost

    def observe(self, link: str) -> bool:
        """Read the provider copy (webhook or poll) and publish a change if there is news."""
        store = self.stores[link]
        change = inbound.decide_inbound(self.links[link], store.fields, edited_at=store.modified_at)
        if change is None:
            return False
        self.sent["changes"] += 1
        self.pool.append(ChangeMsg(change, store.seen))
        self.links[link] = inbound.after_publish(self.links[link], change)
        self.trace.append(f"{self.now:%M:%S} {link} publishes {change.new_values}")
        return True

    # Core -------------------------------------------------------------------------------------
    def receive(self, msg: ChangeMsg) -> None:
        outcome = merge.merge_provider_change(self.core, msg.change, self.policy, now=self.now)
        self.trace.append(f"{self.now:%M:%S} core merges {msg!r}: {outcome.status}")
        if outcome.status is merge.MergeStatus.NOT_READY:
            self.parked.append(msg)  # task-core parks it until its predecessor is merged
        elif outcome.status is merge.MergeStatus.APPLIED:
            self.core = outcome.task
            self.conflicts.extend(outcome.conflicts)
            self.core_seen |= msg.ghost
            self._publish_snapshot()
            retry, self.parked = self.parked, []
            for parked in retry:
                self.receive(parked)

    # Network ----------------------------------------------------------------------------------
    def deliver(self, msg: Message) -> None:
        if isinstance(msg, SnapshotMsg):
            self.inbox[msg.link].append(msg)
        elif isinstance(msg, WebhookMsg):
            self.observe(msg.link)
        else:
            self.receive(msg)

    def step(self, step: Step) -> None:
        self.now += timedelta(seconds=1)
        if isinstance(step, Edit):
            if len(self.edits) < MAX_EDITS:
                self.edit(step.site, step.field)
        elif isinstance(step, Poll):
            self.observe(step.link)
        elif isinstance(step, Flush):
            self.flush(step.link)
        elif self.pool:
            index = step.index % len(self.pool)
            if isinstance(step, Deliver):
                self.deliver(self.pool.pop(index))
            elif isinstance(step, Duplicate):
                self.pool.append(self.pool[index])
            elif isinstance(self.pool[index], WebhookMsg):
                self.pool.pop(index)

    def quiesce(self, drain: Drain) -> None:
        bound = _message_bound(self)
        for _ in range(6):
            while self.pool:
                # Checked as it goes so a looping engine fails fast instead of spinning.
                assert _messages(self) <= bound, "loop freedom: the network never empties"
                self.now += timedelta(seconds=1)
                msg = self.pool.pop(-1 if drain.newest_first else 0)
                self.deliver(msg)
                if drain.eager and isinstance(msg, SnapshotMsg):
                    self.flush(msg.link)
            for link in LINKS:
                self.flush(link)
            if self.pool:
                continue
            if not any([self.observe(link) for link in LINKS]):
                return
        raise AssertionError("loop freedom: polls keep finding news")


def _fresh(name: FieldName, edit_id: int, current: FieldValue) -> FieldValue:
    if name == "title":
        return f"t{edit_id}"
    if name == "description":
        return f"d{edit_id}"
    if name == "due":
        # Both kinds, each fresh: a date, then an instant (one field, never both at once).
        day = DAY0 + timedelta(days=edit_id)
        return day if edit_id % 2 else datetime.combine(day, time(edit_id % 24), tzinfo=UTC)
    return not current


# Checks -------------------------------------------------------------------------------------
def _concurrent(a: EditRecord, b: EditRecord) -> bool:
    return a.site != b.site and a.id not in b.seen and b.id not in a.seen


def check(world: World) -> None:
    assert not world.parked, "convergence: provider changes still waiting for predecessors"
    final = world.core.fields
    for link in LINKS:
        assert world.stores[link].fields == final, f"convergence: {link} holds different values"
        assert world.links[link].synced_fields == final, f"convergence: {link} base differs"
        assert world.links[link].synced_clock == world.core.clock, f"convergence: {link} clock"
    _check_message_bound(world)
    for name in FIELD_NAMES:
        edits = [e for e in world.edits if e.field == name]
        for e in edits:
            rivals = [o for o in edits if _concurrent(e, o)]
            later = [o for o in edits if e.id in o.seen]
            if not rivals and not later:
                assert final.value(name) == e.value, f"lost update: {e} overwritten"
    _check_conflicts(world)


def _messages(world: World) -> int:
    sent = world.sent
    return len(LINKS) * sent["snapshots"] + sent["changes"] + sent["webhooks"]


def _message_bound(world: World) -> int:
    e_core = sum(1 for e in world.edits if e.site == "core")
    e_prov = len(world.edits) - e_core
    return 2 * len(LINKS) * e_core + (2 * len(LINKS) + 1) * e_prov


def _check_message_bound(world: World) -> None:
    e_total = len(world.edits)
    e_prov = sum(1 for e in world.edits if e.site != "core")
    sent = world.sent
    for link in LINKS:
        own = sum(1 for e in world.edits if e.site == link)
        writes = sent[f"writes:{link}"]
        assert writes <= e_total - own, f"loop freedom: {writes} writes to {link}"
    assert sent["changes"] <= e_prov, f"loop freedom: {sent['changes']} provider changes"
    assert sent["snapshots"] <= e_total, f"loop freedom: {sent['snapshots']} snapshots"
    total, bound = _messages(world), _message_bound(world)
    assert total <= bound, f"loop freedom: {total} messages > {bound}"


def _check_conflicts(world: World) -> None:
    by_value = {(e.field, e.value): e for e in world.edits if e.field in FRESH}
    for name in FIELD_NAMES:
        recorded = [c for c in world.conflicts if c.field == name]
        if name not in FRESH:
            assert not recorded, f"conflicts: on {name}, which has only two values"
            continue
        edits = [e for e in world.edits if e.field == name]
        expected = any(_concurrent(a, b) for a in edits for b in edits)
        assert bool(recorded) == expected, f"conflicts: on {name} recorded={recorded!r}"
        for c in recorded:
            core_edit = by_value.get((name, c.core_value))
            provider_edit = by_value.get((name, c.provider_value))
            assert core_edit is not None, f"conflicts: {c!r} names no edit"
            assert provider_edit is not None, f"conflicts: {c!r} names no edit"
            assert _concurrent(core_edit, provider_edit), f"conflicts: {c!r} not concurrent"


def simulate(steps: Sequence[Step], policy: SyncPolicy, drain: Drain) -> World:
    world = World(policy)
    for step in steps:
        world.step(step)
    world.quiesce(drain)
    return world


def run_and_check(steps: Sequence[Step], policy: SyncPolicy, drain: Drain) -> None:
    world = simulate(steps, policy, drain)
    try:
        check(world)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\ntrace:\n" + "\n".join(world.trace)) from None


# Strategies ---------------------------------------------------------------------------------
_index = st.integers(0, 7)
_link = st.sampled_from(LINKS)
_edit = st.builds(Edit, st.sampled_from(SITES), st.sampled_from(FIELD_NAMES))
# Deliveries are listed more than once to weigh them: most of the interest is in the order
# messages meet their receivers.
_noise = st.one_of(
    st.builds(Deliver, _index),
    st.builds(Flush, _link),
    st.builds(Deliver, _index),
    st.builds(Poll, _link),
    st.builds(Duplicate, _index),
    st.builds(DropWebhook, _index),
    st.builds(Deliver, _index),
)


def _burst(edit: Step, noise: list[Step]) -> list[Step]:
    return [edit, *noise]


def _flatten(bursts: list[list[Step]]) -> list[Step]:
    return [step for burst in bursts for step in burst]


# A schedule is up to MAX_EDITS bursts: an edit, then what the network does before the next.
# Shrinking removes whole bursts and noise, so counterexamples come out short.
schedules = st.lists(
    st.builds(_burst, _edit, st.lists(_noise, max_size=6)), min_size=1, max_size=MAX_EDITS
).map(_flatten)
policies = st.builds(
    SyncPolicy,
    per_field=st.dictionaries(st.sampled_from(FIELD_NAMES), st.sampled_from(ConflictPolicy)),
)
drains = st.builds(Drain, st.booleans(), st.booleans())


# A nightly run with many more examples must not trip the suite's default 300 s timeout.
@pytest.mark.timeout(max(300, SIM_EXAMPLES // 50))
@settings(
    max_examples=SIM_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(schedules, policies, drains)
def test_any_schedule_converges_once_without_loops_or_lost_updates(
    schedule: list[Step], policy: SyncPolicy, drain: Drain
) -> None:
    run_and_check(schedule, policy, drain)


# The simulation must be able to fail: mutants of the engine and the property that catches each.
def _failure(schedule: list[Step], policy: SyncPolicy, drain: Drain) -> str | None:
    try:
        check(simulate(schedule, policy, drain))
    except AssertionError as failure:
        return str(failure)
    return None


def _find_failure(category: str) -> tuple[list[Step], SyncPolicy, Drain]:
    def fails_so(example: tuple[list[Step], SyncPolicy, Drain]) -> bool:
        failure = _failure(*example)
        return failure is not None and failure.startswith(category)

    # derandomize: a mutant is caught by the same schedules on every run, never by luck.
    return find(
        st.tuples(schedules, policies, drains),
        fails_so,
        settings=settings(max_examples=3000, deadline=None, database=None, derandomize=True),
    )


def _every_observation_is_news(link: LinkState, observed: TaskFields) -> bool:
    return False


def _merge_ignoring_base(
    core: FieldValue, base: FieldValue, new: FieldValue, limit: int | None = None
) -> merge.FieldMerge:
    return merge.FieldMerge.TAKE_PROVIDER


def _after_publish_keeping_base(link: LinkState, change: inbound.ProviderChange) -> LinkState:
    return link.model_copy(update={"synced_clock": link.synced_clock.merge(change.clock)})


_real_decide_outbound = outbound.decide_outbound
_real_merge = merge.merge_provider_change


def _outbound_not_waiting_for_merge(
    link: LinkState, snapshot: TaskSnapshot
) -> outbound.OutboundDecision:
    decision = _real_decide_outbound(link, snapshot)
    if (
        isinstance(decision, outbound.Skip)
        and decision.reason is outbound.SkipReason.AWAITING_MERGE
    ):
        # Pretend the link had seen nothing newer than the snapshot.
        return _real_decide_outbound(
            link.model_copy(update={"synced_clock": VectorClock()}), snapshot
        )
    return decision


def _outbound_writing_stale(link: LinkState, snapshot: TaskSnapshot) -> outbound.OutboundDecision:
    decision = _real_decide_outbound(link, snapshot)
    if isinstance(decision, outbound.Skip):
        return _real_decide_outbound(
            link.model_copy(update={"synced_clock": VectorClock()}), snapshot
        )
    return decision


def _merge_not_waiting_for_predecessors(
    task: merge.CoreTask, change: inbound.ProviderChange, *args: Any, **kwargs: Any
) -> merge.MergeOutcome:
    outcome = _real_merge(task, change, *args, **kwargs)
    if outcome.status is merge.MergeStatus.NOT_READY:
        known = VectorClock({r: min(n, task.clock[r]) for r, n in change.base_clock.items()})
        return _real_merge(task, change.model_copy(update={"base_clock": known}), *args, **kwargs)
    return outcome


MUTANTS: list[tuple[str, Any, str, Callable[..., Any], str]] = [
    ("echo check says never an echo", inbound, "is_echo", _every_observation_is_news, "loop"),
    ("merge ignores the base", merge, "merge_field", _merge_ignoring_base, "conflicts"),
    ("base not advanced on publish", inbound, "after_publish", _after_publish_keeping_base, "loop"),
    (
        "writes snapshots concurrent with a published change",
        outbound,
        "decide_outbound",
        _outbound_not_waiting_for_merge,
        "loop",
    ),
    (
        "merges before predecessors arrive",
        merge,
        "merge_provider_change",
        _merge_not_waiting_for_predecessors,
        "convergence",
    ),
    ("writes stale snapshots", outbound, "decide_outbound", _outbound_writing_stale, "convergence"),
]


@pytest.mark.parametrize(
    ("module", "name", "mutant", "category"),
    [pytest.param(m, n, f, c, id=label) for label, m, n, f, c in MUTANTS],
)
def test_simulation_catches_a_broken_engine(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, mutant: Any, category: str
) -> None:
    monkeypatch.setattr(module, name, mutant)
    try:
        counterexample = _find_failure(category)
    except NoSuchExample:
        pytest.fail(f"no schedule exposes the mutant (expected a {category} failure)")
    print(f"shrunk counterexample: {counterexample}")
