"""The dashboard's pages at ``/dashboard``: log in with an API token, then the tenant's
connections, links, conflicts, retries and parked events; a task's activity; choosing a
conflict's other value; replaying a parked event.

Every page needs the session cookie (else a redirect to the login page) and shows only the
token's tenant: each read passes its tenant id on, exactly as the JSON API does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api_gateway.auth.service import Principal
from api_gateway.connections.providers import NAMES, PROVIDERS
from api_gateway.dashboard import exports, panels, session
from api_gateway.dashboard.choices import choose_other
from api_gateway.dashboard.pages import STATIC, form_of, render
from api_gateway.state import GatewayState, State
from api_gateway.tasks.endpoints import ID_PATTERN
from tether_common.errors import DomainError
from tether_contracts.sync import HistoryEntry, LinkOut

router = APIRouter(prefix=session.PATH, include_in_schema=False)
static = StaticFiles(directory=STATIC)

Id = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]
PANELS = ("connections", "links", "retrying", "conflicts", "dead-letters")


def _to(path: str, **query: str) -> RedirectResponse:
    # 303: the browser follows a POST's answer with a GET.
    suffix = f"?{urlencode(query)}" if query else ""
    return RedirectResponse(f"{session.PATH}{path}{suffix}", status_code=303)


def _to_login(request: Request) -> Response:
    response: Response = _to("/login")
    if request.headers.get("hx-request") == "true":
        # A panel refreshing itself: htmx would follow a redirect and show the login form
        # inside the panel; HX-Redirect sends the whole page there instead.
        response = Response(status_code=204, headers={"HX-Redirect": f"{session.PATH}/login"})
    if session.token_of(request):
        session.forget(response, request)  # unknown or revoked: do not send it again
    return response


Page = Callable[[Principal, str], Awaitable[Response]]


async def _signed_in(request: Request, state: GatewayState, page: Page) -> Response:
    token = session.token_of(request)
    principal = await session.principal_of(state, token)
    if principal is None or token is None:
        return _to_login(request)
    return await page(principal, token)


@router.get("/login")
async def login_page(request: Request) -> Response:
    return render(request, "login.html")


@router.post("/login")
async def login(request: Request, state: State) -> Response:
    session.check_origin(request)
    token = (await form_of(request)).get("token", "").strip()
    if await session.principal_of(state, token) is None:
        message = "That token is unknown or revoked." if token else "Paste an API token."
        return render(request, "login.html", error=message, status_code=401)
    response = _to("")
    session.keep(response, request, token)
    return response


@router.post("/logout")
async def logout(request: Request, state: State) -> Response:
    async def out(principal: Principal, token: str) -> Response:
        session.check_csrf(request, token, (await form_of(request)).get("csrf"))
        response = _to("/login", notice="Logged out.")
        session.forget(response, request)
        return response

    return await _signed_in(request, state, out)


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, state: State) -> Response:
    async def page(principal: Principal, token: str) -> Response:
        shown = {name: await _panel(state, principal, name) for name in PANELS}
        return render(request, "overview.html", principal, token, panels=shown)

    return await _signed_in(request, state, page)


@router.get("/panels/{name}", response_class=HTMLResponse)
async def one_panel(request: Request, state: State, name: str) -> Response:
    """One panel's fragment, for htmx to refresh in place."""
    if name not in PANELS:
        return Response(status_code=404)

    async def fragment(principal: Principal, token: str) -> Response:
        data = await _panel(state, principal, name)
        return render(request, f"panel_{name}.html", principal, token, panel=data)

    return await _signed_in(request, state, fragment)


async def _panel(state: GatewayState, principal: Principal, name: str) -> panels.Panel[Any]:
    tenant, core, connectors = principal.tenant_id, state.task_core, state.connectors
    if name == "connections":
        now = datetime.now(UTC)
        return await panels.panel(lambda: panels.connection_health(connectors, tenant, now))
    if name == "dead-letters":
        return await panels.panel(lambda: panels.dead_letters(connectors, tenant))
    known = await panels.tasks(core, tenant)
    if name == "conflicts":
        return await panels.panel(lambda: panels.conflicts(core, tenant, known))
    retrying_only = name == "retrying"
    return await panels.panel(
        lambda: panels.links(connectors, tenant, known, retrying_only=retrying_only)
    )


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(request: Request, state: State, task_id: Id) -> Response:
    """A task: its values, where it is linked, its recent activity and its conflicts."""

    async def page(principal: Principal, token: str) -> Response:
        tenant, core = principal.tenant_id, state.task_core
        try:
            task = await core.get_task(tenant, task_id)
        except DomainError as exc:
            return render(
                request, "problem.html", principal, token, status_code=exc.status_code, error=exc
            )
        known = {task.id: task}

        async def history() -> list[HistoryEntry]:
            return (await core.task_history(tenant, task_id, limit=panels.ROWS, cursor=None)).items

        async def links() -> list[LinkOut]:
            return (await core.task_links(tenant, task_id)).root

        async def conflicts() -> list[panels.ConflictView]:
            return await panels.conflicts(core, tenant, known, task_id)

        return render(
            request,
            "task.html",
            principal,
            token,
            task=task,
            history=await panels.panel(history),
            links=await panels.panel(links),
            conflicts=await panels.panel(conflicts),
        )

    return await _signed_in(request, state, page)


@router.post("/tasks/{task_id}/conflicts/{conflict_id}/choose")
async def choose(request: Request, state: State, task_id: Id, conflict_id: Id) -> Response:
    """Choose the value the policy did not keep: a new core edit of the task."""

    async def act(principal: Principal, token: str) -> Response:
        session.check_csrf(request, token, (await form_of(request)).get("csrf"))
        try:
            view, _ = await choose_other(state.task_core, principal.tenant_id, task_id, conflict_id)
        except DomainError as exc:
            return _to(f"/tasks/{task_id}", problem=str(exc))
        field, value = view.conflict.field, view.other_value
        return _to(f"/tasks/{task_id}", notice=f"Chose {value!r} for {field}: a new core edit.")

    return await _signed_in(request, state, act)


@router.get("/tasks/{task_id}/destinations", response_class=HTMLResponse)
async def task_destinations(request: Request, state: State, task_id: Id) -> Response:
    """The export form's fragment: every place the tenant's connections can export to."""

    async def fragment(principal: Principal, token: str) -> Response:
        found = await panels.panel(lambda: exports.destinations(state, principal.tenant_id))
        return render(
            request,
            "_export_destinations.html",
            principal,
            token,
            task_id=task_id,
            found=found,
            names=NAMES,
        )

    return await _signed_in(request, state, fragment)


@router.post("/tasks/{task_id}/exports")
async def export(request: Request, state: State, task_id: Id) -> Response:
    """Export the task to the place chosen: the API's own export; the link starts pending."""

    async def act(principal: Principal, token: str) -> Response:
        form = await form_of(request)
        session.check_csrf(request, token, form.get("csrf"))
        try:
            link = await exports.export(state, principal, task_id, form.get("destination", ""))
        except (DomainError, RequestValidationError) as exc:
            return _to(f"/tasks/{task_id}", problem=_reason(exc))
        notice = f"Export to {NAMES[link.provider]} accepted: its link turns active once made."
        return _to(f"/tasks/{task_id}", notice=notice)

    return await _signed_in(request, state, act)


def _reason(exc: DomainError | RequestValidationError) -> str:
    if isinstance(exc, DomainError):
        return str(exc)
    return "; ".join(str(error.get("msg", "")) for error in exc.errors()) or "invalid input"


@router.post("/dead-letters/{provider}/{record_id}/replay")
async def replay(request: Request, state: State, provider: str, record_id: str) -> Response:
    """Publish a parked event again to its topic (its consumers retry it)."""

    async def act(principal: Principal, token: str) -> Response:
        session.check_csrf(request, token, (await form_of(request)).get("csrf"))
        chosen = next((p for p in PROVIDERS if p == provider), None)
        if chosen is None:
            return _to("", problem=f"no provider {provider[:32]!r}")
        try:
            done = await state.connectors.replay(principal.tenant_id, chosen, record_id)
        except DomainError as exc:
            return _to("", problem=str(exc))
        return _to("", notice=f"Replayed event {done.event_id} to {done.original_topic}.")

    return await _signed_in(request, state, act)
