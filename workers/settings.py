"""The one validated settings object, read from the environment at entry points only."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crm_store.db import async_database_url, sync_database_url

DEV_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEV_AUTH_TOKEN = "hotline-development-auth-token"
DEV_SECRET_KEY = "hotline-development-secret-key"
ASR_ENGINES = ("whisper", "vosk")


class SettingsError(ValueError):
    """A setting is missing or invalid."""


def _flag(value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"not a yes/no value: {value!r}")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from err
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _interval(env: Mapping[str, str], name: str, default: int) -> int:
    """A duty's interval in seconds: 0 (off) or at least a minute."""
    value = _int(env, name, default)
    if 0 < value < 60:
        raise SettingsError(f"{name} must be 0 (off) or at least 60 seconds, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with embedded defaults for a laptop."""

    environment: str = "development"
    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None
    twilio_account_sid: str = DEV_ACCOUNT_SID
    twilio_auth_token: str = DEV_AUTH_TOKEN
    public_base_url: str | None = None
    asr_engine: str = "whisper"
    vosk_model: str | None = None
    recording_hosts: tuple[str, ...] = ("api.twilio.com",)
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str = DEV_SECRET_KEY
    keep_raw_transcript: bool = False
    webhook_max_bytes: int = 64 * 1024
    recording_max_bytes: int = 100 * 1024 * 1024
    transcribe_timeout: int = 900
    job_retries: int = 3
    outbox_interval: float = 5.0
    asr_threads: int = 0
    # Voice activity detection before decoding: silence and hold music are skipped (HOTLINE_ASR_VAD).
    asr_vad: bool = True
    model_dir: Path | None = None
    # How often a worker looks for jobs abandoned by a dead worker (and how long it blocks on a dequeue).
    worker_maintenance_interval: int = 60
    # Reverse proxies whose X-Forwarded-For names the client (HOTLINE_TRUSTED_PROXIES: addresses or networks).
    trusted_proxies: tuple[str, ...] = ()
    # How often the workers run the segment run and the account managers' service duties (seconds; one business day
    # by default; 0: not by the workers, e.g. from cron with `hotline recompute-segments` / `hotline service-duties`).
    segment_recompute_interval: int = 86400
    service_duties_interval: int = 86400
    # A call that has not moved for this long (seconds) has its next step enqueued again (HOTLINE_STUCK_AFTER).
    stuck_after: int = 600

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from a mapping (the process environment by default) and validate them."""
        env = os.environ if env is None else env
        environment = env.get("HOTLINE_ENV", "development")
        engine = env.get("HOTLINE_ASR_ENGINE", "whisper").strip().lower()
        if engine not in ASR_ENGINES:
            raise SettingsError(f"HOTLINE_ASR_ENGINE must be one of {', '.join(ASR_ENGINES)}, got {engine!r}")
        hosts = tuple(
            h.strip().lower() for h in env.get("HOTLINE_RECORDING_HOSTS", "api.twilio.com").split(",") if h.strip()
        )
        if not hosts:
            raise SettingsError("HOTLINE_RECORDING_HOSTS names no host")
        proxies = tuple(p.strip() for p in env.get("HOTLINE_TRUSTED_PROXIES", "").split(",") if p.strip())
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as err:
                raise SettingsError(f"HOTLINE_TRUSTED_PROXIES: not an address or network: {proxy!r}") from err
        settings = cls(
            environment=environment,
            data_dir=Path(env.get("HOTLINE_DATA_DIR", "var")),
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or DEV_ACCOUNT_SID,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or DEV_AUTH_TOKEN,
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            asr_engine=engine,
            vosk_model=env.get("HOTLINE_VOSK_MODEL") or None,
            recording_hosts=hosts,
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8080, minimum=1),
            secret_key=env.get("HOTLINE_SECRET_KEY") or DEV_SECRET_KEY,
            keep_raw_transcript=_flag(env.get("HOTLINE_KEEP_RAW_TRANSCRIPT", "false")),
            transcribe_timeout=_int(env, "HOTLINE_TRANSCRIBE_TIMEOUT", 900, minimum=5),
            job_retries=_int(env, "HOTLINE_JOB_RETRIES", 3),
            asr_threads=_int(env, "HOTLINE_ASR_THREADS", 0),
            asr_vad=_flag(env.get("HOTLINE_ASR_VAD", "true")),
            worker_maintenance_interval=_int(env, "HOTLINE_WORKER_MAINTENANCE_INTERVAL", 60, minimum=5),
            segment_recompute_interval=_interval(env, "HOTLINE_SEGMENT_RECOMPUTE_INTERVAL", 86400),
            service_duties_interval=_interval(env, "HOTLINE_SERVICE_DUTIES_INTERVAL", 86400),
            stuck_after=_int(env, "HOTLINE_STUCK_AFTER", 600, minimum=1),
            model_dir=Path(env["HOTLINE_MODEL_DIR"]) if env.get("HOTLINE_MODEL_DIR") else None,
            trusted_proxies=proxies,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse development secrets outside development."""
        if self.environment != "development":
            for name, value, dev in (
                ("TWILIO_AUTH_TOKEN", self.twilio_auth_token, DEV_AUTH_TOKEN),
                ("TWILIO_ACCOUNT_SID", self.twilio_account_sid, DEV_ACCOUNT_SID),
                ("HOTLINE_SECRET_KEY", self.secret_key, DEV_SECRET_KEY),
            ):
                if value == dev:
                    raise SettingsError(f"{name} must be set when HOTLINE_ENV={self.environment}")
            if not self.public_base_url:
                raise SettingsError(f"PUBLIC_BASE_URL must be set when HOTLINE_ENV={self.environment}")

    @property
    def base_url(self) -> str:
        """The URL Twilio calls us at; signatures are computed over it."""
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "hotline.sqlite3"

    @property
    def sync_db_url(self) -> str:
        return sync_database_url(self.database_url or f"sqlite:///{self.sqlite_path}")

    @property
    def async_db_url(self) -> str:
        return async_database_url(self.database_url or f"sqlite:///{self.sqlite_path}")

    @property
    def model_cache_dir(self) -> Path | None:
        """Where model files are assembled (None: the engine's default, ~/.cache/hotline)."""
        return self.model_dir
