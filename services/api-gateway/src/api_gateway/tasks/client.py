"""A typed client of task-core's internal task API.

Failures of task-core become domain errors here, so endpoints only see tasks or a DomainError:
unreachable, slow or 5xx is ``UpstreamUnavailable`` (503); an answer outside the contract is
``UpstreamError`` (502). The gateway keeps no task state, so a failed call leaves nothing
half-written on our side; task-core commits each change in one transaction.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from api_gateway.tasks.consistency import current_positions
from api_gateway.tasks.sync_schemas import ExportCreate
from tether_common.errors import (
    Conflict,
    DomainError,
    NotFound,
    UpstreamUnavailable,
    validation_error_of,
)
from tether_common.read_replica import READ_AFTER_HEADER, InvalidLsn, LsnPins, format_lsn, parse_lsn
from tether_contracts.sync import ConflictPage, HistoryPage, LinkCreate, LinkList, LinkOut
from tether_contracts.tasks import TaskCreate, TaskOut, TaskPage, TaskPatch

log = structlog.get_logger(__name__)

Model = TypeVar("Model", bound=BaseModel)


class TaskNotFound(NotFound):
    code = "task_not_found"


class AlreadyExported(Conflict):
    code = "already_exported"


class UpstreamError(DomainError):
    status_code = 502
    code = "upstream_error"


def _segment(value: str) -> str:
    # Ids go into the URL path; quoting keeps a crafted id from reaching another route.
    return quote(value, safe="")


class TaskCoreClient:
    """Wraps an ``httpx.AsyncClient`` whose base URL is task-core (any transport).

    ``positions``: each tenant's last write as task-core answered it (``X-Tether-Read-After``,
    a WAL position), sent with the tenant's reads so that they reflect the write even when
    another task-core replica, reading from a lagging read replica, answers them.
    """

    def __init__(self, http: httpx.AsyncClient, *, positions: LsnPins | None = None) -> None:
        self._http = http
        self._positions = positions

    async def create_task(self, tenant_id: str, task: TaskCreate) -> TaskOut:
        response = await self._send(
            "POST", self._tasks(tenant_id), json=task.model_dump(mode="json"), tenant_id=tenant_id
        )
        return self._expect(response, TaskOut, (200, 201))

    async def list_tasks(
        self, tenant_id: str, *, limit: int, cursor: str | None, needs_review: bool | None = None
    ) -> TaskPage:
        params = _page(limit, cursor)
        if needs_review is not None:
            params["needs_review"] = str(needs_review).lower()
        response = await self._send(
            "GET", self._tasks(tenant_id), params=params, tenant_id=tenant_id
        )
        return self._expect(response, TaskPage, (200,))

    async def get_task(self, tenant_id: str, task_id: str) -> TaskOut:
        response = await self._send("GET", self._task(tenant_id, task_id), tenant_id=tenant_id)
        return self._expect(response, TaskOut, (200,), task_id=task_id)

    async def update_task(self, tenant_id: str, task_id: str, patch: TaskPatch) -> TaskOut:
        # exclude_unset: absent fields stay untouched, while an explicit null (due_date) clears.
        body = patch.model_dump(mode="json", exclude_unset=True)
        response = await self._send(
            "PATCH", self._task(tenant_id, task_id), json=body, tenant_id=tenant_id
        )
        return self._expect(response, TaskOut, (200,), task_id=task_id)

    async def clear_review(self, tenant_id: str, task_id: str) -> TaskOut:
        response = await self._send(
            "DELETE", f"{self._task(tenant_id, task_id)}/review", tenant_id=tenant_id
        )
        return self._expect(response, TaskOut, (200,), task_id=task_id)

    async def delete_task(self, tenant_id: str, task_id: str) -> None:
        response = await self._send("DELETE", self._task(tenant_id, task_id), tenant_id=tenant_id)
        if response.status_code not in (200, 204):
            self._raise_for(response, task_id=task_id)

    async def task_history(
        self, tenant_id: str, task_id: str, *, limit: int, cursor: str | None
    ) -> HistoryPage:
        response = await self._send(
            "GET",
            f"{self._task(tenant_id, task_id)}/history",
            params=_page(limit, cursor),
            tenant_id=tenant_id,
        )
        return self._expect(response, HistoryPage, (200,), task_id=task_id)

    async def list_conflicts(
        self, tenant_id: str, *, task_id: str | None, limit: int, cursor: str | None
    ) -> ConflictPage:
        params = _page(limit, cursor) | ({"task_id": task_id} if task_id is not None else {})
        path = f"/internal/v1/tenants/{_segment(tenant_id)}/conflicts"
        response = await self._send("GET", path, params=params, tenant_id=tenant_id)
        return self._expect(response, ConflictPage, (200,))

    async def export_task(self, tenant_id: str, task_id: str, export: ExportCreate) -> LinkOut:
        request = LinkCreate(
            provider=export.provider, connection_id=export.connection_id, target=export.target
        )
        body = request.model_dump(mode="json")
        response = await self._send(
            "POST", f"{self._task(tenant_id, task_id)}/links", json=body, tenant_id=tenant_id
        )
        if response.status_code == 409:
            # The one refusal task-core explains itself: pass its words (and link id) on.
            error = _json(response).get("error")
            if isinstance(error, dict) and error.get("code") == AlreadyExported.code:
                details = error.get("details")
                ids = details if isinstance(details, dict) else {}
                raise AlreadyExported(str(error.get("message") or "already exported"), **ids)
        return self._expect(response, LinkOut, (202,), task_id=task_id)

    async def task_links(self, tenant_id: str, task_id: str) -> LinkList:
        response = await self._send(
            "GET", f"{self._task(tenant_id, task_id)}/links", tenant_id=tenant_id
        )
        return self._expect(response, LinkList, (200,), task_id=task_id)

    async def ping(self) -> None:
        """Readiness probe: task-core's liveness endpoint answers 2xx."""
        response = await self._http.get("/healthz")
        response.raise_for_status()

    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _tasks(tenant_id: str) -> str:
        return f"/internal/v1/tenants/{_segment(tenant_id)}/tasks"

    def _task(self, tenant_id: str, task_id: str) -> str:
        return f"{self._tasks(tenant_id)}/{_segment(task_id)}"

    async def _send(
        self, method: str, path: str, *, tenant_id: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {}
        # Carry the request id so task-core's log lines join ours.
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if isinstance(request_id, str):
            headers["X-Request-ID"] = request_id
        position = self._read_after(tenant_id)
        if method == "GET" and position is not None:
            headers[READ_AFTER_HEADER] = format_lsn(position)
        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            log.warning("task_core_timeout", method=method, path=path, error=type(exc).__name__)
            raise UpstreamUnavailable(
                "task-core did not answer in time; please retry shortly"
            ) from exc
        except httpx.TransportError as exc:
            log.warning("task_core_unreachable", method=method, path=path, error=repr(exc))
            raise UpstreamUnavailable(
                "task-core is unreachable; nothing was changed, please retry shortly"
            ) from exc
        if response.status_code >= 500:
            log.warning("task_core_failed", method=method, path=path, status=response.status_code)
            raise UpstreamUnavailable(
                f"task-core failed (HTTP {response.status_code}); please retry shortly"
            )
        self._note_position(tenant_id, response)
        return response

    def _read_after(self, tenant_id: str) -> int | None:
        """What the tenant's read must reflect: its last write through this gateway, or the
        position the client sent back (from a write through another gateway), the later."""
        remembered = self._positions.get(tenant_id) if self._positions is not None else None
        request = current_positions()
        sent = request.sent if request is not None else None
        return max(remembered or 0, sent or 0) or None

    def _note_position(self, tenant_id: str, response: httpx.Response) -> None:
        written = response.headers.get(READ_AFTER_HEADER)
        if written is None:
            return
        try:
            lsn = parse_lsn(written)
        except InvalidLsn:
            log.warning("task_core_bad_read_after", value=written[:40])
            return
        if self._positions is not None:
            self._positions.note(tenant_id, lsn)
        request = current_positions()
        if request is not None:
            request.wrote(lsn)  # answered to the client too

    def _expect(
        self,
        response: httpx.Response,
        model: type[Model],
        ok: tuple[int, ...],
        *,
        task_id: str | None = None,
    ) -> Model:
        if response.status_code not in ok:
            self._raise_for(response, task_id=task_id)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            log.error(
                "task_core_contract_violation",
                model=model.__name__,
                errors=exc.errors(include_input=False),
            )
            raise UpstreamError(f"task-core sent an invalid {model.__name__}") from exc

    @staticmethod
    def _raise_for(response: httpx.Response, *, task_id: str | None) -> None:
        if response.status_code == 404 and task_id is not None:
            raise TaskNotFound(f"task {task_id!r} not found", task_id=task_id)
        if response.status_code == 422:
            # The gateway validates bodies with the same contracts, so this is input only
            # task-core can judge (an expired cursor, say): pass its field errors through in
            # the shape of our own 422s.
            invalid = validation_error_of(_json(response))
            if invalid is not None:
                raise invalid
        log.error("task_core_unexpected_status", status=response.status_code)
        raise UpstreamError(f"task-core answered HTTP {response.status_code} unexpectedly")


def _page(limit: int, cursor: str | None) -> dict[str, str | int]:
    return {"limit": limit} | ({"cursor": cursor} if cursor is not None else {})


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
