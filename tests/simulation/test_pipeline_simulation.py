"""The whole sync pipeline under a hostile schedule: task-core's and the connector runtime's
real code, three providers at once, crashes and restarts, a bus that delivers late, twice, or
after a crash.

Each schedule renews task-core's database and two connector rigs kept for the whole test (rows
deleted, new services and pipelines built) on one event loop, over SQLite run on the loop's own
thread (:mod:`tether_connector_runtime.testing.inline_sqlite`): 2,000 schedules in a few
minutes.

What is real:

- task-core (:mod:`tests.simulation.core`): its own services over its own migrated SQLite
  schema: ``TaskService`` (create, update, delete), ``LinkService`` (export; link news, with
  the resend of a state a new item missed), ``ProviderChangeService`` (inbox, three-way merge,
  conflicts, history and the merged TaskChanged in one transaction; a change whose predecessor
  is missing is not acknowledged) and its ``OutboxRelay``, run when a writer rings the outbox's
  doorbell, as in the service;
- every connector step: the runtime's own pipeline functions (``exports.export``,
  ``writes.on_task_changed``, ``observations.observe``, ``reconcile.reconcile_once``,
  ``retries.retry_due``, the outbox relay), wired by the app factory's ``_build_state`` over
  its own SQLite file, one per provider, against an in-memory provider
  (:class:`~tether_connector_runtime.testing.FakeProvider`): "trello" is Trello-like (a notice
  names when each field was set and to what, as Trello's actions do, a poll every edit since
  its cursor; its items are written unread, so an edit a write overwrote is found from its
  notice), "asana" and "jira"
  Asana- and Jira-like (compact notices naming only the item: the runtime dates a change by
  the item's last modification);
- the bus (:mod:`tests.simulation.log`): the embedded bus's durable log
  (``tether_events.sqlitelog.SqliteLogStore``), every event encoded on publish and decoded on
  delivery, each consumer group committing its offset only after its handler returned.

What the schedule controls (hypothesis writes it): edits in core and by persons in the
providers, exports and deletions of several tasks; which consumer takes its next event, or
takes the last one again (at-least-once); when each connector's relay runs; webhooks delivered
in any order, twice, or dropped (polls repair them); provider calls failing with 503 (the link
is parked and retried on a manual clock); crashes at chosen points (after the provider applied
a create or an update, in a link-state write, in an outbox write, after the bus took a
connector's or task-core's event but before its outbox row was marked), each followed by a
restart (new services over the same database; the event is published or delivered again); and
a write held inside the provider while its item is observed, changes held by a link's burst
window (30 s of the manual clock, half a step) until a retry writes them, a retry's write
held while the next task change for its link arrives, an item's read held while it is
observed again (the per-link turn).

Edit times, so that ``latest_wins`` has one right answer: persons edit titles only (when the
write path finds an edit first it knows only the item's last modification, so a person editing
two fields would make a title look as late as the other field). A webhook carries its edit's
time and the value it set, and may arrive after the title was edited again (the runtime must
then not date the newer value by the older edit); a poll names when each field got its current
value.

After the schedule the world is drained (faults cleared; relay, deliver, retry, deliver
webhooks, poll every linked item, until a round changes nothing) and checked:

- convergence: core, every item and every link's base and clock agree; a deleted task's items
  are archived (closed, never deleted); no provider change waits for a predecessor;
- duplicate items: exactly one item carries each export's marker;
- lost update: each field of a live task holds the value of its latest edit (edits are stamped
  with one clock, core's and the providers', so the latest is the one latest_wins must pick);
- atomicity: no two changes of a link are sent against one base (each commits with the base
  it moves);
- loop freedom: the drain ends; provider changes <= person edits + faults that fired (a crash or
  a lost answer may make one echo); writes to an item <= the task's edits made elsewhere +
  faults that fired + person's edits at that item an unread write overwrote (found from their
  notice, each may win its conflict and be written back: the price of writing unread).

It must fail for deliberate bugs (the tests at the end find a counterexample for each):
the echo check removed, core's field stamps ignored, the provider's edit time replaced by now,
a late notice's time trusted for a value edited since, the per-link turn removed, a person's
edit an unread write overwrote never recovered from its notice, the link
state saved before (not with) the publish, the outbox bypassed (a change published straight to
the bus inside the transaction, whatever becomes of it), and task-core never resending a state
a new item missed.

The machinery lives beside this file (the steps, the bus, task-core, each connector's side, the
world and its drain, the interleavings, the checks, and the bench that runs a schedule); this
file holds the schedules hypothesis writes, the property, and the deliberate bugs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from sqlalchemy.ext.asyncio import AsyncSession

from task_core.links import LinkService
from tests.simulation.bench import _LIVE_LOG, Bench, failure_of, run
from tests.simulation.constants import (
    CONSUMERS,
    CRASH_POINTS,
    FAULT_KINDS,
    PROVIDERS,
    T0,
    TASKS,
)
from tests.simulation.steps import (
    CoreCrash,
    CoreDelete,
    CoreEdit,
    Deliver,
    Export,
    Fail,
    Interleave,
    Outage,
    PersonEdit,
    Poll,
    Redeliver,
    Relay,
    Retry,
    Step,
    Tussle,
    Webhook,
)
from tether_common.db import transaction
from tether_connector_runtime.pipeline import announce, exports, observations, planning
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.port import ItemNotice, ProviderItem
from tether_connector_runtime.store.repository import StoredLink
from tether_connector_runtime.turns import LinkTurns
from tether_events import ProviderItemChanged, Topic, topic_name
from tether_sync import FIELD_NAMES, FieldName, inbound, merge
from tether_sync.inbound import ProviderChange

SIM_EXAMPLES = int(os.environ.get("TETHER_SIM_EXAMPLES", "2000"))
MUTANT_EXAMPLES = int(os.environ.get("TETHER_SIM_MUTANT_EXAMPLES", "600"))


# Strategies ------------------------------------------------------------------------------------
_task = st.sampled_from(TASKS)
_provider = st.sampled_from(PROVIDERS)
_consumer = st.integers(0, len(CONSUMERS) - 1)
_index = st.integers(0, 5)
_crash = st.sampled_from((None, *CRASH_POINTS))
# Actions lean on task-1 (exported to every provider from the start) and on titles (the field
# both core and persons edit): that is where edits meet.
_action = st.one_of(
    st.builds(CoreEdit, st.just("task-1"), st.just("title")),
    st.builds(PersonEdit, _provider, st.just("task-1")),
    st.builds(CoreEdit, _task, st.sampled_from(FIELD_NAMES)),
    st.builds(PersonEdit, _provider, _task),
    st.builds(Export, st.just("task-2"), _provider),
    st.builds(CoreDelete, st.sampled_from(("task-2", "task-2", "task-1"))),
    # Mostly on the Trello-like provider: only its notices say what value they set, which is
    # what a late notice must be checked against (the Asana-like one dates by the item).
    st.builds(Tussle, st.sampled_from(("trello", "trello", "asana"))),
)
# Deliveries are listed more than once to weigh them: most of the interest is in the order
# events meet their consumers.
_noise = st.one_of(
    st.builds(Deliver, _consumer, _crash),
    st.builds(Deliver, _consumer, _crash),
    st.builds(Deliver, _consumer),
    st.builds(Relay, _provider),
    st.builds(Relay, _provider),
    st.builds(Webhook, _provider, _index, st.just(False), _crash),
    st.builds(Webhook, _provider, _index, st.just(False), _crash),
    st.builds(Poll, _provider, _crash),
    # A webhook whose handling dies as it commits what it saw: what the outbox is for.
    st.builds(
        Webhook, _provider, _index, st.just(False), st.sampled_from(("save_state", "outbox"))
    ),
    st.builds(Relay, _provider, st.just(True)),
    st.just(CoreCrash()),
    st.builds(Redeliver, _consumer),
    st.builds(Webhook, _provider, _index, st.just(True)),
    st.builds(Fail, _provider, st.sampled_from(FAULT_KINDS)),
    st.builds(Retry, _provider),
    st.builds(Interleave, _provider, st.sampled_from(("write", "retry", "look"))),
    st.builds(Outage, _provider),
    st.builds(Interleave, _provider, st.just("look")),
)


def _burst(action: Step, noise: list[Step]) -> list[Step]:
    return [action, *noise]


def _flatten(bursts: list[list[Step]]) -> list[Step]:
    return [step for burst in bursts for step in burst]


# 2 to 6 bursts: an action (an edit, an export, a deletion), then what the world does next.
schedules = st.lists(
    st.builds(_burst, _action, st.lists(_noise, max_size=6)), min_size=2, max_size=6
).map(_flatten)


# A hang guard, not a speed goal: a schedule takes about a tenth of a second.
@pytest.mark.timeout(max(300, SIM_EXAMPLES * 3))
def test_any_schedule_converges_once_without_duplicates_loops_or_lost_updates(
    bench: Bench,
) -> None:
    @settings(
        max_examples=SIM_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(schedules)
    def property_holds(schedule: list[Step]) -> None:
        run(bench, schedule)

    property_holds()


# The simulation must be able to fail: deliberate bugs in the pipeline and the engine ---------
_real_decide_inbound = inbound.decide_inbound
_real_resolve = merge._resolve


def _never_an_echo(link: Any, observed: Any) -> bool:
    return False


def _resolve_without_stamps(
    task: merge.CoreTask, change: ProviderChange, name: FieldName, *args: Any
) -> Any:
    # Core's side of every conflict looks as old as the task.
    stamps = {n: s.model_copy(update={"edited_at": T0}) for n, s in task.stamps.items()}
    return _real_resolve(task.model_copy(update={"stamps": stamps}), change, name, *args)


def _decide_inbound_at_now(link: Any, observed: Any, **kwargs: Any) -> Any:
    return _real_decide_inbound(link, observed, edited_at=datetime.now(UTC), field_edited_at={})


def _every_stated_time(notice: ItemNotice, item: Any) -> dict[FieldName, datetime]:
    return dict(notice.field_edited_at)


def _nothing_overwritten(*args: Any) -> dict[FieldName, Any]:
    return {}


async def _never_behind(*args: Any) -> bool:
    return False


@asynccontextmanager
async def _no_turn(self: LinkTurns, link_id: str) -> AsyncIterator[None]:
    yield


_real_publish_news = observations.publish_news
_real_provider_changed = announce.provider_changed


async def _publish_after_saving(
    p: Pipeline,
    session: AsyncSession,
    link: StoredLink,
    connection: Any,
    item: ProviderItem,
    field_edited_at: Mapping[FieldName, datetime],
    *,
    dated_only: bool = False,
) -> bool:
    # The real decision, but the new base commits on its own, before the change is written to
    # the outbox (in the caller's transaction).
    held: list[ProviderChange] = []

    async def hold_back(pipeline: Pipeline, _: AsyncSession, __: StoredLink, change: Any) -> None:
        held.append(change)

    announce.provider_changed = hold_back  # type: ignore[assignment]
    try:
        async with transaction(p.sessions) as own:
            published = await _real_publish_news(
                p, own, link, connection, item, field_edited_at, dated_only=dated_only
            )
    finally:
        announce.provider_changed = _real_provider_changed
    for change in held:
        await _real_provider_changed(p, session, link, change)
    return published


async def _publish_straight_to_the_bus(
    pipeline: Pipeline, session: AsyncSession, link: StoredLink, event: ProviderItemChanged
) -> None:
    # Published inside the transaction, whatever becomes of it.
    await _LIVE_LOG[-1].publish(
        topic_name(Topic.PROVIDER_CHANGED, pipeline.namespace),
        event.envelope(source=pipeline.source, subject=link.task_id, tenant_id=link.tenant_id),
    )


# (the bug, what replaces what, the property that catches it)
MUTANTS: list[tuple[str, list[tuple[Any, str, Any]], str]] = [
    ("echo check removed", [(inbound, "is_echo", _never_an_echo)], "loop freedom"),
    ("core stamps ignored", [(merge, "_resolve", _resolve_without_stamps)], "lost update"),
    (
        "provider edit time is now",
        [(observations, "decide_inbound", _decide_inbound_at_now)],
        "lost update",
    ),
    (
        "a late notice dates the newer value",
        [(ItemNotice, "times_still_true", _every_stated_time)],
        "lost update",
    ),
    ("per-link turn removed", [(LinkTurns, "turn", _no_turn)], "atomicity"),
    (
        "overwritten edits not recovered",
        [(observations, "overwritten", _nothing_overwritten)],
        "lost update",
    ),
    (
        "state saved before the publish",
        [
            (observations, "publish_news", _publish_after_saving),
            (planning, "publish_news", _publish_after_saving),
            (exports, "publish_news", _publish_after_saving),
        ],
        "convergence",
    ),
    (
        "outbox bypassed",
        [(announce, "_provider_event", _publish_straight_to_the_bus)],
        "atomicity",
    ),
    # Task-core's part: an item created from an older state is never sent the newer one.
    ("core never resends", [(LinkService, "_resend_if_behind", _never_behind)], "convergence"),
]


def _find_failure(bench: Bench, category: str) -> list[Step]:
    def fails_so(schedule: list[Step]) -> bool:
        failure = failure_of(bench, schedule)
        return failure is not None and failure.startswith(category)

    # derandomize: a bug is caught by the same schedules on every run, never by luck. No
    # shrinking: each schedule costs real database work; the first counterexample is printed.
    found: list[Step] = find(
        schedules,
        fails_so,
        settings=settings(
            max_examples=MUTANT_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
    return found


@pytest.mark.parametrize(
    ("patches", "category"),
    [pytest.param(patches, category, id=label) for label, patches, category in MUTANTS],
)
def test_simulation_catches_a_broken_pipeline(
    bench: Bench,
    monkeypatch: pytest.MonkeyPatch,
    patches: list[tuple[Any, str, Any]],
    category: str,
) -> None:
    for owner, name, mutant in patches:
        monkeypatch.setattr(owner, name, mutant)
    try:
        counterexample = _find_failure(bench, category)
    except NoSuchExample:
        pytest.fail(f"no schedule exposes the bug (expected a {category} failure)")
    print(f"counterexample: {counterexample}")
