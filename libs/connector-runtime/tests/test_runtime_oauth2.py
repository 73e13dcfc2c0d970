"""A token endpoint's answers as the runtime's errors (RFC 6749, section 5.2), the consent's
return read, and the access token's expiry: what the Asana and Jira OAuth apps share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tether_connector_runtime.api.consent import AppRefused, OAuthNotConfigured
from tether_connector_runtime.oauth2 import OAuth2App, consent_state, expires_at
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
)

APP = OAuth2App("Acme", "TETHER_ACME_", "client", "secret")
TOKEN_URL = "https://auth.acme.test/oauth/token"


async def refresh(answer: httpx.Response | Exception, app: OAuth2App = APP) -> object:
    """The outcome of a refresh grant whose answer is ``answer``."""

    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with app.client(httpx.MockTransport(handle)) as client:
        return await app.token(client.refresh_token(TOKEN_URL, refresh_token="r"))


@pytest.mark.parametrize(
    ("answer", "raised", "words"),
    [
        # 401 is a failed client authentication whatever the error says (Atlassian's words).
        (httpx.Response(401, json={"error": "access_denied", "error_description": "Unauthorized"}),
         AppRefused, r"TETHER_ACME_CLIENT_SECRET right.*access_denied: Unauthorized"),
        (httpx.Response(400, json={"error": "invalid_client"}), AppRefused, "invalid_client"),
        (httpx.Response(403, json={"error": "invalid_grant"}), AuthRevokedError, "invalid_grant"),
        (httpx.Response(400, json={"error": "unauthorized_client"}), AuthRevokedError, "Acme"),
        (httpx.Response(403, json={"error": "access_denied"}), AuthRevokedError, "access_denied"),
        (httpx.Response(400, json={"error": "invalid_scope", "error_description": "no"}),
         PermanentProviderError, "Acme refused: invalid_scope: no"),
        (httpx.Response(502, text="Bad Gateway"), RetryableProviderError, "Acme 502"),
        (httpx.Response(200, text="<html>maintenance</html>"), RetryableProviderError, "no JSON"),
        (httpx.Response(200, json={"token_type": "bearer"}), RetryableProviderError,
         "no access token"),
        (httpx.ReadTimeout("slow"), RetryableProviderError, "Acme unreachable"),
    ],
)  # fmt: skip
async def test_a_token_answer_becomes_the_runtimes_error(
    answer: httpx.Response | Exception, raised: type[Exception], words: str
) -> None:
    with pytest.raises(raised, match=words) as caught:
        await refresh(answer)
    if raised is PermanentProviderError:
        assert not isinstance(caught.value, AuthRevokedError)
    if raised is AppRefused:
        assert not isinstance(caught.value, ProviderError)


async def test_a_token_answer_is_the_answers_json() -> None:
    answer = httpx.Response(200, json={"access_token": "a", "refresh_token": "r2"})
    assert await refresh(answer) == {"access_token": "a", "refresh_token": "r2"}


@pytest.mark.parametrize("app", [OAuth2App("Acme", "TETHER_ACME_", "", "secret"),
                                 OAuth2App("Acme", "TETHER_ACME_", "client", "")])  # fmt: skip
async def test_an_app_without_its_id_and_secret_is_not_configured(app: OAuth2App) -> None:
    with pytest.raises(OAuthNotConfigured, match="TETHER_ACME_CLIENT_ID and TETHER_ACME_CLIENT"):
        await refresh(httpx.Response(200, json={"access_token": "a"}), app)


def test_the_consent_return_names_its_state_or_says_why_it_names_none() -> None:
    assert consent_state("Acme", {"code": "c", "state": "s"}) == "s"
    with pytest.raises(ValueError, match="Acme did not grant access: access_denied: consent"):
        consent_state("Acme", {"error": "access_denied", "state": "s"})
    with pytest.raises(ValueError, match="access_denied: The user said no"):
        consent_state("Acme", {"error": "access_denied", "error_description": "The user said no"})
    with pytest.raises(ValueError, match="sent no state and no code"):
        consent_state("Acme", {})


def test_an_access_token_expires_when_the_answer_says_or_after_the_default() -> None:
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    assert expires_at({"expires_in": 60}, issued, 3600) == issued + timedelta(seconds=60)
    assert expires_at({}, issued, 3600) == issued + timedelta(hours=1)
