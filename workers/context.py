"""What jobs need in a worker process: built once at process start, models loaded once.

rq calls jobs as module-level functions with ids only (a job never carries connections), so a job finds the
connections of its process here. That is the one piece of process state of the workers: the context installed by
whoever starts the jobs of this process (`hotline worker`, the gateway's embedded worker, `hotline retranscribe`,
tests). Everything a job needs (settings, database engine, Redis, recording client, speech engine, customer rules)
lives on the context, not in module globals.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field

from redis import Redis
from sqlalchemy.engine import Engine

from crm_store.customers.rules import Rules, load_rules
from crm_store.db import make_engine
from telephony.asr import SpeechEngine, load_engine
from telephony.recordings import RecordingClient
from workers.queueing import connect_redis
from workers.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class WorkerContext:
    """The settings, connections, customer rules and (lazily) the speech engine of one worker process."""

    settings: Settings
    engine: Engine
    redis: Redis
    recordings: RecordingClient
    # The customer rules (segments, alerts), loaded once per process.
    rules: Rules = field(default_factory=load_rules)
    _speech: SpeechEngine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def speech_engine(self) -> SpeechEngine:
        """The process's one speech engine, loaded on first use."""
        with self._lock:
            if self._speech is None:
                log.info("loading speech engine %s", self.settings.asr_engine)
                self._speech = load_engine(
                    self.settings.asr_engine,
                    vosk_model_path=self.settings.vosk_model,
                    cache_dir=self.settings.model_cache_dir,
                    cpu_threads=self.settings.asr_threads,
                    vad=self.settings.asr_vad,
                )
            return self._speech

    def close(self) -> None:
        self.recordings.close()
        self.engine.dispose()


# The context jobs of this process use: set once by whoever starts them (see the module's docstring).
_current: WorkerContext | None = None


def build_context(settings: Settings, *, redis: Redis | None = None) -> WorkerContext:
    """Connections for jobs in this process."""
    engine = make_engine(settings.sync_db_url)
    # A forked work-horse must not share the parent's pooled connections.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return WorkerContext(
        settings=settings,
        engine=engine,
        redis=redis if redis is not None else connect_redis(settings),
        recordings=RecordingClient(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.recording_hosts,
            max_bytes=settings.recording_max_bytes,
        ),
    )


def install(context: WorkerContext) -> None:
    """Make `context` the one jobs in this process use (a later install replaces it)."""
    global _current
    _current = context


def current() -> WorkerContext:
    """The installed context; jobs take ids, and find connections here."""
    if _current is None:
        raise RuntimeError("no worker context installed: start jobs through `hotline worker`")
    return _current
