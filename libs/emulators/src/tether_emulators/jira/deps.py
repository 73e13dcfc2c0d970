"""FastAPI dependencies and paging shared by the API routers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Query

from tether_emulators.common.deps import from_scope, from_state
from tether_emulators.jira.emulator import JiraEmulator
from tether_emulators.jira.errors import bad_request
from tether_emulators.jira.gate import CONTEXT_KEY, RequestContext

JSON = dict[str, Any]
Ctx = Annotated[RequestContext, Depends(from_scope(CONTEXT_KEY, RequestContext))]
Emu = Annotated[JiraEmulator, Depends(from_state("jira", JiraEmulator))]

StartAt = Annotated[int, Query(alias="startAt")]
MaxResults = Annotated[int, Query(alias="maxResults")]
AccountId = Annotated[str | None, Query(alias="accountId")]

DEFAULT_PAGE = 50
MAX_PAGE = 100


def page_bean(values: Sequence[JSON], start_at: int, max_results: int, key: str = "values") -> JSON:
    """Jira's offset paging (``PageBean``): ``{startAt, maxResults, total, isLast, <key>}``.
    ``maxResults`` above ``MAX_PAGE`` is lowered to it, as Jira lowers it."""
    if start_at < 0 or max_results < 0:
        raise bad_request("startAt and maxResults must not be negative.")
    size = min(max_results, MAX_PAGE)
    chunk = list(values[start_at : start_at + size])
    return {
        "startAt": start_at,
        "maxResults": size,
        "total": len(values),
        "isLast": start_at + len(chunk) >= len(values),
        key: chunk,
    }
