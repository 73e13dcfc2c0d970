from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tether_sync import Candidate, ConflictPolicy
from tether_sync.policy import Side, choose_winner

T0 = datetime(2025, 1, 1, tzinfo=UTC)

candidates = st.builds(
    Candidate,
    value=st.one_of(st.sampled_from(["a", "b", ""]), st.booleans(), st.none()),
    replica=st.sampled_from(["core", "trello:c1", "asana:1", "jira:acme/K-1"]),
    edited_at=st.integers(0, 3).map(lambda s: T0 + timedelta(seconds=s)),
)


def _winner(policy: ConflictPolicy, core: Candidate, provider: Candidate) -> Candidate:
    return core if choose_winner(policy, core, provider) is Side.CORE else provider


@given(candidates, candidates)
def test_latest_wins_picks_the_same_edit_whichever_side_holds_it(
    a: Candidate, b: Candidate
) -> None:
    assert _winner(ConflictPolicy.LATEST_WINS, a, b) == _winner(ConflictPolicy.LATEST_WINS, b, a)


def test_latest_wins_prefers_the_later_edit_then_the_greater_replica_id() -> None:
    early = Candidate(value="a", replica="trello:c1", edited_at=T0)
    late = Candidate(value="b", replica="asana:1", edited_at=T0 + timedelta(seconds=1))
    assert _winner(ConflictPolicy.LATEST_WINS, early, late) == late
    tie = Candidate(value="c", replica="core", edited_at=T0)
    assert _winner(ConflictPolicy.LATEST_WINS, tie, early) == early


def test_core_wins_and_provider_wins_ignore_time() -> None:
    early = Candidate(value="a", replica="core", edited_at=T0)
    late = Candidate(value="b", replica="jira:acme/K-1", edited_at=T0 + timedelta(days=1))
    assert _winner(ConflictPolicy.CORE_WINS, early, late) == early
    assert _winner(ConflictPolicy.PROVIDER_WINS, late, early) == early
