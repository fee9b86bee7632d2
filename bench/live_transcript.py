"""Live transcript: end of an utterance to its final text on the agent's desk, and its accuracy.

    flock /tmp/hotline-bench.lock python bench/live_transcript.py [--calls 1 2 4 8] [--transcribers 2] \
        [--clips 3] [--speed 1.0] [--post-call] [--webhook-rate 5 [--pop-agents 3]]

One gateway (the real application, in this process, SQLite and the in-process Redis stand-in, the real Whisper
transcriber pool started with spawn) and, per call, an agent's desk WebSocket and Twilio's side of a media
stream (gateway.live_simulator) sending the caller's track at real-time pace: `--clips` recordings of
../shared/data/ko_speech as telephone audio (8 kHz mu-law, 300-3400 Hz), 1.5 s of line silence between them,
each call starting at another clip; the agent's track is silence. 1, 2, 4, 8 calls at once.

Latency: for each final `transcript` frame on a desk, the desk's receipt minus the moment the media frame holding
the utterance's last speech (the frame's `end`) was sent; p50/p90/p99 over every final of a round. It includes the
silence the cutter waits for before an utterance is final (0.3 s within a long turn, 0.5 s after a short one);
`queued_*` and `decode_*` are the finals' seconds in the backlog and in a transcriber process. CER: the call's
final customer text against the clips' references, and (with --post-call) against the post-call transcript of the
same audio (WhisperEngine over the whole call's telephone audio, as the transcription job does), normalised as
bench/asr_accuracy.py does.

Gateway cost (--webhook-rate R): during each round (a round of `--calls 0` lasts as long as one call's audio) calls
also arrive at R per second, open loop, each a new CallSid signed as Twilio signs it (90% known customers, the
default desk menu installed): `voice_*` is the `POST /twilio/voice` answer's latency. With --pop-agents N (default
3, 0 for none) N more agents (every skill) keep a desk socket open, available; each caller then presses 1
(`POST /twilio/gather`, queued) and `pop_*` is the time from that request to the offer frame on a desk, after which
the caller hangs up (the status callback withdraws the offer, the agent is available again). The load generator
shares this process's event loop with the gateway and the streams: compare a round with streams against the
`--calls 0` round of the same run, not against bench/voice_webhook.py or bench/screen_pop.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench.asr_accuracy import edit_distance, normalise  # noqa: E402
from bench.loadgen import free_port  # noqa: E402
from crm_store.customers.tables import Customer, CustomerPhone  # noqa: E402
from crm_store.db import make_engine  # noqa: E402
from crm_store.desk.agent_tables import AgentState, DeskAgent  # noqa: E402
from crm_store.desk.seed import default_desk, install_menu  # noqa: E402
from crm_store.migrate import upgrade  # noqa: E402
from crm_store.org.staff import issue_token  # noqa: E402
from crm_store.org.tables import OrgUnit, Staff  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.keys import SIGNATURE  # noqa: E402
from gateway.live_simulator import socket_url, stream_call, telephone_track  # noqa: E402
from gateway.media_socket import LIVE_ENGINE_OPTIONS, LIVE_POOL  # noqa: E402
from gateway.simulator import TwilioPlayer, twiml_root  # noqa: E402
from workers.settings import Settings  # noqa: E402

# ../shared beside the main checkout (a worktree under /work/wt finds it one level further up).
SPEECH = next(
    (p / "shared" / "data" / "ko_speech" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()),
    ROOT.parent / "shared" / "data" / "ko_speech",
)
GAP = b"\xff" * 12000  # 1.5 s of mu-law silence
HOTLINE = "+8215881234"
SKILLS = ["accident", "change", "complaint", "consult"]


def clips() -> list[tuple[str, bytes, str]]:
    """(name, telephone audio, reference) of every clip."""
    with (SPEECH / "transcripts.tsv").open(encoding="utf-8") as table:
        references = {row[0]: row[1] for row in csv.reader(table, delimiter="\t") if row and row[0].endswith(".flac")}
    return [(name, telephone_track(SPEECH / name), text) for name, text in sorted(references.items())]


def prepare(folder: Path, agents: int, callers: int = 0) -> tuple[Settings, list[tuple[int, str]], list[str]]:
    """A migrated SQLite database with `agents` agents, each with an API token; with `callers`, the default desk
    menu and that many customers with a phone number (their numbers returned)."""
    settings = Settings.from_env({"HOTLINE_DATA_DIR": str(folder), "HOTLINE_LIVE_TRANSCRIBERS": "0"})
    upgrade(settings.sync_db_url)
    engine = make_engine(settings.sync_db_url)
    staff: list[tuple[int, str]] = []
    with Session(engine) as session:
        unit = OrgUnit(code="HQ", name="본사", level=0, path="/")
        session.add(unit)
        session.flush()
        unit.path = f"/{unit.id}/"
        for n in range(agents):
            member = Staff(username=f"agent.bench{n}", full_name="상담원", role="agent", org_unit_id=unit.id)
            session.add(member)
            session.flush()
            session.add(DeskAgent(staff_id=member.id, state=AgentState.ON_CALL.value))
            staff.append((int(member.id), member.username))  # type: ignore[arg-type]
        phones = []
        for n in range(callers):
            customer = Customer(kind="individual", name=f"고객{n}", org_unit_id=unit.id)
            session.add(customer)
            session.flush()
            phones.append(f"+82109{n:07d}")
            session.add(CustomerPhone(customer_id=customer.id, e164=phones[-1]))
        if callers:
            desk = default_desk()
            install_menu(session, HOTLINE, desk["menu"], desk["queues"])
        session.commit()
        staff = [(staff_id, issue_token(session, username=name, label="bench")) for staff_id, name in staff]
        session.commit()
    engine.dispose()
    return settings, staff, phones


def pop_agents(settings: Settings, count: int) -> list[str]:
    """`count` agents of every skill with a Twilio Client endpoint (on break until their desk says available);
    their API tokens."""
    engine = make_engine(settings.sync_db_url)
    with Session(engine) as session:
        unit = session.exec(select(OrgUnit).where(OrgUnit.code == "HQ")).one()
        members = []
        for n in range(count):
            member = Staff(username=f"agent.pop{n}", full_name="상담원", role="agent", org_unit_id=unit.id, clearance=2)
            session.add(member)
            session.flush()
            session.add(DeskAgent(staff_id=member.id, skills=SKILLS, endpoint=f"client:{member.username}"))
            members.append(member.username)
        session.commit()
        tokens = [issue_token(session, username=name, label="bench") for name in members]
        session.commit()
    engine.dispose()
    return tokens


class Incoming:
    """Calls arriving beside the streams: the `/twilio/voice` answer's latency and, with desks of available
    agents open, the time from the `/twilio/gather` that queues the call to its offer frame on a desk."""

    def __init__(self, base: str, settings: Settings, phones: list[str]) -> None:
        self.base = base
        self.settings = settings
        self.phones = phones
        self.rng = random.Random(7)
        self.offers: dict[str, asyncio.Future[float]] = {}
        self.desks: list[asyncio.Task[None]] = []

    async def open_desks(self, http: aiohttp.ClientSession, tokens: list[str]) -> None:
        """Each pop agent's desk open and available; offers noted (the caller hangs up, no answer needed)."""
        ready = [asyncio.get_running_loop().create_future() for _ in tokens]
        self.desks = [
            asyncio.create_task(self._desk(http, token, done)) for token, done in zip(tokens, ready, strict=True)
        ]
        await asyncio.gather(*ready)

    async def _desk(self, http: aiohttp.ClientSession, token: str, ready: asyncio.Future[None]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.ws_connect(self.base + "/api/v1/desk/ws", headers=headers) as ws:
            answer = await http.put(self.base + "/api/v1/agents/me/state", json={"state": "available"}, headers=headers)
            assert answer.status == 200, await answer.text()
            ready.set_result(None)
            async for message in ws:
                frame = json.loads(message.data)
                waiting = self.offers.get(frame.get("call_sid", "")) if frame.get("type") == "offer" else None
                if waiting is not None and not waiting.done():
                    waiting.set_result(time.perf_counter())

    async def call(self, http: aiohttp.ClientSession, pop: bool, into: dict[str, list[float]]) -> None:
        sid = "CA" + secrets.token_hex(16)
        known = self.rng.random() < 0.9
        caller = self.rng.choice(self.phones) if known else f"+8210{self.rng.randrange(10**8):08d}"
        params = {"AccountSid": self.settings.twilio_account_sid, "CallSid": sid, "From": caller, "To": HOTLINE,
                  "ApiVersion": "2010-04-01", "Direction": "inbound", "Caller": caller, "Called": HOTLINE,
                  "CallerCountry": "KR"}  # fmt: skip
        twilio = TwilioPlayer(http, self.settings.base_url, self.settings.twilio_auth_token)
        started = time.perf_counter()
        status, body = await twilio.post("/twilio/voice", {**params, "CallStatus": "ringing"})
        if status != 200:
            into["errors"].append(status)
            return
        into["voice"].append(time.perf_counter() - started)
        gather = twiml_root(body).find("Gather") if pop else None
        if gather is None:
            return
        offered = self.offers[sid] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        status, _ = await twilio.post_to(
            gather.get("action", ""), {**params, "CallStatus": "in-progress", "Digits": "1"}
        )
        try:
            into["pop"].append(await asyncio.wait_for(offered, 30) - started)
        except TimeoutError:
            into["never_offered"].append(status)
        finally:
            del self.offers[sid]
            ended = {**params, "CallStatus": "completed", "SequenceNumber": "9", "CallDuration": "10",
                     "CallbackSource": "call-progress-events",
                     "Timestamp": "Mon, 07 Dec 2026 01:00:00 +0000"}  # fmt: skip
            await twilio.post("/twilio/status", ended)

    async def during(self, rate: float, stop: asyncio.Event) -> dict[str, Any]:
        """Calls at `rate` per second until `stop`; their figures once every call is done."""
        into: dict[str, list[Any]] = {"voice": [], "pop": [], "errors": [], "never_offered": []}
        calls = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            started = time.perf_counter()
            while not stop.is_set():
                calls.append(asyncio.create_task(self.call(http, bool(self.desks), into)))
                due = started + len(calls) / rate
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.0, due - time.perf_counter()))
            await asyncio.gather(*calls)
        figures: dict[str, Any] = {"incoming": len(calls), "voice_errors": len(into["errors"])}
        for name in ("voice", "pop") if self.desks else ("voice",):
            ms = [value * 1000 for value in into[name]]
            for q in (0.5, 0.9, 0.99):
                figures[f"{name}_p{round(q * 100)}_ms"] = round(percentile(ms, q), 1) if ms else None
        if self.desks:
            figures["never_offered"] = len(into["never_offered"])
        return figures


def hold(settings: Settings, staff_id: int, call_sid: str) -> None:
    """The agent holds the call (what the distributor does on accept)."""
    engine = make_engine(settings.sync_db_url)
    with Session(engine) as session:
        agent = session.get(DeskAgent, staff_id)
        assert agent is not None
        agent.call_sid = call_sid
        session.add(agent)
        session.commit()
    engine.dispose()


async def one_call(
    base: str, app: web.Application, settings: Settings, agent: tuple[int, str], audio: bytes, speed: float, n: int
) -> dict[str, Any]:
    call_sid = "CA" + f"{n:032x}"
    hold(settings, agent[0], call_sid)
    sent: dict[int, float] = {}
    finals: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(base + "/api/v1/desk/ws", headers={"Authorization": f"Bearer {agent[1]}"}) as desk,
    ):
        await desk.receive_json()  # the agent's state

        async def read() -> None:
            async for message in desk:
                frame = json.loads(message.data)
                if frame["type"] == "transcript" and frame["final"] and frame["call_sid"] == call_sid:
                    frame["received"] = time.monotonic()
                    finals.append(frame)

        reader = asyncio.create_task(read())
        await stream_call(
            connect_url=socket_url(base),
            signer=app[SIGNATURE],
            account_sid=settings.twilio_account_sid,
            call_sid=call_sid,
            inbound=audio,
            outbound=b"",
            speed=speed,
            sent=lambda timestamp, at: sent.__setitem__(timestamp, at),
        )
        await asyncio.sleep(0.5)
        reader.cancel()
    latencies = []
    for frame in finals:
        moment = min(sent, key=lambda ts: abs(ts - (frame["end"] * 1000 - 20)))
        latencies.append(frame["received"] - sent[moment])
    text = " ".join(f["text"] for f in sorted(finals, key=lambda f: f["start"]) if f["speaker"] == "customer")
    return {"latencies": latencies, "text": text}


def cer(reference: str, hypothesis: str) -> tuple[int, int]:
    ref, hyp = normalise(reference), normalise(hypothesis)
    return edit_distance(ref, hyp), len(ref)


def where_the_time_goes(timings: list[tuple[float, float, float]]) -> dict[str, Any]:
    """The finals' seconds in the backlog and in a transcriber (p50, p90), and their audio's mean length."""
    if not timings:
        return {}
    queued, decoding, audio = ([t[i] for t in timings] for i in range(3))
    return {
        "queued_p50": round(percentile(queued, 0.5), 3),
        "queued_p90": round(percentile(queued, 0.9), 3),
        "decode_p50": round(percentile(decoding, 0.5), 3),
        "decode_p90": round(percentile(decoding, 0.9), 3),
        "final_audio_mean": round(statistics.fmean(audio), 2),
    }


def later(seconds: float) -> asyncio.Event:
    """An event set `seconds` from now."""
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, event.set)
    return event


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    every = clips()
    results: dict[str, Any] = {"rounds": []}
    with tempfile.TemporaryDirectory() as folder:
        settings, agents, phones = prepare(Path(folder), max(args.calls), 200 if args.webhook_rate else 0)
        pops = pop_agents(settings, args.pop_agents) if args.webhook_rate else []
        settings = settings.model_copy(update={"live_transcribers": args.transcribers, "asr_threads": args.threads})
        port = free_port()
        settings = settings.model_copy(update={"port": port})
        app = create_app(settings, embedded_worker=False)
        if args.beam_size is not None or args.full_window:
            # The live engine's decoding as the transcribers would otherwise choose it (workers.live_transcriber).
            options: dict[str, Any] = {} if args.beam_size is None else {"beam_size": args.beam_size}
            app[LIVE_ENGINE_OPTIONS] = options | ({"context_margin": None} if args.full_window else {})
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        incoming = Incoming(base, settings, phones)
        desks_http = aiohttp.ClientSession()
        try:
            if pops:
                await incoming.open_desks(desks_http, pops)
            # Warm up: the pool's processes load their model before the first round is timed.
            warm = every[0][1]
            await one_call(base, app, settings, agents[0], warm, 0, 10_000)
            if args.webhook_rate:
                await incoming.during(args.webhook_rate, later(2.0))
            for calls in args.calls:
                plans = []
                for n in range(calls):
                    chosen = [every[(n + k) % len(every)] for k in range(args.clips)]
                    audio = GAP.join(clip[1] for clip in chosen)
                    plans.append((chosen, audio))
                app[LIVE_POOL].final_timings.clear()
                streamed = asyncio.Event()
                arriving = (
                    asyncio.create_task(incoming.during(args.webhook_rate, streamed)) if args.webhook_rate else None
                )
                outcomes = await asyncio.gather(
                    *(
                        one_call(base, app, settings, agents[n], audio, args.speed, calls * 100 + n)
                        for n, (_chosen, audio) in enumerate(plans)
                    )
                )
                if arriving is not None and not calls:
                    # Without streams, the calls arrive for as long as one call's audio would last.
                    await asyncio.sleep(len(GAP.join(c[1] for c in every[: args.clips])) / 8000 / args.speed)
                streamed.set()
                cost = await arriving if arriving is not None else {}
                latencies = [value for outcome in outcomes for value in outcome["latencies"]]
                errors = total = 0
                for (chosen, _audio), outcome in zip(plans, outcomes, strict=True):
                    e, t = cer(" ".join(clip[2] for clip in chosen), outcome["text"])
                    errors, total = errors + e, total + t
                round_ = {
                    "calls": calls,
                    "finals": len(latencies),
                    "p50": round(percentile(latencies, 0.5), 3) if latencies else None,
                    "p90": round(percentile(latencies, 0.9), 3) if latencies else None,
                    "p99": round(percentile(latencies, 0.99), 3) if latencies else None,
                    "mean": round(statistics.fmean(latencies), 3) if latencies else None,
                    "cer_vs_reference": round(errors / total, 4) if total else None,
                    **where_the_time_goes(list(app[LIVE_POOL].final_timings)),
                    **cost,
                    "texts": [outcome["text"] for outcome in outcomes],
                    "plans": [[clip[0] for clip in chosen] for chosen, _ in plans],
                }
                results["rounds"].append(round_)
                print(json.dumps({k: v for k, v in round_.items() if k not in ("texts", "plans")}), flush=True)
        finally:
            for desk in incoming.desks:
                desk.cancel()
            await asyncio.gather(*incoming.desks, return_exceptions=True)
            await desks_http.close()
            await runner.cleanup()
    if args.post_call:
        results["post_call"] = post_call(results, every, args.threads)
    return results


def post_call(results: dict[str, Any], every: list[tuple[str, bytes, str]], threads: int) -> dict[str, Any]:
    """CER of the post-call transcript of each call of the first round, against the references and the live text."""
    from telephony.asr import load_engine
    from telephony.audio import mulaw_decode

    engine = load_engine("whisper", cpu_threads=threads or 2)
    audio_of = {name: audio for name, audio, _ in every}
    reference_of = {name: text for name, _, text in every}
    round_ = results["rounds"][0]
    live_e = post_e = live_vs_post = total = post_total = 0
    for plan, live in zip(round_["plans"], round_["texts"], strict=True):
        audio = GAP.join(audio_of[name] for name in plan)
        post = engine.transcribe(mulaw_decode(audio), 8000).text
        reference = " ".join(reference_of[name] for name in plan)
        e, t = cer(reference, live)
        live_e, total = live_e + e, total + t
        e, _ = cer(reference, post)
        post_e += e
        e, t = cer(post, live)
        live_vs_post, post_total = live_vs_post + e, post_total + t
    return {
        "calls": round_["calls"],
        "live_cer_vs_reference": round(live_e / total, 4),
        "post_call_cer_vs_reference": round(post_e / total, 4),
        "live_cer_vs_post_call": round(live_vs_post / post_total, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--transcribers", type=int, default=2, help="live transcriber processes")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per transcriber")
    parser.add_argument("--clips", type=int, default=3, help="recordings per call")
    parser.add_argument("--speed", type=float, default=1.0, help="times real time")
    parser.add_argument("--beam-size", type=int, help="the live decoder's beam (default: the transcribers' 5)")
    parser.add_argument("--full-window", action="store_true", help="encode Whisper's whole 30 s window, not 5 s more")
    parser.add_argument("--post-call", action="store_true", help="also the post-call transcript's CER")
    parser.add_argument("--webhook-rate", type=float, help="incoming calls per second during each round (gateway cost)")
    parser.add_argument(
        "--pop-agents", type=int, default=3, help="available agents' desks for the screen pop (0: none)"
    )
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "load": os.getloadavg()}
    print(json.dumps({k: v for k, v in results.items() if k != "rounds"}, ensure_ascii=False))
    if args.output:
        args.output.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
