"""A stored secret that cannot be read is a refused grant (the person connects again), never a
crash of the call that opened it."""

from __future__ import annotations

import pytest

from tether_connector_runtime.retry import AuthRevokedError
from tether_connector_runtime.stored_secret import dump_secret, load_secret

NEEDS = {"pat": ("access_token",), "oauth": ("access_token", "refresh_token")}


def test_a_secret_round_trips_without_its_unset_values() -> None:
    stored = dump_secret({"kind": "pat", "access_token": "t", "refresh_token": None})
    assert "refresh_token" not in stored
    assert load_secret(stored, "Example", NEEDS) == {"kind": "pat", "access_token": "t"}


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        "[]",
        '{"access_token": "t"}',  # no kind
        '{"kind": "cookie", "access_token": "t"}',  # a kind nobody writes
        '{"kind": "oauth", "access_token": "t"}',  # no refresh token
        '{"kind": "pat", "access_token": ""}',  # empty
        '{"kind": "pat", "access_token": 7}',  # not text
    ],
)
def test_an_unreadable_secret_is_a_refused_grant(stored: str) -> None:
    with pytest.raises(AuthRevokedError, match="stored Example credentials are unreadable"):
        load_secret(stored, "Example", NEEDS)
