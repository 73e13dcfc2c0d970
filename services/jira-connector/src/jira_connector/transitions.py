"""Completion through Jira's workflow: a status is changed only by a transition, and which
transitions are open depends on the current status (``GET``/``POST /issue/{id}/transitions``,
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-transitions-get).
Workflows often have no direct transition to a done status (PROVIDERS.md, Jira Cloud), so
reaching one may take several hops.

What is learnt of a workflow (the transitions open from each status) is kept per project and
issue type, so later issues of the same kind are planned over known transitions (a shortest
path) and each hop costs one call. A transition refused as no longer valid (the workflow was
changed) forgets what was learnt and the walk goes on from the issue's live transitions. What
is learnt sits in a bounded LRU cache (``jira_transitions`` in the cache metrics): a plan
made from it is a hit, a walk that has to read Jira's live transitions a miss. A
status of the wanted kind that cannot be reached is ``WorkflowUnreachable``: a clear refusal
naming where the walk stopped, never a silent skip.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jira_connector.client import JiraClient, path
from tether_common.lru import BoundedCache
from tether_connector_runtime.retry import PermanentProviderError

MAX_HOPS = 10  # longer walks than any sensible workflow needs end as unreachable
DONE = "done"
# Workflows (project and issue type) remembered per connector process: each is a few statuses'
# transitions, so this many cost little memory and cover any site's busy projects.
WORKFLOWS_KEPT = 1024
CACHE_NAME = "jira_transitions"

Scope = tuple[str, str]  # (project key, issue type id)
Graph = dict[str, list["Transition"]]  # status -> the transitions open from it


class WorkflowUnreachable(PermanentProviderError):
    """No status of the wanted kind can be reached from the issue's status."""


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to_status: str
    to_category: str  # statusCategory.key: new, indeterminate or done

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> Transition:
        to = answer.get("to") or {}
        return cls(
            id=str(answer["id"]),
            name=str(answer.get("name") or ""),
            to_status=str(to.get("id") or ""),
            to_category=str((to.get("statusCategory") or {}).get("key") or ""),
        )

    def reaches(self, goal: Goal) -> bool:
        if goal.status is not None:
            return self.to_status == goal.status
        return (self.to_category == DONE) == goal.done


@dataclass(frozen=True)
class Goal:
    """Where a walk ends: a status of the wanted kind (done or not), or, where the project's
    status mapping names one, that status itself."""

    done: bool
    status: str | None = None

    def describe(self) -> str:
        if self.status is not None:
            return f"status {self.status}"
        return "a done status" if self.done else "a status that is not done"


@dataclass
class WorkflowMap:
    """Transitions open from each status, per (project, issue type), as read from one site's
    Jira. ``cache``: where they are kept, keyed by (site, project, issue type); one cache may
    serve every site's map (see :class:`jira_connector.adapter.JiraAdapter`)."""

    site: str = ""
    cache: BoundedCache[tuple[str, str, str], Graph] = field(
        default_factory=lambda: BoundedCache(CACHE_NAME, WORKFLOWS_KEPT)
    )

    def graph(self, scope: Scope) -> Graph:
        """What is known of the scope's workflow (a copy; empty if nothing is)."""
        return dict(self.cache.peek((self.site, *scope)) or {})

    def learn(self, scope: Scope, status: str, open_now: list[Transition]) -> None:
        self.cache.put((self.site, *scope), {**self.graph(scope), status: open_now})

    def forget(self, scope: Scope) -> None:
        self.cache.forget((self.site, *scope))

    def plan(self, scope: Scope, start: str, goal: Goal) -> list[Transition] | None:
        """The shortest known walk from ``start`` to a status of the wanted kind (a cache hit);
        None (a miss) when what is known does not reach one."""
        walk = self._shortest(self.graph(scope), start, goal)
        self.cache.record(hit=walk is not None)
        return walk

    @staticmethod
    def _shortest(graph: Graph, start: str, goal: Goal) -> list[Transition] | None:
        queue: deque[tuple[str, list[Transition]]] = deque([(start, [])])
        seen = {start}
        while queue:
            status, walk = queue.popleft()
            for transition in graph.get(status, []):
                if transition.reaches(goal):
                    return [*walk, transition]
                if transition.to_status not in seen:
                    seen.add(transition.to_status)
                    queue.append((transition.to_status, [*walk, transition]))
        return None


def _explore(open_now: list[Transition], done: bool, visited: set[str]) -> Transition | None:
    """A hop into the unknown: to a status not seen on this walk, heading the right way (work
    in progress before anything else when going to done; a new status when reopening)."""
    fresh = [t for t in open_now if t.to_status not in visited]
    prefer = "indeterminate" if done else "new"
    fresh.sort(key=lambda t: t.to_category != prefer)
    return fresh[0] if fresh else None


class Workflow:
    """Moves issues to a status that means done, or one that does not, through transitions."""

    def __init__(self, client: JiraClient, workflows: WorkflowMap) -> None:
        self._client, self._map = client, workflows

    async def open_from(self, issue_id: str, scope: Scope, status: str) -> list[Transition]:
        answer = await self._client.call("GET", path("issue", issue_id, "transitions"))
        open_now = [Transition.of(t) for t in (answer or {}).get("transitions") or []]
        self._map.learn(scope, status, open_now)
        return open_now

    async def reach(
        self, issue_id: str, scope: Scope, status: str, *, done: bool, target: str | None = None
    ) -> str:
        """Walk the issue from ``status`` to a status of the wanted kind (``target``: that
        status); the status reached. ``WorkflowUnreachable`` when none can be reached within
        :data:`MAX_HOPS`."""
        goal = Goal(done, target)
        visited = {status}
        for _ in range(MAX_HOPS):
            walk = self._map.plan(scope, status, goal)
            step = walk[0] if walk else None
            if step is None:
                step = _explore(await self.open_from(issue_id, scope, status), done, visited)
            if step is None:
                break
            if not await self._take(issue_id, scope, step):
                continue  # what was learnt was stale: planned again from live transitions
            status = step.to_status
            visited.add(status)
            if step.reaches(goal):
                return status
        raise WorkflowUnreachable(
            f"Jira's workflow for issue {issue_id} ({scope[0]}, issue type {scope[1]}) offers no "
            f"way to {goal.describe()} from status {status}: map the project's done status or "
            "change the workflow",
            status=400,
        )

    async def _take(self, issue_id: str, scope: Scope, step: Transition) -> bool:
        """Perform ``step``; False (and the scope's map forgotten) when Jira says the
        transition is not valid for the issue now."""
        try:
            await self._client.call(
                "POST", path("issue", issue_id, "transitions"), json={"transition": {"id": step.id}}
            )
        except PermanentProviderError as exc:
            if exc.status != 400:
                raise
            self._map.forget(scope)
            return False
        return True
