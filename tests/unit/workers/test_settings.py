"""Settings: embedded defaults, validation, no development secrets in production."""

from __future__ import annotations

import pytest

from workers.settings import Settings, SettingsError


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
