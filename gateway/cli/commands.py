"""Every `hotline` command in one place: its name, arguments, options and help.

The entry point reads and validates the settings once and hands them to the command, which calls one function of
`gateway.cli.service`, `gateway.cli.speech` or `gateway.cli.admin`. A bad argument is a usage error (exit code 2);
a command that cannot do its work says why on stderr (exit code 1).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import update_wrapper
from pathlib import Path
from typing import Any

import click

from gateway.cli import admin, service, speech
from gateway.cli.errors import CommandFailed
from gateway.cli.logs import configure_logging
from workers.settings import Settings, SettingsError

ENGINES = click.Choice(["whisper", "vosk"])
ROLES = click.Choice(admin.ROLES)
QUEUE_HELP = "hotline-transcription, hotline, or all (transcription runs without forking)"


class Entry:
    """What the entry point hands every command: the environment, and the settings read from it once.

    The settings are read when the first command that needs them starts (after its arguments are parsed, so
    `--help` and usage errors do not depend on the environment); `classify` needs none.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = settings_from(self.environ)
        return self._settings


def settings_from(environ: Mapping[str, str]) -> Settings:
    """The validated settings, or the command refused with one line per bad variable."""
    try:
        return Settings.from_env(environ)
    except SettingsError as err:
        raise CommandFailed("\n".join(f"hotline: {problem}" for problem in err.problems)) from None


class IsoDate(click.ParamType):
    """A business day for --as-of (YYYY-MM-DD)."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"not an ISO date: {value!r}", param, ctx)


class Moment(click.ParamType):
    """A date or date-time for --since; naive values are UTC."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"not an ISO date or date-time: {value!r}", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pass_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """Call the command with the entry point's settings as its first argument."""

    @click.pass_context
    def with_settings(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        entry = ctx.find_object(Entry)
        assert entry is not None, "the hotline group makes the entry"
        return ctx.invoke(command, entry.settings, *args, **kwargs)

    return update_wrapper(with_settings, command)


def _done(code: int) -> None:
    if code:
        raise click.exceptions.Exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def hotline(ctx: click.Context, verbose: bool) -> None:
    """The insurer's contact-center integration service.

    Settings come from environment variables (see the README's settings table); a command that needs them
    checks them all before it starts, and names every bad one.
    """
    if ctx.obj is None:
        ctx.obj = Entry(os.environ)
    ctx.call_on_close(configure_logging(verbose).stop)


# -- the service -----------------------------------------------------------------------------------


@hotline.command()
@pass_settings
def serve(settings: Settings) -> None:
    """Run the gateway (and, without REDIS_URL, the jobs)."""
    service.serve(settings)


@hotline.command()
@click.option("--queues", "queues", multiple=True, metavar="QUEUE", help=QUEUE_HELP + "; default all.")
@click.argument("more_queues", nargs=-1, metavar="[QUEUE]...")
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option("--name", help="Worker name.")
@pass_settings
def worker(
    settings: Settings, queues: tuple[str, ...], more_queues: tuple[str, ...], burst: bool, name: str | None
) -> None:
    """Run an rq worker on the given queues (`--queues hotline-transcription hotline`)."""
    from workers.queueing import ALL_QUEUES

    wanted = [*queues, *more_queues] or ["all"]
    unknown = [queue for queue in wanted if queue not in (*ALL_QUEUES, "all")]
    if unknown:
        known = ", ".join((*ALL_QUEUES, "all"))
        raise click.BadParameter(f"unknown queue {', '.join(unknown)} (known: {known})", param_hint="'--queues'")
    service.worker(settings, wanted, burst=burst, name=name)


@hotline.command()
@click.option("--revision", default="head", show_default=True, help="Alembic revision to go to.")
@pass_settings
def migrate(settings: Settings, revision: str) -> None:
    """Bring the database schema up to date."""
    service.migrate(settings, revision)


@hotline.command("seed-demo")
@click.option(
    "--customers",
    type=click.IntRange(min=2),
    default=1200,
    show_default=True,
    help="how many demo customers (at least the two well-known ones)",
)
@pass_settings
def seed_demo(settings: Settings, customers: int) -> None:
    """Create demo organisation, staff and customers."""
    service.seed_demo(settings, customers=customers)


@hotline.command()
@click.argument("action", type=click.Choice(["failed", "requeue"]))
@click.argument("job_ids", nargs=-1, metavar="[JOB_ID]...")
@pass_settings
def jobs(settings: Settings, action: str, job_ids: tuple[str, ...]) -> None:
    """Failed jobs: `failed` lists them with their error, `requeue [JOB_ID]...` puts them (default all) back."""
    service.jobs(settings, action, job_ids)


@hotline.command()
@pass_settings
def escalate(settings: Settings) -> None:
    """Escalate review items nobody took in time."""
    service.escalate(settings)


@hotline.command("recompute-segments")
@click.option("--as-of", type=IsoDate(), help="Business day the rules are applied on (default today).")
@pass_settings
def recompute_segments(settings: Settings, as_of: date | None) -> None:
    """Recompute every customer's segment now (workers: once a day)."""
    service.recompute_segments(settings, as_of=as_of)


@hotline.command("service-duties")
@click.option("--as-of", type=IsoDate(), help="Business day the duties are due on (default today).")
@pass_settings
def service_duties(settings: Settings, as_of: date | None) -> None:
    """Schedule account managers' service tasks now (workers: once a day)."""
    service.service_duties(settings, as_of=as_of)


# -- calls and speech ------------------------------------------------------------------------------


@hotline.command("simulate-call")
@click.option(
    "--audio", type=click.Path(path_type=Path), help="Audio file the caller says (WAV, FLAC) when asked to speak."
)
@click.option("--from", "from_number", required=True, help="Caller number, e.g. +821012345678.")
@click.option("--to", "to_number", default="+8215881234", show_default=True, help="Hotline number called.")
@click.option("--url", help="Gateway base URL (default PUBLIC_BASE_URL or http://HOST:PORT).")
@click.option("--token", help="API token to read the record (default: a new one for --as-user).")
@click.option("--as-user", default="admin", show_default=True, help="Staff member whose token reads the record.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds to wait for the record.")
@click.option("--as-is", is_flag=True, help="Serve the file unchanged instead of telephone audio.")
@click.option("--press", type=click.Choice(list("0123456789*#")), help="Key the caller presses at the IVR menu.")
@click.option("--say", help="Words the caller says at the IVR menu (as Twilio's recogniser hands them).")
@click.option(
    "--wait",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds the caller waits in a queue, then hangs up. With --twilio-api-port the caller waits for an agent "
    "instead (up to --timeout) unless --hang-up-waiting is given too.",
)
@click.option("--hang-up-waiting", is_flag=True, help="Hang up after --wait even when an agent could connect.")
@click.option(
    "--talk", type=float, default=3.0, show_default=True, help="Seconds the caller talks with the agent once connected."
)
@click.option(
    "--twilio-api-port",
    type=int,
    help="Serve a stand-in for Twilio's REST API on this port (the gateway's TWILIO_API_BASE).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Stream --audio (the caller) and --agent-audio over /twilio/media as a media stream, then print the live "
    "transcript stored with the call.",
)
@click.option("--agent-audio", type=click.Path(path_type=Path), help="With --live: what the agent says.")
@click.option(
    "--speed", type=float, default=1.0, show_default=True, help="With --live: times real time (0: as fast as taken)."
)
@pass_settings
def simulate_call(settings: Settings, **options: Any) -> None:
    """Play Twilio's part for one call: the menu, the queue, a recording; print the record (exit code 1 unless the
    recording was classified, or the call waited in a queue and was connected or abandoned as asked)."""
    _done(speech.simulate_call(settings, **options))


@hotline.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file (file, text, model, ...).")
@click.option("--engine", type=ENGINES, help="Default HOTLINE_ASR_ENGINE.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@click.option("--no-vad", is_flag=True, help="Decode silence and hold music too (HOTLINE_ASR_VAD).")
@pass_settings
def transcribe(
    settings: Settings, files: tuple[str, ...], as_json: bool, engine: str | None, no_progress: bool, no_vad: bool
) -> None:
    """Transcribe audio files, one line per file in order (exit code 1 if any failed)."""
    _done(speech.transcribe(settings, files, as_json=as_json, engine=engine, progress=not no_progress, vad=not no_vad))


@hotline.command()
@click.argument("call_sids", nargs=-1, metavar="[CALL_SID]...")
@click.option("--all", "every_call", is_flag=True, help="Every call with a stored recording.")
@click.option("--since", type=Moment(), help="Calls started at or after this date (ISO, UTC).")
@click.option("--engine", type=ENGINES, help="Needs --in-process unless it is the workers' own.")
@click.option("--in-process", is_flag=True, help="Do the work here instead of on the workers' queue.")
@click.option("--wait", is_flag=True, help="Follow the queued jobs until they finish.")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds --wait follows the jobs.")
@click.option("--no-vad", is_flag=True, help="With --in-process: decode silence and hold music too.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@pass_settings
def retranscribe(
    settings: Settings, call_sids: tuple[str, ...], no_vad: bool, no_progress: bool, **options: Any
) -> None:
    """Transcribe and classify stored calls again."""
    _done(speech.retranscribe(settings, call_sids, vad=not no_vad, progress=not no_progress, **options))


@hotline.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (type, topic, urgency, ...).")
def classify(as_json: bool) -> None:
    """Classify transcripts read from stdin, one per line."""
    speech.classify(sys.stdin, as_json=as_json)


# -- administration --------------------------------------------------------------------------------


@hotline.command()
@click.argument("username")
@click.argument("token_id", type=int, required=False)
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@pass_settings
def token(settings: Settings, username: str, token_id: int | None, label: str) -> None:
    """Print a new API token for staff member USERNAME (its id on stderr); `token revoke ID` revokes one (audited)."""
    if username == "revoke":
        if token_id is None:
            raise CommandFailed("hotline token revoke: give the id of the token to revoke")
        admin.revoke_token(settings, token_id)
        return
    if token_id is not None:
        raise CommandFailed(f"hotline token: unexpected {token_id} (to revoke a token: hotline token revoke ID)")
    admin.issue_token(settings, username, label=label)


@hotline.command()
@click.argument("username")
@pass_settings
def passwd(settings: Settings, username: str) -> None:
    """Set a staff member's console password (audited; ends their sessions).

    The password is read twice from the terminal, or as one line of stdin.
    """
    admin.set_password(settings, username)


@hotline.group("org-unit")
def org_unit() -> None:
    """Org units: list, add, rename, deactivate, reactivate."""


@org_unit.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per unit.")
@pass_settings
def org_unit_list(settings: Settings, as_json: bool) -> None:
    """The organisation tree."""
    admin.list_org_units(settings, as_json=as_json)


@org_unit.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--parent", required=True, help="Code of the parent unit.")
@pass_settings
def org_unit_add(settings: Settings, code: str, name: str, parent: str) -> None:
    """A new unit CODE (such as SEOUL-GANGNAM-BANPO) named NAME (such as 반포지점), one level below --parent."""
    admin.change_org_unit(settings, "add", code, name=name, parent=parent)


@org_unit.command("rename")
@click.argument("code")
@click.argument("name")
@pass_settings
def org_unit_rename(settings: Settings, code: str, name: str) -> None:
    """Give a unit a new name."""
    admin.change_org_unit(settings, "rename", code, name=name)


@org_unit.command("deactivate")
@click.argument("code")
@pass_settings
def org_unit_deactivate(settings: Settings, code: str) -> None:
    """Close a unit (no staff, customers or open review items left)."""
    admin.change_org_unit(settings, "deactivate", code)


@org_unit.command("reactivate")
@click.argument("code")
@pass_settings
def org_unit_reactivate(settings: Settings, code: str) -> None:
    """Reopen a closed unit."""
    admin.change_org_unit(settings, "reactivate", code)


@hotline.group()
def staff() -> None:
    """Staff: list, add, set, deactivate, reactivate."""


@staff.command("list")
@click.option("--unit", help="Code of one unit.")
@click.option("--role", type=ROLES)
@click.option("--inactive", is_flag=True, help="Only deactivated staff.")
@click.option("--all", "everyone", is_flag=True, help="Active and deactivated staff.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per staff member.")
@pass_settings
def staff_list(
    settings: Settings, unit: str | None, role: str | None, inactive: bool, everyone: bool, as_json: bool
) -> None:
    """Staff, by unit then username (active ones unless --inactive or --all)."""
    if inactive and everyone:
        raise click.UsageError("--inactive and --all exclude each other")
    active = None if everyone else not inactive
    admin.list_staff(settings, unit=unit, role=role, active=active, as_json=as_json)


@staff.command("add")
@click.argument("username")
@click.option("--name", required=True, help="Full name, such as 홍길동.")
@click.option("--role", required=True, type=ROLES)
@click.option("--unit", required=True, help="Code of the org unit.")
@click.option("--clearance", type=int, default=1, show_default=True, help="Clearance grade 0 to 5.")
@click.option("--password-stdin", is_flag=True, help="Read the first password from stdin.")
@pass_settings
def staff_add(settings: Settings, username: str, **options: Any) -> None:
    """A new staff member (password: `hotline passwd`, or --password-stdin)."""
    admin.add_staff(settings, username, **options)


@staff.command("set")
@click.argument("username")
@click.option("--name", help="Full name.")
@click.option("--role", type=ROLES)
@click.option("--unit", help="Code of the new org unit.")
@click.option("--clearance", type=int, help="Clearance grade 0 to 5.")
@pass_settings
def staff_set(settings: Settings, username: str, **options: Any) -> None:
    """Change name, role, unit or clearance grade."""
    admin.change_staff(settings, "set", username, **options)


@staff.command("deactivate")
@click.argument("username")
@pass_settings
def staff_deactivate(settings: Settings, username: str) -> None:
    """Sign out everywhere, revoke tokens, refuse sign-in."""
    admin.change_staff(settings, "deactivate", username)


@staff.command("reactivate")
@click.argument("username")
@pass_settings
def staff_reactivate(settings: Settings, username: str) -> None:
    """Allow sign-in again."""
    admin.change_staff(settings, "reactivate", username)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hotline` console script: run one command, return its exit code."""
    try:
        code = hotline.main(args=argv, prog_name="hotline", standalone_mode=False)
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    return code if isinstance(code, int) else 0
