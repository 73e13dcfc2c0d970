"""``POST``/``GET /rest/api/3/search/jql``: JQL search with token paging
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-post).

Without ``fields`` each issue is only ``{"id"}``; there is no ``total``: a page says
``isLast`` and, when more follow, ``nextPageToken``. ``maxResults`` defaults to 50 and is
lowered to 5000 for ids only, 100 with fields. Unbounded JQL is a 400. The JQL subset is
``jql.py``; dates are read in the caller's time zone (``match.py``). The old
``/rest/api/3/search`` is gone: 410.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tether_emulators.jira.deps import JSON, Ctx, Emu
from tether_emulators.jira.emulator import JiraEmulator
from tether_emulators.jira.errors import JiraError, bad_request
from tether_emulators.jira.gate import RequestContext
from tether_emulators.jira.jql import parse
from tether_emulators.jira.match import check, matches, ordered
from tether_emulators.jira.representation import issue_json, properties_json, split_list

router = APIRouter(prefix="/rest/api/3")

DEFAULT_MAX = 50
MAX_IDS = 5000
MAX_WITH_FIELDS = 100


@router.post("/search/jql")
async def search_post(ctx: Ctx, emu: Emu) -> JSON:
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return _search(emu, ctx, body)


@router.get("/search/jql")
async def search_get(request: Request, ctx: Ctx, emu: Emu) -> JSON:
    params: dict[str, Any] = dict(request.query_params)
    for name in ("fields", "properties"):
        if name in params:
            params[name] = split_list(request.query_params.getlist(name))
    return _search(emu, ctx, params)


@router.api_route("/search", methods=["GET", "POST"], include_in_schema=False)
async def old_search() -> JSONResponse:
    message = (
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
    )
    return JSONResponse({"errorMessages": [message], "errors": {}}, status_code=410)


def _search(emu: JiraEmulator, ctx: RequestContext, body: JSON) -> JSON:
    jql = body.get("jql")
    if not isinstance(jql, str):
        jql = ""
    query, reader = parse(jql), emu.reader(ctx.user)
    check(query, reader)
    fields = body.get("fields")
    fields = split_list(fields) if isinstance(fields, (str, list)) else None
    only_ids = not fields or fields == ["id"]
    size = _max_results(body.get("maxResults"), MAX_IDS if only_ids else MAX_WITH_FIELDS)
    start = _offset(body.get("nextPageToken"))
    found = ordered(query, [i for i in emu.store.issues.values() if matches(query, i, reader)])
    chunk = found[start : start + size]
    requested_properties = body.get("properties")
    issues = []
    for issue in chunk:
        shown: JSON = {"id": issue.id}
        if not only_ids:
            shown = issue_json(
                emu.store, issue, emu.base, time_zone=ctx.user.time_zone, fields=fields
            )
        if isinstance(requested_properties, list) and requested_properties:
            shown["properties"] = properties_json(issue, [str(p) for p in requested_properties])
        issues.append(shown)
    answer: JSON = {"issues": issues, "isLast": start + len(chunk) >= len(found)}
    if not answer["isLast"]:
        answer["nextPageToken"] = _token(start + len(chunk))
    return answer


def _max_results(value: object, cap: int) -> int:
    if value is None:
        return DEFAULT_MAX
    try:
        size = int(str(value))
    except ValueError:
        raise bad_request("maxResults must be a number.") from None
    if size < 0:
        raise bad_request("maxResults must not be negative.")
    return min(size, cap)


def _token(offset: int) -> str:
    # Opaque to clients, as Jira's is; here it only carries the offset of the next page.
    return base64.urlsafe_b64encode(f"tether-emulator:{offset}".encode()).decode()


def _offset(token: object) -> int:
    if token is None:
        return 0
    try:
        prefix, _, offset = base64.urlsafe_b64decode(str(token)).decode().partition(":")
        if prefix == "tether-emulator" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise JiraError(400, "The provided next page token is invalid or expired.")
