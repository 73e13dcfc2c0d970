"""Issues, their transitions and their entity properties under ``/rest/api/3``
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/,
.../api-group-issue-properties/): create (201 ``{id, key, self}``), read, edit (204), delete
(204), transitions (read, then perform: 204), properties (read, set: 201 new / 200 changed,
delete: 204)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from tether_emulators.jira import issues, workflow
from tether_emulators.jira.deps import JSON, Ctx, Emu
from tether_emulators.jira.errors import JiraError, bad_request
from tether_emulators.jira.representation import issue_json, properties_json, split_list

router = APIRouter(prefix="/rest/api/3/issue")


def _object(value: object) -> JSON:
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object.")
    return value


@router.post("")
async def create_issue(ctx: Ctx, emu: Emu) -> JSONResponse:
    issue = issues.create_issue(emu, ctx.user, _object(ctx.json()))
    body = {"id": issue.id, "key": issue.key, "self": f"{emu.base}/rest/api/3/issue/{issue.id}"}
    return JSONResponse(body, status_code=201)


@router.get("/{id_or_key}")
async def get_issue(
    id_or_key: str, ctx: Ctx, emu: Emu, fields: str | None = None, properties: str | None = None
) -> JSON:
    """The issue; ``fields`` (comma-separated) picks fields, ``properties`` adds entity
    properties (``*all`` or keys)."""
    issue = emu.store.issue(id_or_key)
    answer = issue_json(
        emu.store, issue, emu.base, time_zone=ctx.user.time_zone, fields=split_list(fields)
    )
    if properties is not None:
        answer["properties"] = properties_json(issue, split_list(properties) or [])
    return answer


@router.put("/{id_or_key}")
async def edit_issue(id_or_key: str, ctx: Ctx, emu: Emu) -> Response:
    issue = emu.store.issue(id_or_key)
    body = _object(ctx.json())
    if body.get("update"):
        raise bad_request("The emulator takes edits in 'fields' only, not 'update'.")
    issues.edit_issue(emu, ctx.user, issue, body.get("fields", {}))
    return Response(status_code=204)


@router.delete("/{id_or_key}")
async def delete_issue(id_or_key: str, ctx: Ctx, emu: Emu) -> Response:
    issues.delete_issue(emu, ctx.user, emu.store.issue(id_or_key))
    return Response(status_code=204)


@router.get("/{id_or_key}/transitions")
async def get_transitions(id_or_key: str, ctx: Ctx, emu: Emu) -> JSON:
    """The transitions open from the issue's current status to the caller."""
    issue = emu.store.issue(id_or_key)
    open_now = issues.open_transitions(emu, ctx.user, issue)
    return {
        "expand": "transitions",
        "transitions": [workflow.transition_json(t, emu.base) for t in open_now],
    }


@router.post("/{id_or_key}/transitions")
async def do_transition(id_or_key: str, ctx: Ctx, emu: Emu) -> Response:
    issue = emu.store.issue(id_or_key)
    transition = _object(ctx.json()).get("transition")
    if not isinstance(transition, dict) or transition.get("id") is None:
        raise bad_request("Missing 'transition' identifier")
    issues.transition_issue(emu, ctx.user, issue, str(transition["id"]))
    return Response(status_code=204)


@router.get("/{id_or_key}/properties")
async def property_keys(id_or_key: str, ctx: Ctx, emu: Emu) -> JSON:
    issue = emu.store.issue(id_or_key)
    base = f"{emu.base}/rest/api/3/issue/{issue.id}/properties"
    return {"keys": [{"self": f"{base}/{key}", "key": key} for key in issue.properties]}


@router.get("/{id_or_key}/properties/{property_key}")
async def get_property(id_or_key: str, property_key: str, ctx: Ctx, emu: Emu) -> JSON:
    issue = emu.store.issue(id_or_key)
    if property_key not in issue.properties:
        raise JiraError(404, f"The property with key '{property_key}' does not exist.")
    return {"key": property_key, "value": issue.properties[property_key]}


@router.put("/{id_or_key}/properties/{property_key}")
async def set_property(id_or_key: str, property_key: str, ctx: Ctx, emu: Emu) -> Response:
    issue = emu.store.issue(id_or_key)
    value: Any = ctx.json()
    created = issues.set_property(issue, property_key, value)
    return Response(status_code=201 if created else 200)


@router.delete("/{id_or_key}/properties/{property_key}")
async def delete_property(id_or_key: str, property_key: str, ctx: Ctx, emu: Emu) -> Response:
    issue = emu.store.issue(id_or_key)
    if property_key not in issue.properties:
        raise JiraError(404, f"The property with key '{property_key}' does not exist.")
    del issue.properties[property_key]
    return Response(status_code=204)
