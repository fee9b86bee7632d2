"""One live transcriber process: loads its speech engine once, then decodes utterances sent over its pipe.

Started by the gateway's pool (`gateway.live_pool`) with `spawn`, never forked from a process that loaded a
CTranslate2 model (the child hangs). Requests are `(key, float32 bytes, sample_rate)`; answers are
`("done", key, text)` or `("failed", key, reason)`; `None` or a closed pipe ends the process.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from telephony.asr import SpeechEngine, load_engine

# Whisper's decoding of a live utterance: beam 5 (greedy was no faster on 5-6 s phrases and 1-3 points worse),
# the encoder on the utterance plus 5 s (at least 10 s).
LIVE_BEAM_SIZE = 5
LIVE_CONTEXT_MARGIN = 5.0
LIVE_MIN_CONTEXT = 10.0
# How far below the gateway a transcriber's scheduling priority is (os.nice; 0 keeps it equal).
NICENESS = 10


def load_live_engine(spec: str, options: dict[str, Any]) -> SpeechEngine:
    """`whisper` or `vosk` (the engines of `telephony.asr`), or `module:factory` returning an engine (tests)."""
    if ":" in spec:
        module, _, name = spec.partition(":")
        factory = getattr(importlib.import_module(module), name)
        return factory(**options)  # type: ignore[no-any-return]
    cache = options.get("cache_dir")
    if spec == "whisper":
        from telephony.asr.whisper import WhisperEngine

        # The desk shows text, not words: no word alignment pass. The utterances come cut on voice by the gateway,
        # a few seconds each: no second voice detection, and the encoder sees the utterance and 5 s after it, not
        # Whisper's 30 s window (BENCHMARKS.md, "Live transcript": the latency it buys).
        margin = options.get("context_margin", LIVE_CONTEXT_MARGIN)
        return WhisperEngine(
            cache_dir=Path(cache) if cache else None,
            cpu_threads=int(options.get("cpu_threads", 1)),
            beam_size=int(options.get("beam_size", LIVE_BEAM_SIZE)),
            vad=bool(options.get("vad", False)),
            word_timestamps=False,
            context_margin=None if margin is None else float(margin),
            min_context=float(options.get("min_context", LIVE_MIN_CONTEXT)),
        )
    return load_engine(
        spec,
        vosk_model_path=options.get("vosk_model_path"),
        cache_dir=Path(cache) if cache else None,
        cpu_threads=int(options.get("cpu_threads", 1)),
        vad=bool(options.get("vad", True)),
    )


def serve(conn: Connection, spec: str, options: dict[str, Any]) -> None:
    """The process's main: load the engine, say ready with the pid, decode until told to stop.

    The process runs `NICENESS` steps below the gateway that started it: recognition takes whatever CPU is left,
    while the gateway's webhooks, screen pops and media sockets on the same cores come first."""
    with contextlib.suppress(OSError):
        os.nice(int(options.get("niceness", NICENESS)))
    engine = load_live_engine(spec, options)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        key, audio, rate = request
        try:
            transcript = engine.transcribe(np.frombuffer(audio, dtype=np.float32), rate)
        except Exception as err:  # one bad utterance must not end the process; the reason goes back
            conn.send(("failed", key, f"{type(err).__name__}: {err}"))
            continue
        conn.send(("done", key, transcript.text))
