"""Token encryption at rest and the settings that configure it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from tether_connector_runtime.secrets import (
    EncryptionKeyError,
    TokenCipher,
    TokenDecryptError,
    development_key,
    generate_key,
)
from tether_connector_runtime.settings import ConnectorSettings

TOKEN = "ATTA-very-secret-trello-token"


class DemoSettings(ConnectorSettings):
    model_config = SettingsConfigDict(env_prefix="TETHER_DEMO_", extra="ignore")


def test_round_trip_hides_the_plaintext() -> None:
    cipher = TokenCipher([generate_key()])
    stored = cipher.encrypt(TOKEN)
    assert TOKEN not in stored
    assert stored != cipher.encrypt(TOKEN)  # random IV: equal tokens do not look equal
    assert cipher.decrypt(stored) == TOKEN


def test_rotation_first_key_encrypts_all_decrypt() -> None:
    old, new = generate_key(), generate_key()
    stored_under_old = TokenCipher([old]).encrypt(TOKEN)
    both = TokenCipher([new, old])
    assert both.decrypt(stored_under_old) == TOKEN
    rotated = both.rotate(stored_under_old)
    assert TokenCipher([new]).decrypt(rotated) == TOKEN
    with pytest.raises(TokenDecryptError):
        TokenCipher([old]).decrypt(both.encrypt(TOKEN))


def test_wrong_key_or_tampering_is_a_clear_error() -> None:
    stored = TokenCipher([generate_key()]).encrypt(TOKEN)
    with pytest.raises(TokenDecryptError, match="does not decrypt") as caught:
        TokenCipher([generate_key()]).decrypt(stored)
    assert TOKEN not in str(caught.value)
    with pytest.raises(TokenDecryptError):
        TokenCipher([generate_key()]).rotate(stored)


@pytest.mark.parametrize("key", ["short", "x" * 44, ""])
def test_invalid_keys_are_refused_without_echoing_them(key: str) -> None:
    with pytest.raises(EncryptionKeyError, match="not a Fernet key") as caught:
        TokenCipher([key])
    if key:
        assert key not in str(caught.value)


def test_no_key_is_refused() -> None:
    with pytest.raises(EncryptionKeyError, match="no token encryption key"):
        TokenCipher([])


def test_repr_shows_no_key() -> None:
    key = generate_key()
    assert key not in repr(TokenCipher([key]))
    assert repr(TokenCipher([key, generate_key()])) == "TokenCipher(<2 key(s)>)"


def test_from_settings_uses_the_configured_keys(tmp_path: Path) -> None:
    new, old = generate_key(), generate_key()
    settings = DemoSettings(token_encryption_key=SecretStr(f"{new}, {old}"))
    cipher = TokenCipher.from_settings(settings, dev_key_file=tmp_path / "unused.key")
    assert cipher.decrypt(TokenCipher([old]).encrypt(TOKEN)) == TOKEN
    assert not (tmp_path / "unused.key").exists()


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key()
    monkeypatch.setenv("TETHER_DEMO_TOKEN_ENCRYPTION_KEY", key)
    monkeypatch.setenv("TETHER_DEMO_ENVIRONMENT", "production")
    settings = DemoSettings()
    assert settings.environment == "production"
    assert settings.token_encryption_key is not None
    assert settings.token_encryption_key.get_secret_value() == key
    assert key not in repr(settings)


def test_development_without_a_key_uses_a_stable_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / ".tether" / "connector-secret.key"
    settings = DemoSettings()
    stored = TokenCipher.from_settings(settings, dev_key_file=key_file).encrypt(TOKEN)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # A restart (a new cipher) reads the same key back.
    assert TokenCipher.from_settings(settings, dev_key_file=key_file).decrypt(stored) == TOKEN
    assert development_key(key_file) == key_file.read_text().strip()
    assert list(key_file.parent.iterdir()) == [key_file]  # no temporary file left behind


def test_production_without_a_key_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TETHER_DEMO_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="TETHER_DEMO_TOKEN_ENCRYPTION_KEY must be set"):
        DemoSettings()


def test_production_check_in_from_settings_too(tmp_path: Path) -> None:
    settings = DemoSettings.model_construct(environment="production", token_encryption_key=None)
    with pytest.raises(EncryptionKeyError, match="must be set in production"):
        TokenCipher.from_settings(settings, dev_key_file=tmp_path / "k")


def test_an_invalid_key_fails_at_start_up() -> None:
    with pytest.raises(ValidationError, match="not a Fernet key"):
        DemoSettings(token_encryption_key=SecretStr("not-a-key"))


def test_a_blank_key_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TETHER_DEMO_TOKEN_ENCRYPTION_KEY", "  ")
    assert DemoSettings().token_encryption_key is None


def test_every_setting_is_described() -> None:
    missing = [n for n, f in ConnectorSettings.model_fields.items() if not f.description]
    assert missing == []
