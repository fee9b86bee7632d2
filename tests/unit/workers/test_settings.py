"""Settings: embedded defaults, read from a mapping, every bad variable named, no placeholder secrets in production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from workers.settings import DEV_AUTH_TOKEN, DEV_SECRET_KEY, Settings, SettingsError


def test_embedded_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None and settings.redis_url is None
    assert settings.sync_db_url.startswith("sqlite+pysqlite:///") and settings.async_db_url.startswith(
        "sqlite+aiosqlite"
    )
    assert settings.asr_engine == "whisper"
    assert settings.recording_hosts == ("api.twilio.com",)
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.stuck_after == 600


def test_stuck_after_is_read_from_the_environment() -> None:
    assert Settings.from_env({"HOTLINE_STUCK_AFTER": "900"}).stuck_after == 900


def test_database_urls_get_the_right_drivers() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://u:p@db:5432/hotline"})
    assert settings.sync_db_url == "postgresql+psycopg://u:p@db:5432/hotline"
    assert settings.async_db_url == "postgresql+asyncpg://u:p@db:5432/hotline"


def test_public_base_url_loses_a_trailing_slash() -> None:
    assert Settings.from_env({"PUBLIC_BASE_URL": "https://hotline.example.co.kr/"}).base_url == (
        "https://hotline.example.co.kr"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOTLINE_ASR_ENGINE": "google"}, "HOTLINE_ASR_ENGINE"),
        ({"PORT": "eighty"}, "PORT"),
        ({"HOTLINE_RECORDING_HOSTS": " , "}, "HOTLINE_RECORDING_HOSTS"),
        ({"HOTLINE_KEEP_RAW_TRANSCRIPT": "maybe"}, "yes/no"),
        ({"HOTLINE_STUCK_AFTER": "0"}, "HOTLINE_STUCK_AFTER"),
        ({"HOTLINE_ENV": "production", "PUBLIC_BASE_URL": "https://h.example"}, "TWILIO_AUTH_TOKEN"),
    ],
)
def test_invalid_settings_are_refused_with_the_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_production_with_real_secrets_is_accepted() -> None:
    settings = Settings.from_env(
        {
            "HOTLINE_ENV": "production",
            "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
            "TWILIO_AUTH_TOKEN": "x" * 32,
            "HOTLINE_SECRET_KEY": "y" * 32,
            "PUBLIC_BASE_URL": "https://hotline.example.co.kr",
            "HOTLINE_ASR_ENGINE": "VOSK",
        }
    )
    assert settings.asr_engine == "vosk"


def test_nothing_is_read_from_the_process_environment_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("HOTLINE_ENV", "production")
    assert Settings().port == 8080 and Settings.from_env({}).port == 8080  # a mapping, not os.environ
    assert Settings.from_env({"PORT": "9090"}).port == 9090
    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN"):
        Settings.from_env()  # the entry points' call: the process environment


def test_every_bad_variable_is_named_at_once() -> None:
    env = {
        "PORT": "eighty",
        "HOTLINE_ASR_ENGINE": "google",
        "HOTLINE_STUCK_AFTER": "-5",
        "TWILIO_API_BASE": "api.twilio.com",
        "HOTLINE_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal",
    }
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    problems = refused.value.problems
    assert [p.split(":", 1)[0] for p in problems] == [
        "TWILIO_API_BASE", "HOTLINE_ASR_ENGINE", "PORT", "HOTLINE_TRUSTED_PROXIES", "HOTLINE_STUCK_AFTER",
    ]  # fmt: skip
    assert "(got 'eighty')" in problems[2] and "'proxy.internal' is not an address" in problems[3]
    assert str(refused.value).count("\n") == len(problems) - 1


@pytest.mark.parametrize("token", ["changeme", "CHANGE-ME-please", "<twilio auth token>", "secret", DEV_AUTH_TOKEN])
def test_outside_development_placeholder_secrets_refuse_to_start_without_being_echoed(token: str) -> None:
    env = {
        "HOTLINE_ENV": "staging",
        "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
        "TWILIO_AUTH_TOKEN": token,
        "HOTLINE_SECRET_KEY": "hotline-development-secret-key",
        "PUBLIC_BASE_URL": "https://hotline.example.co.kr",
        "DATABASE_URL": "postgresql://hotline:db-password-42@db/hotline?x=",
    }
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    message = str(refused.value)
    assert [p.split(":", 1)[0] for p in refused.value.problems] == ["TWILIO_AUTH_TOKEN", "HOTLINE_SECRET_KEY"]
    assert "HOTLINE_ENV=staging" in message
    assert token not in message and "hotline-development-secret-key" not in message and "db-password" not in message


def test_outside_development_every_missing_secret_is_named() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"HOTLINE_ENV": "production"})
    assert [p.split(":", 1)[0] for p in refused.value.problems] == [
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "HOTLINE_SECRET_KEY",
    ]  # fmt: skip
    assert all("must be set when HOTLINE_ENV=production" in p for p in refused.value.problems)


def test_an_empty_variable_is_unset_but_an_empty_environment_name_is_refused() -> None:
    settings = Settings.from_env({"PORT": "", "TWILIO_AUTH_TOKEN": "", "DATABASE_URL": "", "HOTLINE_ASR_VAD": ""})
    assert (settings.port, settings.twilio_auth_token, settings.database_url, settings.asr_vad) == (
        8080, DEV_AUTH_TOKEN, None, True,
    )  # fmt: skip
    with pytest.raises(SettingsError, match="HOTLINE_ENV"):
        Settings.from_env({"HOTLINE_ENV": ""})  # never quietly development


def test_stuck_after_and_the_twilio_api_base() -> None:
    settings = Settings.from_env({})
    assert (settings.stuck_after, settings.twilio_api_base) == (600, "https://api.twilio.com")
    custom = Settings.from_env({"HOTLINE_STUCK_AFTER": "120", "TWILIO_API_BASE": "http://127.0.0.1:18200/"})
    assert (custom.stuck_after, custom.twilio_api_base) == (120, "http://127.0.0.1:18200")
    with pytest.raises(SettingsError, match="HOTLINE_STUCK_AFTER"):
        Settings.from_env({"HOTLINE_STUCK_AFTER": "soon"})


def test_settings_are_immutable_hashable_and_copied_with_changes() -> None:
    settings = Settings.from_env({"HOTLINE_RECORDING_HOSTS": "API.twilio.com, 127.0.0.1"})
    assert settings.recording_hosts == ("api.twilio.com", "127.0.0.1")
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]
    assert hash(settings) == hash(Settings.from_env({"HOTLINE_RECORDING_HOSTS": "api.twilio.com,127.0.0.1"}))
    copy = settings.model_copy(update={"secret_key": "k" * 32})
    assert (copy.secret_key, copy.recording_hosts) == ("k" * 32, settings.recording_hosts)
    assert settings.secret_key == DEV_SECRET_KEY
    assert "k" * 32 not in repr(copy) and DEV_AUTH_TOKEN not in repr(copy)  # secrets stay out of reprs


def test_the_readme_documents_every_setting_and_no_other() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    table = readme.split("| setting | default | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = {name for row in table.splitlines()[2:] for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])}
    variables = {field.validation_alias for field in Settings.model_fields.values()}
    assert documented == variables
