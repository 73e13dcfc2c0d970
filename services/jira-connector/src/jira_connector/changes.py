"""What changed in a project since a watermark, through JQL (PROVIDERS.md, Jira Cloud: the
polling fallback, and reconciliation behind webhooks).

``POST /rest/api/3/search/jql`` with ``project = KEY AND updated >= "yyyy/MM/dd HH:mm" ORDER
BY updated ASC``, paged with ``nextPageToken``
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/). Three
facts shape it:

- JQL reads a date in the CALLING USER's profile time zone, not UTC: the watermark (kept in
  UTC) is written in that zone, or a user west of UTC would miss hours of edits.
- JQL dates have minute precision and the search index may lag the newest edits: each query
  starts ``OVERLAP`` before the newest ``updated`` seen, so a late-indexed edit is still
  found; an issue seen twice is observed twice, which changes nothing.
- The watermark only moves to an ``updated`` Jira showed, never to our own clock (clocks
  differ; the index lags).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from jira_connector.client import JiraClient
from jira_connector.mapping import project_key, updated_at
from tether_connector_runtime.port import ChangesSince, ItemNotice

OVERLAP = timedelta(minutes=3)
# A first cursor starts this far back of our clock (Jira's may be behind ours).
SKEW = timedelta(minutes=5)
PAGES = 10  # pages of 50 read in one poll; past that the runtime reads every linked issue


def jql_time(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as JQL reads a date for a user in ``zone``: ``yyyy/MM/dd HH:mm``, floored to
    the minute."""
    return moment.astimezone(zone).strftime("%Y/%m/%d %H:%M")


def _cursor(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _since(cursor: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(cursor)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class Watermarks:
    """``zone``: the connection user's profile time zone (``GET /myself``, asked once)."""

    def __init__(
        self,
        client: JiraClient,
        zone: Callable[[], Awaitable[ZoneInfo]],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        pages: int = PAGES,
    ) -> None:
        self._client, self._zone, self._clock, self._pages = client, zone, clock, pages

    async def changes_since(self, container_id: str, cursor: str | None) -> ChangesSince:
        """Issues of the project updated after ``cursor`` (an ISO UTC time), one notice each,
        and the next cursor. None (or a cursor that is not ours): no history, a first cursor
        only. More than ``pages`` pages: ``complete=False``."""
        key = project_key(container_id)
        since = _since(cursor) if cursor is not None else None
        if since is None:
            return ChangesSince([], _cursor(self._clock() - SKEW), complete=cursor is None)
        start = jql_time(since - OVERLAP, await self._zone())
        jql = f'project = {key} AND updated >= "{start}" ORDER BY updated ASC'
        seen: dict[str, None] = {}
        newest, token = since, None
        for _ in range(self._pages):
            page = await self._client.search(jql, "updated", token)
            for issue in page.get("issues") or []:
                seen[str(issue["id"])] = None
                at = updated_at(issue)
                newest = max(newest, at) if at is not None else newest
            token = page.get("nextPageToken")
            if not token or page.get("isLast"):
                return ChangesSince([ItemNotice(i) for i in seen], _cursor(newest))
        return ChangesSince([ItemNotice(i) for i in seen], _cursor(newest), complete=False)
