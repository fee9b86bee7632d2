"""The `hotline` command: serve, worker, migrate, seed-demo, simulate-call, (re)transcribe, classify, token, jobs,
escalate, recompute-segments, service-duties;
administration (org-unit, staff, passwd) lives in `gateway.admin_cli`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import logging.handlers
import queue
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from gateway import admin_cli
from workers.settings import Settings, SettingsError

log = logging.getLogger("hotline")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as err:
        raise SystemExit(f"hotline: {err}") from err


def _prepare_embedded_database(settings: Settings) -> None:
    """No DATABASE_URL: a SQLite file, created and migrated on the spot."""
    if settings.database_url is None:
        from crm_store.migrate import upgrade

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.sync_db_url)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from gateway.app import create_app

    settings = _settings()
    _prepare_embedded_database(settings)
    app = create_app(settings)
    mode = "embedded (SQLite + in-process queue)" if settings.redis_url is None else "PostgreSQL/Redis workers"
    print(
        f"Hotline listening on http://{settings.host}:{settings.port}  (Twilio base URL {settings.base_url}; {mode})",
        flush=True,
    )
    try:
        import uvloop  # libuv's event loop: the same asyncio API, about twice the I/O throughput

        uvloop.install()
    except ImportError:
        log.info("uvloop not installed; using asyncio's default event loop")
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from workers.queueing import ALL_QUEUES
    from workers.runner import run_worker

    settings = _settings()
    if settings.redis_url is None:
        raise SystemExit("hotline worker needs REDIS_URL; without it `hotline serve` runs the jobs itself")
    queues = list(ALL_QUEUES) if args.queues == ["all"] else args.queues
    run_worker(settings, queues, burst=args.burst, name=args.name)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from crm_store.migrate import current_revision, upgrade

    settings = _settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sync_db_url, args.revision)
    print(f"database at revision {current_revision(settings.sync_db_url)}")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from crm_store.db import make_engine
    from crm_store.demo import seed_demo

    settings = _settings()
    _prepare_embedded_database(settings)
    engine = make_engine(settings.sync_db_url)
    try:
        summary = seed_demo(engine, secret_key=settings.secret_key, customers=args.customers)
    finally:
        engine.dispose()
    print(summary)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """`hotline token USERNAME` prints a new token (its id on stderr); `hotline token revoke ID` revokes one."""
    if args.username == "revoke":
        if args.token_id is None:
            raise SystemExit("hotline token revoke: give the id of the token to revoke")
        return admin_cli.revoke_token(args.token_id)
    if args.token_id is not None:
        raise SystemExit(f"hotline token: unexpected {args.token_id} (to revoke a token: hotline token revoke ID)")
    from sqlmodel import col, select

    from crm_store.db import make_engine, session_scope
    from crm_store.errors import NotFound
    from crm_store.identity import token_hash
    from crm_store.models import ApiToken, AuditEntry, Staff
    from crm_store.staff import issue_token

    settings = _settings()
    operator = admin_cli.operator_name()
    engine = make_engine(settings.sync_db_url)
    try:
        with session_scope(engine) as session:
            token = issue_token(session, username=args.username, label=args.label)
            session.flush()
            token_id = session.exec(select(col(ApiToken.id)).where(col(ApiToken.token_hash) == token_hash(token))).one()
            holder = session.exec(select(Staff).where(col(Staff.username) == args.username)).one()
            # Who issued which token to whom is on the audit trail like a revocation (never the token itself).
            session.add(
                AuditEntry(
                    username=operator,
                    action="token.issued",
                    fields=["label", "token_id"],
                    target=f"staff:{holder.id}",
                    org_unit_id=holder.org_unit_id,
                    detail={"token_id": token_id, "label": args.label},
                )
            )
    except NotFound as err:
        raise SystemExit(f"hotline token: {err}") from err
    finally:
        engine.dispose()
    print(token)
    print(f"token #{token_id} for {args.username} (revoke: hotline token revoke {token_id})", file=sys.stderr)
    return 0


def cmd_escalate(args: argparse.Namespace) -> int:
    """Move review items nobody took in time to the upper-level center (run from cron or a scheduler)."""
    from crm_store.db import make_engine, session_scope
    from crm_store.routing import escalate_overdue
    from crm_store.types import utcnow

    engine = make_engine(_settings().sync_db_url)
    try:
        with session_scope(engine) as session:
            moved = escalate_overdue(session, now=utcnow())
    finally:
        engine.dispose()
    print(f"{len(moved)} review items escalated")
    return 0


def _business_day(value: str) -> date:
    """A date for --as-of."""
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO date: {value!r}") from err


def cmd_recompute_segments(args: argparse.Namespace) -> int:
    """Every customer's segment now (the workers also run this once per business day)."""
    from crm_store.db import make_engine
    from crm_store.rules import load_rules
    from crm_store.segment_store import recompute_all_segments
    from crm_store.validation import business_today

    engine = make_engine(_settings().sync_db_url)
    try:
        run = recompute_all_segments(
            engine, rules=load_rules(), as_of=args.as_of or business_today(), changed_by="segment-cli"
        )
    finally:
        engine.dispose()
    segments = ", ".join(f"{name} {count:,}" for name, count in sorted(run.by_segment.items()))
    print(f"{run.customers:,} customers, {run.changed:,} changed, {run.seconds:.1f} s; segments: {segments or '-'}")
    return 0


def cmd_service_duties(args: argparse.Namespace) -> int:
    """Schedule the account managers' service tasks now (the workers also run this once per business day)."""
    from crm_store.account_managers import schedule_service_tasks
    from crm_store.db import make_engine
    from crm_store.rules import load_rules
    from crm_store.validation import business_today

    engine = make_engine(_settings().sync_db_url)
    try:
        created = schedule_service_tasks(engine, rules=load_rules(), as_of=args.as_of or business_today())
    finally:
        engine.dispose()
    print(f"{created} service task(s) scheduled")
    return 0


def cmd_simulate_call(args: argparse.Namespace) -> int:
    from gateway.simulator import SimulatedCall, format_record, run_simulated_call, telephone_recording

    settings = _settings()
    audio_file = Path(args.audio)
    if not audio_file.is_file():
        raise SystemExit(f"hotline simulate-call: no such file {audio_file}")
    audio = audio_file.read_bytes() if args.as_is else telephone_recording(audio_file)[0]
    token = args.token
    if token is None:
        from crm_store.db import make_engine, session_scope
        from crm_store.staff import issue_token

        engine = make_engine(settings.sync_db_url)
        try:
            with session_scope(engine) as session:
                token = issue_token(session, username=args.as_user, label="simulate-call")
        finally:
            engine.dispose()
    call = SimulatedCall(
        base_url=args.url or settings.base_url,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        from_number=args.from_number,
        to_number=args.to,
        audio=audio,
        api_token=token,
        timeout=args.timeout,
    )
    record = asyncio.run(run_simulated_call(call, log=lambda line: print(line, file=sys.stderr)))
    print(format_record(record))
    state = record.get("processing", {}).get("state")
    return 0 if state == "classified" else 1


def cmd_transcribe(args: argparse.Namespace) -> int:
    from telephony.asr import load_engine
    from telephony.batch import transcribe_files

    settings = _settings()
    engine = load_engine(
        args.engine or settings.asr_engine,
        vosk_model_path=settings.vosk_model,
        cache_dir=settings.model_cache_dir,
        cpu_threads=settings.asr_threads,
        vad=settings.asr_vad and not args.no_vad,
    )
    failures = 0
    for result in transcribe_files([Path(f) for f in args.files], engine, progress=not args.no_progress):
        failures += "error" in result
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        elif "error" in result:
            print(f"{result['file']}: ERROR {result['error']}", flush=True)
        else:
            print(f"{result['file']}\t{result['text']}", flush=True)
    return 1 if failures else 0


def _since(value: str) -> datetime:
    """A date or date-time for --since; naive values are UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {value!r}") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_retranscribe(args: argparse.Namespace) -> int:
    from crm_store.db import session_scope
    from workers.context import build_context, install
    from workers.retranscribe import (
        enqueue_retranscription,
        new_request_id,
        retranscribe_in_process,
        stored_calls,
        wait_for,
    )

    settings = _settings()
    if not (args.all or args.since or args.call_sids):
        raise SystemExit("hotline retranscribe: name calls (CALL_SID ...), or use --all or --since DATE")
    in_process = args.in_process or settings.redis_url is None
    if args.engine and not in_process and args.engine != settings.asr_engine:
        raise SystemExit(
            f"hotline retranscribe: the transcription workers run HOTLINE_ASR_ENGINE={settings.asr_engine}; "
            f"add --in-process to re-transcribe with {args.engine} here"
        )
    if args.engine:
        settings = settings.model_copy(update={"asr_engine": args.engine})
    if args.no_vad:
        settings = settings.model_copy(update={"asr_vad": False})
    context = build_context(settings)
    install(context)
    try:
        with session_scope(context.engine) as session:
            sids = stored_calls(session, call_sids=args.call_sids or None, since=args.since)
        missing = sorted(set(args.call_sids) - set(sids))
        if missing:
            raise SystemExit(f"hotline retranscribe: no stored recording for {', '.join(missing)}")
        request = new_request_id()
        progress = not args.no_progress
        if in_process:
            outcome = retranscribe_in_process(context, sids, request=request, progress=progress)
            for sid, reason in outcome.failures.items():
                print(f"{sid}: FAILED {reason}", file=sys.stderr)
            print(f"re-transcription {request}: {outcome.done} of {outcome.calls} call(s) re-transcribed, classified")
            return 1 if outcome.failures else 0
        outcome = enqueue_retranscription(context, sids, request=request, progress=progress)
        print(
            f"re-transcription {request}: {outcome.calls} call(s) promised, {outcome.queued} queued"
            + ("" if outcome.queued == outcome.calls else " (the outbox relay queues the rest)")
        )
        if args.wait:
            done, failed = wait_for(context, sids, request=request, progress=progress, timeout=args.timeout)
            waiting = len(sids) - done - len(failed)
            print(f"re-transcription {request}: {done} done, {len(failed)} failed, {waiting} still waiting")
            for sid in failed:
                print(f"{sid}: FAILED (hotline jobs failed)", file=sys.stderr)
            return 1 if failed or done < len(sids) else 0
        return 0
    finally:
        context.close()


def cmd_classify(args: argparse.Namespace) -> int:
    from workers.understanding import understand

    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        result = understand(text).to_dict()
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            print(f"{result['type']}\t{result['topic']}\t{result['urgency']}\t{result['redacted']}", flush=True)
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from workers.failures import failed_jobs, requeue_failed

    settings = _settings()
    if settings.redis_url is None:
        raise SystemExit("hotline jobs needs REDIS_URL (the in-process queue lives inside `hotline serve`)")
    from workers.queueing import connect_redis

    redis = connect_redis(settings)
    if args.action == "failed":
        for job in failed_jobs(redis):
            print(json.dumps(job, ensure_ascii=False))
        return 0
    count = requeue_failed(redis, args.job_ids or None)
    print(f"requeued {count} job(s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="The insurer's contact-center integration service")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("serve", help="run the gateway (and, without REDIS_URL, the jobs)").set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run an rq worker")
    p.add_argument(
        "--queues",
        nargs="+",
        default=["all"],
        help="hotline-transcription, hotline, or all (transcription runs without forking)",
    )
    p.add_argument("--burst", action="store_true", help="quit when the queues are empty")
    p.add_argument("--name", help="worker name")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="bring the database schema up to date")
    p.add_argument("--revision", default="head")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed-demo", help="create demo organisation, staff and customers")
    p.add_argument("--customers", type=int, default=1200)
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("simulate-call", help="play Twilio's part: one call with a recording")
    p.add_argument("--audio", required=True, help="audio file the caller says (WAV, FLAC)")
    p.add_argument("--from", dest="from_number", required=True, help="caller number, e.g. +821012345678")
    p.add_argument("--to", default="+8215881234", help="hotline number called")
    p.add_argument("--url", help="gateway base URL (default PUBLIC_BASE_URL or http://HOST:PORT)")
    p.add_argument("--token", help="API token to read the record (default: a new one for --as-user)")
    p.add_argument("--as-user", default="admin", help="staff member whose token reads the record")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the record")
    p.add_argument("--as-is", action="store_true", help="serve the file unchanged instead of telephone audio")
    p.set_defaults(func=cmd_simulate_call)

    p = sub.add_parser("transcribe", help="transcribe audio files")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.add_argument("--engine", choices=["whisper", "vosk"], help="default HOTLINE_ASR_ENGINE")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-vad", action="store_true", help="decode silence and hold music too (HOTLINE_ASR_VAD)")
    p.set_defaults(func=cmd_transcribe)

    p = sub.add_parser("retranscribe", help="transcribe and classify stored calls again")
    p.add_argument("call_sids", nargs="*", metavar="CALL_SID")
    p.add_argument("--all", action="store_true", help="every call with a stored recording")
    p.add_argument("--since", type=_since, help="calls started at or after this date (ISO, UTC)")
    p.add_argument("--engine", choices=["whisper", "vosk"], help="needs --in-process unless it is the workers' own")
    p.add_argument("--in-process", action="store_true", help="do the work here instead of on the workers' queue")
    p.add_argument("--wait", action="store_true", help="follow the queued jobs until they finish")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds --wait follows the jobs")
    p.add_argument("--no-vad", action="store_true", help="with --in-process: decode silence and hold music too")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_retranscribe)

    p = sub.add_parser("classify", help="classify transcripts read from stdin, one per line")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("token", help="print a new API token for a staff member; `token revoke ID` revokes one")
    p.add_argument("username", help="the staff member to issue a token for, or `revoke`")
    p.add_argument("token_id", nargs="?", type=int, help="with `revoke`: the id of the token (audited)")
    p.add_argument("--label", default="cli")
    p.set_defaults(func=cmd_token)

    admin_cli.add_parsers(sub)
    sub.add_parser("escalate", help="escalate review items nobody took in time").set_defaults(func=cmd_escalate)
    p = sub.add_parser("recompute-segments", help="recompute every customer's segment now (workers: once a day)")
    p.add_argument("--as-of", type=_business_day, help="business day the rules are applied on (default today)")
    p.set_defaults(func=cmd_recompute_segments)
    p = sub.add_parser("service-duties", help="schedule account managers' service tasks now (workers: once a day)")
    p.add_argument("--as-of", type=_business_day, help="business day the duties are due on (default today)")
    p.set_defaults(func=cmd_service_duties)

    p = sub.add_parser("jobs", help="failed jobs: list or requeue")
    p.add_argument("action", choices=["failed", "requeue"])
    p.add_argument("job_ids", nargs="*", help="requeue these (default: all failed)")
    p.set_defaults(func=cmd_jobs)
    return parser


def _configure_logging(verbose: bool) -> logging.handlers.QueueListener:
    """Log records go through a queue to a thread that writes them: the event loop never blocks on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, handler)
    enqueue = logging.handlers.QueueHandler(records)
    enqueue.setFormatter(logging.Formatter("%(message)s"))  # the writing thread's handler adds the rest
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[enqueue])
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    listener.start()
    return listener


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hotline` console script."""
    args = build_parser().parse_args(argv)
    listener = _configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    finally:
        listener.stop()


if __name__ == "__main__":
    raise SystemExit(main())
