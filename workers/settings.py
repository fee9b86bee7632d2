"""The one validated settings object: read from the environment at the entry points only, then passed down.

`Settings()` holds the embedded defaults (a laptop: SQLite file, in-process queue, development secrets) and reads
nothing; `Settings.from_env(mapping)` reads a mapping of environment variables (the process environment when none
is given) and validates every variable at once. Tests build settings from a mapping, never by patching
`os.environ`, and derive variants with `settings.model_copy(update={...})`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from crm_store.db import async_database_url, sync_database_url

DEV_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEV_AUTH_TOKEN = "hotline-development-auth-token"
DEV_SECRET_KEY = "hotline-development-secret-key"
DEVELOPMENT = "development"
ASR_ENGINES = ("whisper", "vosk")
# Values that say "fill me in" rather than a real secret; refused outside development.
PLACEHOLDERS = frozenset(
    {"changeme", "change-me", "change_me", "changethis", "change-this", "secret", "password", "placeholder",
     "todo", "tbd", "xxx", "none", "null", "test", "dummy", "example", "default"}
)  # fmt: skip
_PLACEHOLDER_MARKS = ("changeme", "change-me", "change_me", "changethis", "placeholder", "<", "your-", "your_")
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
# Variables whose values never appear in an error message (URLs may carry passwords).
SECRET_VARIABLES = frozenset(
    {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "HOTLINE_SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
)


class SettingsError(ValueError):
    """One or more settings are missing or invalid; `problems` holds one line per bad variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _yes_no(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in {"1", "true", "yes", "on"}:
            return True
        if word in {"0", "false", "no", "off"}:
            return False
        raise ValueError("not a yes/no value (true/false, yes/no, on/off, 1/0)")
    return value


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _http_url(value: str | None) -> str | None:
    """An http(s) URL with a host, without its trailing slash."""
    if value is None:
        return None
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _secret(development_value: str, variable: str, description: str) -> Any:
    """A secret setting: never in a repr, and its development value refused outside development."""
    return Field(
        development_value, repr=False, validate_default=True, validation_alias=variable, description=description
    )


YesNo = Annotated[bool, BeforeValidator(_yes_no)]
CommaSeparated = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_separated)]


class Settings(BaseSettings):
    """Everything configurable, with embedded defaults for a laptop; immutable once built.

    Each field is read from the environment variable named by its `validation_alias` (the README's settings table).
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        case_sensitive=True,
        env_ignore_empty=True,  # an empty variable counts as unset (HOTLINE_ENV excepted: see from_env)
        validate_by_name=True,
        validate_by_alias=True,
    )

    environment: str = Field(
        DEVELOPMENT, validation_alias="HOTLINE_ENV", description="`development`, or anything else for production"
    )
    data_dir: Path = Field(Path("var"), validation_alias="HOTLINE_DATA_DIR", description="the SQLite file's folder")
    database_url: str | None = Field(
        None, repr=False, validation_alias="DATABASE_URL", description="PostgreSQL in production"
    )
    redis_url: str | None = Field(None, repr=False, validation_alias="REDIS_URL", description="Redis for rq queues")
    twilio_account_sid: str = Field(
        DEV_ACCOUNT_SID,
        validate_default=True,
        validation_alias="TWILIO_ACCOUNT_SID",
        description="signature checks, recording downloads",
    )
    twilio_auth_token: str = _secret(DEV_AUTH_TOKEN, "TWILIO_AUTH_TOKEN", "signature checks")
    twilio_api_base: str = Field(
        "https://api.twilio.com", validation_alias="TWILIO_API_BASE", description="base URL of every Twilio REST call"
    )
    public_base_url: str | None = Field(
        None,
        validate_default=True,
        validation_alias="PUBLIC_BASE_URL",
        description="the URL Twilio calls (signatures are over it)",
    )
    asr_engine: str = Field(
        "whisper", validation_alias="HOTLINE_ASR_ENGINE", description="`whisper` (telephone audio) or `vosk`"
    )
    vosk_model: str | None = Field(None, validation_alias="HOTLINE_VOSK_MODEL", description="path of a Vosk model")
    recording_hosts: CommaSeparated = Field(
        ("api.twilio.com",),
        validation_alias="HOTLINE_RECORDING_HOSTS",
        description="hosts recordings may be fetched from",
    )
    host: str = Field("127.0.0.1", validation_alias="HOST", description="where the gateway listens")
    port: int = Field(8080, ge=1, le=65535, validation_alias="PORT", description="where the gateway listens")
    secret_key: str = _secret(DEV_SECRET_KEY, "HOTLINE_SECRET_KEY", "key of number hashes")
    keep_raw_transcript: YesNo = Field(
        False, validation_alias="HOTLINE_KEEP_RAW_TRANSCRIPT", description="keep the unredacted text"
    )
    webhook_max_bytes: int = Field(
        64 * 1024, ge=1024, validation_alias="HOTLINE_WEBHOOK_MAX_BYTES", description="largest webhook body"
    )
    recording_max_bytes: int = Field(
        100 * 1024 * 1024,
        ge=1024,
        validation_alias="HOTLINE_RECORDING_MAX_BYTES",
        description="largest recording fetched",
    )
    transcribe_timeout: int = Field(
        900, ge=5, validation_alias="HOTLINE_TRANSCRIBE_TIMEOUT", description="seconds a transcription job may run"
    )
    job_retries: int = Field(3, ge=0, validation_alias="HOTLINE_JOB_RETRIES", description="retries of a failed job")
    outbox_interval: float = Field(
        5.0, gt=0, validation_alias="HOTLINE_OUTBOX_INTERVAL", description="seconds between outbox relay passes"
    )
    asr_threads: int = Field(
        0, ge=0, validation_alias="HOTLINE_ASR_THREADS", description="CPU threads per speech engine"
    )
    live_transcribers: int = Field(
        1,
        ge=0,
        le=32,
        validation_alias="HOTLINE_LIVE_TRANSCRIBERS",
        description="live transcriber processes per gateway process (0: no live transcript)",
    )
    # Voice activity detection before decoding: silence and hold music are skipped.
    asr_vad: YesNo = Field(
        True, validation_alias="HOTLINE_ASR_VAD", description="skip silence and hold music before decoding"
    )
    model_dir: Path | None = Field(
        None, validation_alias="HOTLINE_MODEL_DIR", description="where the Whisper model parts are joined"
    )
    # How often a worker looks for jobs abandoned by a dead worker (and how long it blocks on a dequeue).
    worker_maintenance_interval: int = Field(
        60,
        ge=5,
        validation_alias="HOTLINE_WORKER_MAINTENANCE_INTERVAL",
        description="seconds between worker maintenance passes",
    )
    # Reverse proxies whose X-Forwarded-For names the client (addresses or networks).
    trusted_proxies: CommaSeparated = Field(
        (), validation_alias="HOTLINE_TRUSTED_PROXIES", description="trusted reverse proxies"
    )
    # How often the workers run the segment run and the account managers' service duties (seconds; one business day
    # by default; 0: not by the workers, e.g. from cron with `hotline recompute-segments` / `hotline service-duties`).
    segment_recompute_interval: int = Field(
        86400, validation_alias="HOTLINE_SEGMENT_RECOMPUTE_INTERVAL", description="seconds between segment runs"
    )
    service_duties_interval: int = Field(
        86400, validation_alias="HOTLINE_SERVICE_DUTIES_INTERVAL", description="seconds between service-duty scheduling"
    )
    # A call that has not moved for this long has its next step enqueued again.
    stuck_after: int = Field(
        600, ge=1, validation_alias="HOTLINE_STUCK_AFTER", description="seconds before a call counts as stuck"
    )

    # The call desk's distributor: how long an agent has to accept an offer, the after-call time before an agent in
    # wrap-up is available again, and whether a connected call's audio is streamed to /twilio/media.
    desk_reservation: int = Field(
        15, ge=3, le=300, validation_alias="HOTLINE_DESK_RESERVATION", description="seconds to accept an offered call"
    )
    desk_after_call: int = Field(
        30, ge=0, le=3600, validation_alias="HOTLINE_DESK_AFTER_CALL", description="seconds of after-call work"
    )
    desk_media_stream: YesNo = Field(
        True, validation_alias="HOTLINE_DESK_MEDIA_STREAM", description="stream connected calls to /twilio/media"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what the constructor is given: the environment is read by `from_env`, at an entry point."""
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from a mapping of environment variables (the process environment by default), validated.

        Raises SettingsError naming every bad variable and what is wrong with it, never a secret's value.
        """
        env = os.environ if env is None else env
        if env.get("HOTLINE_ENV") == "":
            # An empty HOTLINE_ENV must not quietly mean development (and development secrets).
            raise SettingsError(["HOTLINE_ENV: empty; name the environment (development, production, ...)"])
        values = _MappingSource(cls, env)()
        try:
            return cls(**values)
        except ValidationError as err:
            raise SettingsError([_problem(error) for error in err.errors()]) from None

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str) -> str:
        return value.strip()

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = _http_url(value)
        if value is None and _outside_development(info):
            raise ValueError(f"must be set when HOTLINE_ENV={info.data['environment']}")
        return value

    @field_validator("twilio_api_base")
    @classmethod
    def _twilio_api_base(cls, value: str) -> str:
        return _http_url(value) or value

    @field_validator("twilio_account_sid")
    @classmethod
    def _account_sid(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        _refuse_development_value(value, DEV_ACCOUNT_SID, info)
        if not _ACCOUNT_SID.fullmatch(value):
            raise ValueError("not a Twilio account SID (AC and 32 hexadecimal digits)")
        return value

    @field_validator("twilio_auth_token", "secret_key")
    @classmethod
    def _no_development_secret(cls, value: str, info: ValidationInfo) -> str:
        assert info.field_name is not None
        _refuse_development_value(value, cls.model_fields[info.field_name].default, info)
        return value

    @field_validator("asr_engine")
    @classmethod
    def _asr_engine(cls, value: str) -> str:
        engine = value.strip().lower()
        if engine not in ASR_ENGINES:
            raise ValueError(f"must be one of {', '.join(ASR_ENGINES)}")
        return engine

    @field_validator("recording_hosts")
    @classmethod
    def _recording_hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        if not hosts:
            raise ValueError("names no host")
        return tuple(host.strip().lower() for host in hosts)

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as err:
                raise ValueError(f"{proxy!r} is not an address or network") from err
        return proxies

    @field_validator("segment_recompute_interval", "service_duties_interval")
    @classmethod
    def _duty_interval(cls, value: int) -> int:
        """A duty's interval in seconds: 0 (off) or at least a minute."""
        if value < 0 or 0 < value < 60:
            raise ValueError("must be 0 (off) or at least 60 seconds")
        return value

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

    @property
    def is_development(self) -> bool:
        return self.environment == DEVELOPMENT


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._mapping.items() if value != ""}


def _outside_development(info: ValidationInfo) -> bool:
    environment = info.data.get("environment")
    return environment is not None and environment != DEVELOPMENT


def _refuse_development_value(value: str, development_value: str, info: ValidationInfo) -> None:
    """Outside development a secret must be set, and not to a development or placeholder value."""
    if not _outside_development(info):
        return
    environment = info.data["environment"]
    if value == development_value:
        raise ValueError(f"must be set when HOTLINE_ENV={environment}")
    word = value.strip().lower()
    if not word or word in PLACEHOLDERS or any(mark in word for mark in _PLACEHOLDER_MARKS) or "development" in word:
        raise ValueError(f"a placeholder or development value; set the real one when HOTLINE_ENV={environment}")


def _variable(loc: tuple[int | str, ...]) -> str:
    """The environment variable an error location names (a field name or its alias)."""
    if not loc:
        return "settings"
    name = str(loc[0])
    field = Settings.model_fields.get(name)
    alias = field.validation_alias if field is not None else None
    return alias if isinstance(alias, str) else name


def _problem(error: Any) -> str:
    """One line for one bad variable: its name, what is wrong, and the value unless it is a secret."""
    variable = _variable(tuple(error["loc"]))
    message = str(error["msg"]).removeprefix("Value error, ")
    shown = variable not in SECRET_VARIABLES and isinstance(error.get("input"), str) and variable != "settings"
    got = f" (got {error['input']!r})" if shown else ""
    return f"{variable}: {message}{got}"
