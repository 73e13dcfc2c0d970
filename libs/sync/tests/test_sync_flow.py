"""The worked examples of docs/sync.md, step by step through the engine."""

from datetime import UTC, datetime, timedelta

from tether_events.clock import VectorClock
from tether_sync import (
    CoreTask,
    LinkState,
    MergeStatus,
    Skip,
    SkipReason,
    TaskFields,
    WritePlan,
    after_publish,
    after_write,
    apply_core_edit,
    decide_inbound,
    decide_outbound,
    merge_provider_change,
)

T0 = datetime(2025, 2, 3, 9, tzinfo=UTC)
PLAN = TaskFields(title="Plan", description="notes")
TRELLO, ASANA, JIRA = "trello:c1", "asana:1201", "jira:acme/TT-1"


def _exported(task: CoreTask) -> dict[str, LinkState]:
    snapshot = task.snapshot()
    return {
        r: LinkState.exported(link_id=f"link-{r}", replica=r, snapshot=snapshot)
        for r in (TRELLO, ASANA, JIRA)
    }


def test_an_asana_edit_reaches_trello_and_jira_once_and_never_comes_back() -> None:
    task = CoreTask.create("t1", PLAN, at=T0)
    links = _exported(task)
    assert task.clock == VectorClock({"core": 1})

    # Asana: a person renames the task; the webhook makes the connector read it.
    in_asana = PLAN.with_values({"title": "Plan B"})
    change = decide_inbound(links[ASANA], in_asana, edited_at=T0 + timedelta(minutes=1))
    assert change is not None
    assert change.base_clock == VectorClock({"core": 1})
    assert (change.base_values, change.new_values) == ({"title": "Plan"}, {"title": "Plan B"})
    links[ASANA] = after_publish(links[ASANA], change)
    assert links[ASANA].synced_clock == VectorClock({"core": 1, ASANA: 1})

    # Core: nobody else touched the title, so the provider's value is taken.
    outcome = merge_provider_change(task, change, now=T0 + timedelta(minutes=2))
    assert outcome.status is MergeStatus.APPLIED
    assert outcome.conflicts == ()
    task = outcome.task
    assert task.clock == VectorClock({"core": 2, ASANA: 1})
    snapshot = task.snapshot()

    # Trello and Jira: one write each, of the title only.
    writes = {}
    for replica in (TRELLO, JIRA, ASANA):
        decision = decide_outbound(links[replica], snapshot)
        assert isinstance(decision, WritePlan)
        writes[replica] = decision.changes
        links[replica] = after_write(links[replica], decision)
        assert links[replica].synced_clock == VectorClock({"core": 2, ASANA: 1})
    assert writes == {TRELLO: {"title": "Plan B"}, JIRA: {"title": "Plan B"}, ASANA: {}}

    # Then silence: the writes' own webhooks and a redelivered snapshot change nothing.
    for replica in (TRELLO, JIRA, ASANA):
        assert decide_inbound(links[replica], in_asana, edited_at=T0) is None
        assert decide_outbound(links[replica], snapshot) == Skip(
            reason=SkipReason.ALREADY_REFLECTED
        )


def test_a_concurrent_edit_conflicts_and_the_loser_copy_is_rewritten_once() -> None:
    task = CoreTask.create("t1", PLAN, at=T0)
    links = _exported(task)
    task = apply_core_edit(task, {"title": "Core title"}, at=T0 + timedelta(minutes=5))
    core_edit = task.snapshot()  # {core: 2}

    # Trello edited the same title earlier, but its webhook was lost; core's snapshot arrives
    # first. Reading before writing finds the unpublished edit: publish it, do not overwrite.
    in_trello = PLAN.with_values({"title": "Trello title"})
    plan = decide_outbound(links[TRELLO], core_edit)
    assert isinstance(plan, WritePlan)
    change = decide_inbound(links[TRELLO], in_trello, edited_at=T0 + timedelta(minutes=1))
    assert change is not None
    links[TRELLO] = after_publish(links[TRELLO], change)
    assert decide_outbound(links[TRELLO], core_edit) == Skip(reason=SkipReason.AWAITING_MERGE)

    outcome = merge_provider_change(task, change, now=T0 + timedelta(minutes=6))
    (conflict,) = outcome.conflicts
    assert (conflict.core_value, conflict.provider_value) == ("Core title", "Trello title")
    assert conflict.winner == "core"  # core's edit is the later one
    merged = outcome.task.snapshot()
    assert merged.clock == VectorClock({"core": 3, TRELLO: 1})

    rewrite = decide_outbound(links[TRELLO], merged)
    assert isinstance(rewrite, WritePlan)
    assert rewrite.changes == {"title": "Core title"}
