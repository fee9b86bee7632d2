"""The `hotline` command line as click sees it: every command's help, usage errors (exit code 2, a clear message),
bad settings (exit code 1, every bad variable named, no secret), settings handed down from a mapping."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gateway.cli import hotline
from gateway.cli.commands import Entry

# The fixed interface and the rest of the README's "Command line".
COMMANDS = {
    "serve", "worker", "migrate", "seed-demo", "simulate-call", "transcribe", "retranscribe", "classify", "token",
    "passwd", "staff", "org-unit", "escalate", "recompute-segments", "service-duties", "jobs",
}  # fmt: skip
SUBCOMMANDS = {
    "staff": {"list", "add", "set", "deactivate", "reactivate"},
    "org-unit": {"list", "add", "rename", "deactivate", "reactivate"},
}


def _run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> click.testing.Result:
    return CliRunner().invoke(hotline, list(args), obj=Entry(env or {}), input=stdin)


def _every_command() -> list[list[str]]:
    commands: list[list[str]] = []
    for name in sorted(COMMANDS):
        commands.append([name])
        commands.extend([name, sub] for sub in sorted(SUBCOMMANDS.get(name, ())))
    return commands


def test_the_top_level_help_lists_every_command() -> None:
    done = _run("--help")
    assert done.exit_code == 0
    listed = {line.split()[0] for line in done.output.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert listed == COMMANDS
    assert set(hotline.commands) == COMMANDS  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", _every_command(), ids=" ".join)
def test_every_command_has_its_help(command: list[str]) -> None:
    # Help never depends on the settings: a broken environment still shows it.
    done = _run(*command, "--help", env={"PORT": "eighty"})
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"Usage: hotline {' '.join(command)} ")
    summary = done.output.split("\n\n", 2)[1].strip()
    assert len(summary) > 10 and summary[0].isupper()


def test_the_fixed_interface_arguments_are_in_the_help() -> None:
    assert "FILE..." in _run("transcribe", "--help").output and "--json" in _run("transcribe", "--help").output
    assert "--json" in _run("classify", "--help").output
    assert "USERNAME [TOKEN_ID]" in _run("token", "--help").output
    staff_add = _run("staff", "add", "--help").output
    assert "USERNAME" in staff_add and all(o in staff_add for o in ("--name", "--role", "--unit", "--clearance"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["transcribe"], "Missing argument 'FILE...'"),
        (["transcribe", "--engine", "google", "a.wav"], "'google' is not one of 'whisper', 'vosk'"),
        (["token", "revoke", "seven"], "'seven' is not a valid integer"),
        (["token"], "Missing argument 'USERNAME'"),
        (["staff", "add", "kim", "--name", "김", "--role", "boss", "--unit", "HQ"], "'boss' is not one of"),
        (["staff", "add", "kim", "--role", "agent", "--unit", "HQ"], "Missing option '--name'"),
        (["staff", "list", "--inactive", "--all"], "--inactive and --all exclude each other"),
        (["staff", "fire", "kim"], "No such command 'fire'"),
        (["org-unit", "add", "BUSAN", "부산"], "Missing option '--parent'"),
        (["recompute-segments", "--as-of", "2026-13-01"], "not an ISO date: '2026-13-01'"),
        (["retranscribe", "--since", "yesterday"], "not an ISO date or date-time: 'yesterday'"),
        (["worker", "--queues", "hotline-fast"], "unknown queue hotline-fast"),
        (["jobs", "delete"], "'delete' is not one of 'failed', 'requeue'"),
        (["seed-demo", "--customers", "1"], "1 is not in the range x>=2"),
        (["migrate", "--revison", "head"], "Did you mean '--revision'?"),
        (["dance"], "No such command 'dance'"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    done = _run(*args)
    assert done.exit_code == 2, done.output
    assert message in done.stderr and "Usage: hotline" in done.stderr
    assert done.stdout == ""


def test_bad_settings_stop_a_command_naming_every_variable_and_no_secret(tmp_path: Path) -> None:
    env = {
        "HOTLINE_ENV": "production",
        "PORT": "eighty",
        "TWILIO_AUTH_TOKEN": "changeme-token-123",
        "HOTLINE_SECRET_KEY": "a-real-enough-secret-key-for-the-test",
        "DATABASE_URL": f"sqlite:///{tmp_path}/never.sqlite3",
    }
    done = _run("migrate", env=env)
    assert done.exit_code == 1
    assert done.stderr.splitlines() == [
        "hotline: TWILIO_ACCOUNT_SID: must be set when HOTLINE_ENV=production",
        "hotline: TWILIO_AUTH_TOKEN: a placeholder or development value; set the real one when HOTLINE_ENV=production",
        "hotline: PUBLIC_BASE_URL: must be set when HOTLINE_ENV=production",
        "hotline: PORT: Input should be a valid integer, unable to parse string as an integer (got 'eighty')",
    ]
    assert "changeme-token-123" not in done.output and not (tmp_path / "never.sqlite3").exists()


def test_the_settings_from_the_entry_point_reach_the_command(tmp_path: Path) -> None:
    done = _run("migrate", env={"HOTLINE_DATA_DIR": str(tmp_path)})
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("database at revision ")
    assert (tmp_path / "hotline.sqlite3").is_file()


def test_a_failing_command_says_why_on_stderr_with_exit_code_1(tmp_path: Path) -> None:
    done = _run("jobs", "failed", env={"HOTLINE_DATA_DIR": str(tmp_path)})
    assert done.exit_code == 1
    assert done.stderr == "hotline jobs needs REDIS_URL (the in-process queue lives inside `hotline serve`)\n"


def test_classify_reads_one_transcript_per_line_and_needs_no_settings() -> None:
    lines = "차 사고가 났어요 고속도로인데 다친 사람이 있어요\n\n주소가 바뀌어서 변경하려고요\n"
    done = _run("classify", "--json", env={"PORT": "eighty"}, stdin=lines)
    assert done.exit_code == 0, done.output
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == 2
    assert all({"type", "topic", "urgency", "entities", "redacted"} <= set(answer) for answer in answers)


def test_classify_prints_unclassified_in_korean_for_speech_without_call_language() -> None:
    done = _run("classify", stdin="안녕하세요 커피 한잔 하실래요 오늘 날씨가 좋네요\n")
    assert done.exit_code == 0, done.output
    call_type, topic, urgency, _redacted = done.stdout.rstrip("\n").split("\t")
    assert (call_type, topic, urgency) == ("미분류", "미분류", "normal")
