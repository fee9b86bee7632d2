"""Calls and speech from the command line: a simulated call, transcription of files or stored calls, classification."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.cli.errors import CommandFailed
from workers.settings import Settings


def simulate_call(
    settings: Settings,
    *,
    audio: Path | None,
    from_number: str,
    to_number: str,
    url: str | None,
    token: str | None,
    as_user: str,
    timeout: float,
    as_is: bool,
    press: str | None = None,
    say: str | None = None,
    wait: float = 5.0,
    hang_up_waiting: bool = False,
    twilio_api_port: int | None = None,
    talk: float = 3.0,
    live: bool = False,
    agent_audio: Path | None = None,
    speed: float = 1.0,
) -> int:
    """Play Twilio's part for one call (menu, queue, recording), print the record; 0 once it went as asked."""
    from gateway.simulator import format_record, run_simulated_call, telephone_recording

    for path in (audio, agent_audio):
        if path is not None and not path.is_file():
            raise CommandFailed(f"hotline simulate-call: no such file {path}")
    if live:
        return _simulate_live_call(
            settings, audio=audio, agent_audio=agent_audio, speed=speed, url=url, from_number=from_number,
            to_number=to_number,
        )  # fmt: skip
    recording = None if audio is None else audio.read_bytes() if as_is else telephone_recording(audio)[0]
    if token is None:
        from crm_store.db import make_engine, session_scope
        from crm_store.org.staff import issue_token

        engine = make_engine(settings.sync_db_url)
        try:
            with session_scope(engine) as session:
                token = issue_token(session, username=as_user, label="simulate-call")
        finally:
            engine.dispose()
    call = _simulated_call(
        settings,
        url=url,
        from_number=from_number,
        to_number=to_number,
        audio=recording,
        api_token=token,
        timeout=timeout,
        press=press,
        say=say,
        wait=wait,
        hang_up_waiting=hang_up_waiting,
        twilio_api_port=twilio_api_port,
        talk=talk,
    )
    try:
        record = asyncio.run(run_simulated_call(call, log=lambda line: print(line, file=sys.stderr)))
    except RuntimeError as err:
        raise CommandFailed(f"hotline simulate-call: {err}") from err
    print(format_record(record))
    outcome = record.get("_simulation", {}).get("outcome")
    if outcome == "recorded":
        return 0 if record.get("processing", {}).get("state") == "classified" else 1
    expected = "connected" if twilio_api_port is not None and not hang_up_waiting else "abandoned"
    return 0 if outcome == expected else 1


def _simulated_call(settings: Settings, *, url: str | None, **fields: Any) -> Any:
    """The call to simulate against the gateway at `url` (default the settings' base URL), as this account."""
    from gateway.simulator import SimulatedCall

    return SimulatedCall(
        base_url=url or settings.base_url,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        **fields,
    )


def _simulate_live_call(
    settings: Settings,
    *,
    audio: Path | None,
    agent_audio: Path | None,
    speed: float,
    url: str | None,
    from_number: str,
    to_number: str,
) -> int:
    """`simulate-call --live`: the call's audio as a media stream, then its live transcript as stored."""
    from gateway.live_simulator import run_live_call, telephone_track

    if audio is None:
        raise CommandFailed("hotline simulate-call: --live needs --audio (what the caller says)")
    if speed < 0:
        raise CommandFailed("hotline simulate-call: --speed is 0 (as fast as taken) or more")
    call = _simulated_call(settings, url=url, from_number=from_number, to_number=to_number, audio=None, api_token=None)
    inbound = telephone_track(audio)
    outbound = telephone_track(agent_audio) if agent_audio is not None else b""
    try:
        outcome = asyncio.run(
            run_live_call(
                call, inbound=inbound, outbound=outbound, speed=speed, log=lambda line: print(line, file=sys.stderr)
            )
        )
    except (RuntimeError, OSError) as err:
        raise CommandFailed(f"hotline simulate-call: {err}") from err
    segments = _stored_live_transcript(settings, outcome["call_sid"])
    print(f"call {outcome['call_sid']}: live transcript ({len(segments)} utterances)")
    for segment in segments:
        print(f"  [{segment.start:6.2f}-{segment.end:6.2f}] {segment.speaker}: {segment.text}")
    return 0 if outcome["closed"] == 1000 and segments else 1


def _stored_live_transcript(settings: Settings, call_sid: str) -> list[Any]:
    from sqlmodel import Session

    from crm_store.calls.live import live_transcript_query
    from crm_store.db import make_engine

    engine = make_engine(settings.sync_db_url)
    try:
        with Session(engine) as session:
            return list(session.exec(live_transcript_query(call_sid)).all())
    finally:
        engine.dispose()


def transcribe(
    settings: Settings, files: Sequence[str], *, as_json: bool, engine: str | None, progress: bool, vad: bool
) -> int:
    """Transcribe audio files, one line (or JSON object) per file in order; 1 if any failed."""
    from telephony.asr import load_engine
    from telephony.batch import transcribe_files

    speech = load_engine(
        engine or settings.asr_engine,
        vosk_model_path=settings.vosk_model,
        cache_dir=settings.model_cache_dir,
        cpu_threads=settings.asr_threads,
        vad=settings.asr_vad and vad,
    )
    failures = 0
    for result in transcribe_files([Path(f) for f in files], speech, progress=progress):
        failures += "error" in result
        if as_json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        elif "error" in result:
            print(f"{result['file']}: ERROR {result['error']}", flush=True)
        else:
            print(f"{result['file']}\t{result['text']}", flush=True)
    return 1 if failures else 0


def retranscribe(
    settings: Settings,
    call_sids: Sequence[str],
    *,
    every_call: bool,
    since: datetime | None,
    engine: str | None,
    in_process: bool,
    wait: bool,
    timeout: float,
    vad: bool,
    progress: bool,
) -> int:
    """Transcribe and classify stored calls again, here or on the workers' queue; 1 if any failed."""
    from crm_store.db import session_scope
    from workers.context import build_context, install
    from workers.retranscribe import (
        enqueue_retranscription,
        new_request_id,
        retranscribe_in_process,
        stored_calls,
        wait_for,
    )

    if not (every_call or since or call_sids):
        raise CommandFailed("hotline retranscribe: name calls (CALL_SID ...), or use --all or --since DATE")
    in_process = in_process or settings.redis_url is None
    if engine and not in_process and engine != settings.asr_engine:
        raise CommandFailed(
            f"hotline retranscribe: the transcription workers run HOTLINE_ASR_ENGINE={settings.asr_engine}; "
            f"add --in-process to re-transcribe with {engine} here"
        )
    if engine:
        settings = settings.model_copy(update={"asr_engine": engine})
    if not vad:
        settings = settings.model_copy(update={"asr_vad": False})
    context = build_context(settings)
    install(context)
    try:
        with session_scope(context.engine) as session:
            sids = stored_calls(session, call_sids=list(call_sids) or None, since=since)
        missing = sorted(set(call_sids) - set(sids))
        if missing:
            raise CommandFailed(f"hotline retranscribe: no stored recording for {', '.join(missing)}")
        request = new_request_id()
        if in_process:
            outcome = retranscribe_in_process(context, sids, request=request, progress=progress)
            for sid, reason in outcome.failures.items():
                print(f"{sid}: FAILED {reason}", file=sys.stderr)
            print(f"re-transcription {request}: {outcome.done} of {outcome.calls} call(s) re-transcribed, classified")
            return 1 if outcome.failures else 0
        queued = enqueue_retranscription(context, sids, request=request, progress=progress)
        print(
            f"re-transcription {request}: {queued.calls} call(s) promised, {queued.queued} queued"
            + ("" if queued.queued == queued.calls else " (the outbox relay queues the rest)")
        )
        if wait:
            done, failed = wait_for(context, sids, request=request, progress=progress, timeout=timeout)
            waiting = len(sids) - done - len(failed)
            print(f"re-transcription {request}: {done} done, {len(failed)} failed, {waiting} still waiting")
            for sid in failed:
                print(f"{sid}: FAILED (hotline jobs failed)", file=sys.stderr)
            return 1 if failed or done < len(sids) else 0
        return 0
    finally:
        context.close()


def classify(lines: Iterable[str], *, as_json: bool) -> None:
    """Classify one transcript per line: type, topic, urgency and the redacted text (or one JSON object)."""
    from workers.understanding import understand

    for line in lines:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        result = understand(text).to_dict()
        if as_json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            call_type = result["type"] or result["type_label"]  # 미분류 when the classifier abstained
            topic = result["topic"] or result["topic_label"]
            print(f"{call_type}\t{topic}\t{result['urgency']}\t{result['redacted']}", flush=True)
