"""``external`` belongs to the OAuth app that set it: a personal access token can neither set
nor see it, another app does not see it, and ``external:<gid>`` finds the task for its app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tether_emulators.asana.testing import oauth_tokens

REDIRECT = "https://tether.test/callback"


async def access_token(root: httpx.AsyncClient, user: str, client_id: str) -> str:
    app = await root.post(
        "/_emulator/apps", json={"client_id": client_id, "redirect_uris": [REDIRECT]}
    )
    tokens = await oauth_tokens(
        root,
        user_gid=user,
        client_id=client_id,
        client_secret=app.json()["client_secret"],
        redirect_uri=REDIRECT,
    )
    return str(tokens["access_token"])


async def test_external_is_for_the_oauth_app_that_set_it(
    asana: httpx.AsyncClient,
    asana_root: httpx.AsyncClient,
    asana_as: Callable[[str | None], httpx.AsyncClient],
    project: dict[str, Any],
    tether_user: str,
) -> None:
    tether = await access_token(asana_root, tether_user, "tether-app")
    other = await access_token(asana_root, tether_user, "other-app")
    marker = {"gid": "tether-export-42", "data": '{"task": 42}'}
    async with asana_as(tether) as app_client:
        created = await app_client.post(
            "/tasks",
            json={"data": {"name": "Marked", "projects": [project["gid"]], "external": marker}},
        )
        assert created.status_code == 201, created.text
        gid = created.json()["data"]["gid"]
        assert created.json()["data"]["external"] == marker
        by_marker = await app_client.get("/tasks/external:tether-export-42")
        assert by_marker.json()["data"]["gid"] == gid
        listed = await app_client.get(
            "/tasks", params={"project": project["gid"], "opt_fields": "external"}
        )
        assert listed.json()["data"] == [{"gid": gid, "external": marker}]
    async with asana_as(other) as other_client:
        seen = (await other_client.get(f"/tasks/{gid}")).json()["data"]
        assert "external" not in seen  # not set by this app
        missing = await other_client.get("/tasks/external:tether-export-42")
        assert missing.status_code == 404
    pat_view = (await asana.get(f"/tasks/{gid}", params={"opt_fields": "external,name"})).json()
    assert pat_view["data"] == {"gid": gid, "name": "Marked"}
    refused = await asana.put(f"/tasks/{gid}", json={"data": {"external": {"gid": "mine"}}})
    assert refused.status_code == 403
    too_long = {"gid": "x" * 1025}
    async with asana_as(tether) as app_client:
        answer = await app_client.put(f"/tasks/{gid}", json={"data": {"external": too_long}})
        assert answer.status_code == 400
