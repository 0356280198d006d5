"""Start-up refuses, with one clear sentence, any configuration that cannot work safely."""

import stat
from pathlib import Path

import pytest

from identity.config import INTEGER_SETTINGS, ConfigError, load_secret_key
from identity.signing import create_key
from tests.apps import make_app

HTTP_SMS = {"SMS_BACKEND": "http", "SMS_HTTP_URL": "http://127.0.0.1:9/sms", "SMS_HTTP_TOKEN": "t"}


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"ENV": "production", "SECRET_KEY": None, **HTTP_SMS}, "HAWIYA_SECRET_KEY is not set"),
        ({"ENV": "staging"}, "HAWIYA_ENV must be one of"),
        ({"WORKERS": 2}, "more than one worker needs Redis"),
        ({"WORKERS": 0}, "HAWIYA_WORKERS must be a whole number of workers from 1 to 64"),
        ({"OTP_TTL": "300s"}, "HAWIYA_OTP_TTL must be a whole number"),
        ({"QR_TTL": -1}, "HAWIYA_QR_TTL must be a whole number"),
        ({"SMS_BACKEND": "carrier-pigeon"}, "HAWIYA_SMS_BACKEND must be"),
        ({"SMS_BACKEND": "http"}, "HAWIYA_SMS_HTTP_URL or HAWIYA_SMS_HTTP_TOKEN is not set"),
        ({"ENV": "production", "SECRET_KEY": "x" * 64, "SMS_BACKEND": "console"}, "in production"),
        ({"PUBLIC_URL": "hawiya.example"}, "HAWIYA_PUBLIC_URL must start with"),
        ({"PUBLIC_URL": "https://" + "x" * 30 + ".gov.kw"}, "at most 35 characters"),
    ],
)
def test_refuses_to_start(tmp_path: Path, settings: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        make_app(tmp_path, **settings)
    assert words in refused.value.message
    assert refused.value.message.count(". ") <= 1  # one sentence (two at most with advice)


def companions(name: str, value: int) -> dict[str, object]:
    """What another setting must be for `name` = value to be the only thing tested."""
    if name == "WORKERS" and value > 1:
        return {"REDIS_URL": "redis://127.0.0.1:6379/15"}
    if name == "SESSION_IDLE":
        return {"SESSION_MAX": max(value, 60)}
    if name == "SESSION_MAX":
        return {"SESSION_IDLE": 60}
    return {}


BOUNDS = [(name, low, high) for name, (low, high, _unit) in INTEGER_SETTINGS.items()]


@pytest.mark.parametrize(("name", "low", "high"), BOUNDS)
def test_each_number_setting_is_refused_just_outside_its_range(
    tmp_path: Path, name: str, low: int, high: int
) -> None:
    """HAWIYA_OTP_RESEND_COOLDOWN=0 started, then a matched sign-in start answered 500."""
    for value in (low - 1, high + 1):
        with pytest.raises(ConfigError) as refused:
            make_app(tmp_path, **{name: value, **companions(name, value)})
        assert f"HAWIYA_{name} must be a whole number" in refused.value.message
        assert f"from {low} to {high}" in refused.value.message
        assert refused.value.message.count(". ") == 0  # one sentence


@pytest.mark.parametrize(("name", "low", "high"), BOUNDS)
def test_each_number_setting_starts_at_both_ends_of_its_range(
    tmp_path: Path, name: str, low: int, high: int
) -> None:
    for value in (low, high):
        app = make_app(tmp_path, **{name: value, **companions(name, value)})
        assert app.config[name] == value


def test_the_bounds_keep_the_defaults_of_the_design() -> None:
    defaults = {"OTP_TTL": 300, "OTP_RESEND_COOLDOWN": 60, "QR_TTL": 60, "SESSION_IDLE": 900,
                "SESSION_MAX": 43200, "TRUSTED_PROXIES": 0, "WORKERS": 1}  # fmt: skip
    for name, value in defaults.items():
        low, high, _unit = INTEGER_SETTINGS[name]
        assert low <= value <= high


def test_a_zero_resend_cooldown_from_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported case: the variable as an operator sets it, refused before serving anything."""
    monkeypatch.setenv("HAWIYA_OTP_RESEND_COOLDOWN", "0")
    with pytest.raises(ConfigError, match="HAWIYA_OTP_RESEND_COOLDOWN must be a whole number"):
        make_app(tmp_path)


def test_a_session_idle_longer_than_its_maximum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        make_app(tmp_path, SESSION_IDLE=3600, SESSION_MAX=1800)
    assert "HAWIYA_SESSION_IDLE (3600) must not exceed HAWIYA_SESSION_MAX (1800)" in (
        refused.value.message
    )
    assert make_app(tmp_path, SESSION_IDLE=1800, SESSION_MAX=1800).config["SESSION_MAX"] == 1800


def test_several_workers_start_with_redis(tmp_path: Path) -> None:
    app = make_app(tmp_path, WORKERS=3, REDIS_URL="redis://127.0.0.1:6379/15")
    assert app.config["WORKERS"] == 3


def test_environment_variables_override_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAWIYA_QR_TTL", "45")
    monkeypatch.setenv("HAWIYA_PUBLIC_URL", "https://id.example.gov")
    app = make_app(tmp_path)
    assert app.config["QR_TTL"] == 45
    assert app.config["PUBLIC_URL"] == "https://id.example.gov"


def test_a_number_setting_given_as_text_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAWIYA_OTP_TTL", "five minutes")
    with pytest.raises(ConfigError, match="HAWIYA_OTP_TTL"):
        make_app(tmp_path)


def test_a_corrupt_signing_key_is_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "broken.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n")
    with pytest.raises(ConfigError, match=r"signing key .*broken.pem cannot be read"):
        make_app(tmp_path)


def test_a_keys_path_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text("oops")
    with pytest.raises(ConfigError, match="keys folder"):
        make_app(tmp_path)


def test_a_readable_key_starts(tmp_path: Path) -> None:
    create_key(tmp_path / "keys")
    assert make_app(tmp_path).config["KEYS_DIR"] == str(tmp_path / "keys")


def test_development_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    first = {"ENV": "development", "SECRET_KEY": None}
    second = {"ENV": "development", "SECRET_KEY": None}
    load_secret_key(first, tmp_path)
    load_secret_key(second, tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert len(str(first["SECRET_KEY"])) == 64
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_production_never_falls_back_to_a_generated_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_secret_key({"ENV": "production", "SECRET_KEY": ""}, tmp_path)
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("settings", "trusted"),
    [
        ({}, ["127.0.0.1", "localhost"]),
        ({"PUBLIC_URL": "https://ID.Agency.example"}, ["id.agency.example", "127.0.0.1",
                                                      "localhost"]),
        ({"TRUSTED_HOSTS": "a.example, ,b.example"}, ["127.0.0.1", "localhost", "a.example",
                                                      "b.example"]),
        ({"TRUSTED_HOSTS": ["a.example"]}, ["127.0.0.1", "localhost", "a.example"]),
        ({"ENV": "production", "SECRET_KEY": "x" * 64, **HTTP_SMS}, ["127.0.0.1"]),
    ],
)  # fmt: skip
def test_trusted_hosts_are_the_public_url_plus_local_names_outside_production(
    tmp_path: Path, settings: dict[str, object], trusted: list[str]
) -> None:
    assert make_app(tmp_path, **settings).config["TRUSTED_HOSTS"] == trusted


@pytest.mark.parametrize(
    "value", ["evil.example:443", "https://id.example", "*", "a..b", "id example", 42, ["a", 1]]
)
def test_trusted_hosts_that_are_not_host_names_are_refused(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigError, match="HAWIYA_TRUSTED_HOSTS") as refused:
        make_app(tmp_path, TRUSTED_HOSTS=value)
    assert refused.value.message.count(". ") == 0


def test_trusted_hosts_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAWIYA_TRUSTED_HOSTS", "id.agency.example,10.0.0.11")
    assert make_app(tmp_path).config["TRUSTED_HOSTS"][-2:] == ["id.agency.example", "10.0.0.11"]
