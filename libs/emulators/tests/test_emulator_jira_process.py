"""The standalone sandbox, ``python -m tether_emulators.jira``, over a real socket: the printed
credentials reach the seeded project."""

from __future__ import annotations

import httpx

from tether_emulators.common.testing import sandbox_process
from tether_emulators.jira.testing import basic_auth


async def test_sandbox_serves_its_seeded_project() -> None:
    sandbox = sandbox_process("tether_emulators.jira", "--retry-delays", "0", last_line="project")
    async with sandbox as (base, printed), httpx.AsyncClient(base_url=base) as http:
        auth = basic_auth(printed["email"], printed["api_token"])
        projects = (await http.get("/rest/api/3/project/search", headers=auth)).json()
        assert [p["key"] for p in projects["values"]] == [printed["project"]]
