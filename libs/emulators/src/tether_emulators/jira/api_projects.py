"""The caller and the projects: ``GET /rest/api/3/myself``, ``GET /rest/api/3/project/search``
``GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes``,
``GET /rest/api/3/project/{projectIdOrKey}/statuses`` and ``GET /rest/api/3/mypermissions``
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/,
.../api-group-permissions/#api-rest-api-3-mypermissions-get,
.../api-group-projects/#api-rest-api-3-project-projectidorkey-statuses-get,
.../api-group-projects/#api-rest-api-3-project-search-get,
.../api-group-issues/#api-rest-api-3-issue-createmeta-projectidorkey-issuetypes-get)."""

from __future__ import annotations

from fastapi import APIRouter

from tether_emulators.jira import workflow
from tether_emulators.jira.deps import DEFAULT_PAGE, JSON, Ctx, Emu, MaxResults, StartAt, page_bean
from tether_emulators.jira.errors import bad_request

router = APIRouter(prefix="/rest/api/3")


@router.get("/myself")
async def myself(ctx: Ctx, emu: Emu) -> JSON:
    """The ``User`` behind the credentials, with ``timeZone`` (the one JQL dates are read in)."""
    user = ctx.user
    return {
        **user.compact(emu.base),
        "emailAddress": user.email,
        "locale": "en_US",
        "groups": {"size": 1 + user.admin, "items": []},
        "applicationRoles": {"size": 1, "items": []},
        "expand": "groups,applicationRoles",
    }


@router.get("/project/search")
async def search_projects(
    ctx: Ctx,
    emu: Emu,
    start_at: StartAt = 0,
    max_results: MaxResults = DEFAULT_PAGE,
    query: str = "",
) -> JSON:
    """Projects the caller can see (all of them: permissions are not modelled), by key."""
    wanted = query.casefold()
    projects = sorted(emu.store.projects.values(), key=lambda p: p.key)
    values = [
        {**p.compact(emu.base), "style": "classic", "isPrivate": False}
        for p in projects
        if wanted in p.key.casefold() or wanted in p.name.casefold()
    ]
    answer = page_bean(values, start_at, max_results)
    answer["self"] = f"{emu.base}/rest/api/3/project/search?startAt={start_at}"
    if not answer["isLast"]:
        following = start_at + answer["maxResults"]
        answer["nextPage"] = f"{emu.base}/rest/api/3/project/search?startAt={following}"
    return answer


@router.get("/issue/createmeta/{project_id_or_key}/issuetypes")
async def create_issue_types(
    project_id_or_key: str,
    ctx: Ctx,
    emu: Emu,
    start_at: StartAt = 0,
    max_results: MaxResults = DEFAULT_PAGE,
) -> JSON:
    """The issue types one can create in the project, under ``issueTypes``."""
    project = emu.store.project(project_id_or_key)
    values = [t.to_json(emu.base) for t in project.issue_types]
    answer = page_bean(values, start_at, max_results, key="issueTypes")
    del answer["isLast"]  # PageOfCreateMetaIssueTypes has no isLast
    return answer


@router.get("/project/{project_id_or_key}/statuses")
async def project_statuses(project_id_or_key: str, ctx: Ctx, emu: Emu) -> list[JSON]:
    """Per issue type of the project, the statuses of its workflow (one workflow here)."""
    project = emu.store.project(project_id_or_key)
    statuses = [s.to_json(emu.base) for s in workflow.STATUSES.values()]
    return [
        {**t.to_json(emu.base), "statuses": statuses, "subtask": False} for t in project.issue_types
    ]


# Global permissions the emulator answers; the others are not modelled.
_GLOBAL = {"ADMINISTER": "Administer Jira", "BROWSE_PROJECTS": "Browse Projects"}


@router.get("/mypermissions")
async def my_permissions(ctx: Ctx, emu: Emu, permissions: str = "") -> JSON:
    """Whether the caller holds each named permission; Jira asks for ``permissions`` (400
    without it). Administer Jira is the user's ``admin`` flag; browsing is always granted."""
    keys = [k.strip() for k in permissions.split(",") if k.strip()]
    if not keys:
        raise bad_request("The 'permissions' parameter is required.")
    unknown = [k for k in keys if k not in _GLOBAL]
    if unknown:
        raise bad_request(f"Unrecognized permission key(s): {', '.join(unknown)}")
    return {
        "permissions": {
            key: {
                "id": str(index),
                "key": key,
                "name": _GLOBAL[key],
                "type": "GLOBAL" if key == "ADMINISTER" else "PROJECT",
                "havePermission": ctx.user.admin if key == "ADMINISTER" else True,
            }
            for index, key in enumerate(keys)
        }
    }
