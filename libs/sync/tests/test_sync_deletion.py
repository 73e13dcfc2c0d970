from datetime import UTC, datetime, timedelta

from tether_events.clock import VectorClock
from tether_sync import (
    ArchiveProviderCopy,
    CoreTask,
    DeletionGuard,
    DeletionPaused,
    GuardConfig,
    LinkState,
    TaskFields,
    UnlinkAndFlag,
    Verdict,
    decide_outbound,
    delete_task,
    guard_deletion,
    on_core_deleted,
    on_provider_deleted,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
LINK = LinkState(
    link_id="l1",
    task_id="t1",
    replica="jira:acme/K-1",
    synced_clock=VectorClock({"core": 1}),
    synced_fields=TaskFields(title="x"),
)
GUARD = DeletionGuard(config=GuardConfig(threshold=3, window=timedelta(minutes=1)))


def test_a_provider_delete_unlinks_and_flags_the_task_instead_of_deleting_it() -> None:
    assert on_provider_deleted(LINK) == UnlinkAndFlag(
        task_id="t1", link_id="l1", replica="jira:acme/K-1"
    )


def test_a_core_delete_archives_the_provider_copy() -> None:
    assert on_core_deleted(LINK) == ArchiveProviderCopy(
        task_id="t1", link_id="l1", replica="jira:acme/K-1"
    )


def test_a_core_delete_reaches_every_link_as_an_archive() -> None:
    task = CoreTask.create("t1", TaskFields(title="x"), at=T0)
    deleted = delete_task(task)
    assert deleted.clock == VectorClock({"core": 2})
    assert delete_task(deleted) is deleted
    assert decide_outbound(LINK, deleted.snapshot()) == on_core_deleted(LINK)


def _admit_many(guard: DeletionGuard, account: str, times: list[datetime]) -> list[Verdict]:
    verdicts = []
    for at in times:
        verdict, guard = guard.admit(account, at)
        verdicts.append(verdict)
    return verdicts


def test_deletions_up_to_the_threshold_within_the_window_proceed() -> None:
    times = [T0 + timedelta(seconds=s) for s in (0, 10, 20)]
    assert _admit_many(GUARD, "acct", times) == [Verdict.PROCEED] * 3


def test_a_burst_beyond_the_threshold_pauses_the_account_until_confirmed() -> None:
    guard = GUARD
    for s in range(3):
        _, guard = guard.admit("acct", T0 + timedelta(seconds=s))
    verdict, guard = guard.admit("acct", T0 + timedelta(seconds=3))
    assert verdict is Verdict.PAUSED
    later = T0 + timedelta(hours=1)
    assert guard.admit("acct", later)[0] is Verdict.PAUSED  # paused is not forgotten
    assert guard.admit("other", later)[0] is Verdict.PROCEED
    guard = guard.confirm("acct", later)
    assert not guard.is_paused("acct")
    burst = [later + timedelta(seconds=s) for s in range(10)]
    assert _admit_many(guard, "acct", burst) == [Verdict.PROCEED] * 10


def test_old_deletions_slide_out_of_the_window() -> None:
    times = [T0 + timedelta(seconds=s) for s in (0, 30, 50, 70, 90, 110)]
    assert _admit_many(GUARD, "acct", times) == [Verdict.PROCEED] * 6


def test_guard_deletion_holds_the_decision_for_confirmation() -> None:
    guard = GUARD
    decision = on_provider_deleted(LINK)
    results = []
    for s in range(4):
        result, guard = guard_deletion(guard, "acct", decision, T0 + timedelta(seconds=s))
        results.append(result)
    assert results[:3] == [decision] * 3
    assert results[3] == DeletionPaused(account="acct", held=decision, recent_count=4)
