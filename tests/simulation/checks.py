"""What must hold once a schedule is drained: convergence, no duplicate items, no lost update,
atomicity (one change per base) and loop freedom."""

from __future__ import annotations

from typing import Any

from tests.simulation.constants import CHANGE_TOPIC, T0
from tests.simulation.side import Side
from tests.simulation.world import World
from tether_connector_runtime.store.repository import StoredLink
from tether_events import CloudEvent, ProviderItemChanged, VectorClock
from tether_sync import FIELD_NAMES


async def check(world: World) -> None:
    changes = await world.log.events(CHANGE_TOPIC)
    _check_atomicity(changes)
    core = world.core
    await core.mirror()
    assert core.not_ready is None, (
        f"convergence: core cannot merge provider change {core.not_ready}: its predecessor "
        "never came"
    )
    for side in world.sides.values():
        assert await side.rig.outbox_rows() == [], "convergence: events left in an outbox"
    for link in core.links.values():
        side = world.sides[link.provider]
        task = core.tasks[link.task_id]
        items = side.fake.items_marked(link.link_id)
        assert len(items) <= 1, f"duplicate items: {len(items)} for {link.link_id}"
        assert items, f"convergence: {link.link_id} has no item"
        (item,) = items
        stored = await _stored(side, link.link_id)
        if task.deleted:
            assert item.closed, f"convergence: {link.link_id}'s item of a deleted task is open"
            assert stored.status == "archived", f"convergence: {link.link_id} is {stored.status}"
            continue
        assert (link.status, stored.status) == ("active", "active"), (
            f"convergence: {link.link_id} is {link.status} in core, {stored.status} here"
        )
        assert stored.state is not None
        assert item.fields == task.fields, f"convergence: {link.link_id}'s item differs"
        assert stored.state.synced_fields == task.fields, f"convergence: {link.link_id} base"
        assert stored.state.synced_clock == task.clock, f"convergence: {link.link_id} clock"
    for task_id, task in core.tasks.items():
        if task.deleted:
            continue
        for name in FIELD_NAMES:
            edits = [e for e in world.edits if e.task == task_id and e.field == name]
            latest = max(edits, key=lambda e: e.at)
            assert task.fields.value(name) == latest.value, (
                f"lost update: {task_id}.{name} is {task.fields.value(name)!r}, its latest "
                f"edit ({latest.site} at {latest.at:%H:%M:%S}) {latest.value!r}"
            )
    _check_loop_freedom(world, changes)


def _check_atomicity(changes: list[CloudEvent[Any]]) -> None:
    # A change commits with the base it moves (one outbox transaction), so each published change
    # of a link is one more event of its replica: two events with one clock are one change
    # sent twice against one base (a relay's retry resends the same event id, which is fine).
    sent: dict[tuple[str, VectorClock], str] = {}
    for event in changes:
        change = event.data
        if not isinstance(change, ProviderItemChanged) or change.deleted:
            continue
        first = sent.setdefault(
            (change.link_id, change.base_clock.increment(change.replica)), event.id
        )
        assert first == event.id, (
            f"atomicity: {change.link_id} sent two changes against one base "
            f"{change.base_clock.to_dict()}"
        )


async def _stored(side: Side, link_id: str) -> StoredLink:
    return await side.rig.link(link_id)


def _check_loop_freedom(world: World, changes: list[CloudEvent[Any]]) -> None:
    fired = world.faults_fired
    person = [e for e in world.edits if e.site != "core"]
    sent = {e.id for e in changes if isinstance(e.data, ProviderItemChanged) and not e.data.deleted}
    assert len(sent) <= len(person) + fired, (
        f"loop freedom: {len(sent)} provider changes for {len(person)} person edits "
        f"and {fired} faults"
    )
    for provider, side in world.sides.items():
        for link in (x for x in world.core.links.values() if x.provider == provider):
            elsewhere = [
                e
                for e in world.edits
                if e.task == link.task_id and e.site != provider and e.at > T0
            ]
            for item in side.fake.items_marked(link.link_id):
                writes_to = [u for u in side.fake.updates if u.external_id == item.external_id]
                restored = world.recovered[link.link_id]
                assert len(writes_to) <= len(elsewhere) + fired + restored, (
                    f"loop freedom: {len(writes_to)} writes to {link.link_id}'s item for "
                    f"{len(elsewhere)} edits elsewhere, {fired} faults and {restored} "
                    "overwritten edits restored"
                )
