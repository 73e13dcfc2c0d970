"""Bad input never reaches Trello and never becomes a 5xx: credentials that could break out of
the Authorization header, ids that could break out of their URL path segment, signed webhook
bodies of the wrong shape, and error answers that would quote the app key or a token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tether_connector_runtime.retry import AuthRevokedError, PermanentProviderError, ProviderError
from tether_connector_runtime.webhooks import trello_signature
from tether_emulators.trello import create_trello_emulator, get_emulator
from tether_events.inprocess import InProcessBus
from trello_connector.app import create_app
from trello_connector.client import InvalidTrelloId, MalformedCredentials, TrelloClient
from trello_connector.config import TrelloSettings

KEY = "sandbox-key"
SECRET = "app-secret"
ADA_TOKEN = "a" * 64
BOB_TOKEN = "b" * 64
CONNECTIONS = "/internal/v1/tenants/acme/connections"
WEBHOOK_URL = "http://tether.test/webhooks/trello"
CARD = "5f" + "0" * 22


@asynccontextmanager
async def connector(
    tmp_path: Path, trello: httpx.AsyncBaseTransport
) -> AsyncIterator[httpx.AsyncClient]:
    settings = TrelloSettings(
        bus="inprocess",
        api_url="http://trello.test/1",
        api_key=KEY,
        api_secret=SECRET,
        public_url="http://tether.test",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/trello.db",
        reconcile_interval=3600,
    )
    bus = InProcessBus()
    app = create_app(settings, bus=bus, trello_transport=trello)
    async with app.router.lifespan_context(app):
        await bus.start()
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://tether.test"
            ) as api:
                yield api
        finally:
            await bus.stop()


class Recorder:
    """A Trello that records each request and answers with ``answer``."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)

    def client(self, token: str = ADA_TOKEN, key: str = KEY) -> TrelloClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        return TrelloClient(http, api_url="http://trello.test/1", key=key, token=token)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": CARD, "idBoard": CARD})


def echo(status: int) -> Callable[[httpx.Request], httpx.Response]:
    """A Trello (or a proxy before it) that quotes the whole request in its refusal."""

    def answer(request: httpx.Request) -> httpx.Response:
        said = f"{request.method} {request.url} {request.headers.get('authorization')}"
        return httpx.Response(status, text=f"refused: {said}")

    return answer


# credentials -----------------------------------------------------------------------------------
FORGED_TOKENS = [
    f'{ADA_TOKEN}", oauth_token="{BOB_TOKEN}',
    f"{ADA_TOKEN}\r\nX-Injected: 1",
    f"{ADA_TOKEN}\n",
    f'{ADA_TOKEN}"',
    f"{ADA_TOKEN},",
    f"{ADA_TOKEN} x",
    f"{ADA_TOKEN}\\",
]


@pytest.mark.parametrize("token", FORGED_TOKENS)
async def test_a_token_that_could_break_out_of_the_header_is_never_sent(token: str) -> None:
    trello = Recorder(ok)
    with pytest.raises(MalformedCredentials, match="not a Trello token") as refused:
        await trello.client(token=token).me()
    assert trello.requests == []
    assert isinstance(refused.value, AuthRevokedError)  # can never work: the connection is broken
    assert ADA_TOKEN not in str(refused.value)


async def test_connecting_with_a_forged_token_is_a_400_and_never_connects_another_account(
    tmp_path: Path,
) -> None:
    emulator = create_trello_emulator(api_secret=SECRET)
    world = get_emulator(emulator)
    for name, token in (("ada", ADA_TOKEN), ("bob", BOB_TOKEN)):
        world.store.add_token(token, world.add_member(name, name.title()).id)
    async with connector(tmp_path, httpx.ASGITransport(app=emulator)) as api:
        forged = await api.post(CONNECTIONS, json={"token": f'x", oauth_token="{BOB_TOKEN}'})
        listed = await api.get(CONNECTIONS)
    await world.aclose()

    assert forged.status_code == 400, forged.text
    assert forged.json()["error"]["code"] == "token_rejected"
    assert BOB_TOKEN not in forged.text
    assert listed.json() == []


@pytest.mark.parametrize("status", [400, 401, 404, 429, 503])
async def test_a_refusal_that_quotes_the_request_never_shows_the_key_or_token(
    status: int,
) -> None:
    trello = Recorder(echo(status))
    with pytest.raises(ProviderError) as refused:
        await trello.client().token_webhooks()
    assert trello.requests, "the call reached Trello"
    assert KEY not in str(refused.value)
    assert ADA_TOKEN not in str(refused.value)
    assert "[redacted]" in str(refused.value)


async def test_the_connectors_400_never_quotes_the_key_or_token(tmp_path: Path) -> None:
    async with connector(tmp_path, httpx.MockTransport(echo(400))) as api:
        refused = await api.post(CONNECTIONS, json={"token": ADA_TOKEN})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "token_rejected"
    assert KEY not in refused.text
    assert ADA_TOKEN not in refused.text


@pytest.mark.parametrize("key", ['sandbox"', "sandbox\r\n", "sand box"])
def test_an_app_key_that_could_break_out_of_the_header_is_refused_at_start(key: str) -> None:
    with pytest.raises(ValidationError, match="api_key"):
        TrelloSettings(api_key=key)


# ids in URL paths ------------------------------------------------------------------------------
FORGED_IDS = [
    "../boards/" + CARD,
    f"{CARD}/../../members/me",
    f"{CARD}?fields=all",
    f"{CARD}#x",
    f"{CARD[:-1]}\x00",
    f"{CARD[:-1]}\r",
    "ab%2F..%2F",
    "",
    CARD + "0",
]
CALLS: dict[str, Callable[[TrelloClient, str], Awaitable[Any]]] = {
    "card": lambda client, id_: client.card(id_),
    "update_card": lambda client, id_: client.update_card(id_, {"name": "x"}),
    "list": lambda client, id_: client.list_(id_),
    "lists": lambda client, id_: client.lists(id_),
    "board_cards": lambda client, id_: client.board_cards(id_),
    "board_actions": lambda client, id_: client.board_actions(id_, filter="updateCard"),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("forged", FORGED_IDS)
async def test_an_id_that_is_no_trello_id_never_reaches_a_url(call: str, forged: str) -> None:
    trello = Recorder(ok)
    with pytest.raises(InvalidTrelloId, match="not a Trello") as refused:
        await CALLS[call](trello.client(), forged)
    assert trello.requests == []
    assert isinstance(refused.value, PermanentProviderError)  # a link's error, not a retry
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("call", "id_", "path"),
    [
        ("card", "AbCd1234", "/1/cards/AbCd1234"),  # a shortLink
        ("card", CARD, f"/1/cards/{CARD}"),
        ("lists", "AbCd1234", "/1/boards/AbCd1234/lists"),
        ("list", CARD.upper(), f"/1/lists/{CARD.upper()}"),
    ],
)
async def test_trello_ids_and_short_links_go_through(call: str, id_: str, path: str) -> None:
    trello = Recorder(lambda _: httpx.Response(200, json=[] if call == "lists" else {"id": CARD}))
    await CALLS[call](trello.client(), id_)
    assert [r.url.path for r in trello.requests] == [path]


async def test_a_list_id_is_never_a_short_link() -> None:
    # Trello takes shortLinks for boards and cards only.
    with pytest.raises(InvalidTrelloId):
        await Recorder(ok).client().list_("AbCd1234")


# webhook bodies --------------------------------------------------------------------------------
def deep(levels: int) -> bytes:
    return b'{"action": {"id": "a1", "data": ' + b"[" * levels + b"]" * levels + b"}}"


WRONG_SHAPES = {
    "data-a-list": {"action": {"id": "a1", "data": []}, "model": {"id": "b1"}},
    "card-a-string": {"action": {"id": "a1", "data": {"card": "c1"}}, "model": {"id": "b1"}},
    "id-an-object": {"action": {"id": {"$oid": "a1"}}, "model": {"id": "b1"}},
    "model-a-list": {"action": {"id": "a1"}, "model": ["b1"]},
    "no-action": {"model": {"id": "b1"}},
    "a-list": [{"action": {"id": "a1"}}],
    "due-a-number": {
        "action": {
            "id": "a1",
            "type": "updateCard",
            "date": "2026-12-01T10:00:00.000Z",
            "data": {"card": {"id": CARD, "due": 5}, "old": {"due": None}},
        },
        "model": {"id": "b1"},
    },
    "old-a-list": {
        "action": {"id": "a1", "data": {"card": {"id": CARD}, "old": ["name"]}},
        "model": {"id": "b1"},
    },
}


SHAPES = list(WRONG_SHAPES.items())


@pytest.mark.parametrize(
    ("body", "code"),
    [
        *[pytest.param(json.dumps(b).encode(), "malformed_delivery", id=k) for k, b in SHAPES],
        pytest.param(deep(5_000), "malformed_json", id="5000-levels"),
        pytest.param(deep(50), "malformed_delivery", id="50-levels"),
    ],
)  # fmt: skip
async def test_a_signed_body_of_the_wrong_shape_is_a_400(
    tmp_path: Path, body: bytes, code: str
) -> None:
    signature = trello_signature(SECRET, body, WEBHOOK_URL)
    async with connector(tmp_path, httpx.MockTransport(ok)) as api:
        response = await api.post(
            "/webhooks/trello", content=body, headers={"X-Trello-Webhook": signature}
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
