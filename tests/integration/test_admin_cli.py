"""The administrator's command line: org units, staff, roles, grades and passwords, each change audited.

Runs the real `hotline` CLI as a child process against a migrated SQLite database.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from sqlmodel import select

from crm_store.audit import AuditEntry
from crm_store.db import make_engine, session_scope
from crm_store.org.auth import verify_password
from crm_store.org.tables import Staff
from tests.processes import HOTLINE, ROOT, hotline_env
from tests.store_helpers import head_office
from workers.settings import Settings


@pytest.fixture
def cli_settings(sqlite_settings: Settings) -> Settings:
    """The migrated SQLite database with only the head office in it, where an administrator starts."""
    engine = make_engine(sqlite_settings.sync_db_url)
    try:
        with session_scope(engine) as session:
            head_office(session)
    finally:
        engine.dispose()
    return sqlite_settings


def _hotline(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = hotline_env(HOTLINE_DATA_DIR=str(settings.data_dir), DATABASE_URL=settings.sync_db_url)
    return subprocess.run(
        [*HOTLINE, *args], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120
    )


def _ok(settings: Settings, *args: str, stdin: str = "") -> str:
    done = _hotline(settings, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _audit(settings: Settings) -> list[AuditEntry]:
    engine = make_engine(settings.sync_db_url)
    try:
        with session_scope(engine) as session:
            return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())  # type: ignore[arg-type]
    finally:
        engine.dispose()


def _staff(settings: Settings, username: str) -> Staff:
    engine = make_engine(settings.sync_db_url)
    try:
        with session_scope(engine) as session:
            return session.exec(select(Staff).where(Staff.username == username)).one()
    finally:
        engine.dispose()


def test_an_administrator_builds_a_branch_and_its_staff_from_the_command_line(cli_settings: Settings) -> None:
    settings = cli_settings
    _ok(settings, "org-unit", "add", "SEOUL", "서울지역본부", "--parent", "HQ")
    _ok(settings, "org-unit", "add", "SEOUL-GANGNAM", "강남지점", "--parent", "SEOUL")
    tree = [json.loads(line) for line in _ok(settings, "org-unit", "list", "--json").splitlines()]
    assert [(u["code"], u["level"]) for u in tree] == [("HQ", 0), ("SEOUL", 1), ("SEOUL-GANGNAM", 2)]

    new_operator = ["op.gangnam", "--name", "이상담", "--role", "operator", "--unit", "SEOUL-GANGNAM"]
    added = _ok(settings, "staff", "add", *new_operator, "--clearance", "2", "--password-stdin", stdin="first-pw-1\n")
    assert "op.gangnam" in added and "operator" in added
    _ok(settings, "staff", "set", "op.gangnam", "--role", "center_manager", "--clearance", "3")
    _ok(settings, "passwd", "op.gangnam", stdin="second-password-2\n")
    staff = _staff(settings, "op.gangnam")
    assert (staff.role, staff.clearance) == ("center_manager", 3)
    assert verify_password(staff.password_hash, "second-password-2")
    assert not verify_password(staff.password_hash, "first-pw-1")

    token = _ok(settings, "token", "op.gangnam", "--label", "crm-sync").strip()
    issued = _hotline(settings, "token", "op.gangnam")
    token_id = issued.stderr.split("#", 1)[1].split()[0]
    assert _ok(settings, "token", "revoke", token_id).startswith(f"token #{token_id}")
    _ok(settings, "staff", "deactivate", "op.gangnam")
    assert not _staff(settings, "op.gangnam").active
    listed = [json.loads(line) for line in _ok(settings, "staff", "list", "--all", "--json").splitlines()]
    assert [(s["username"], s["active"]) for s in listed] == [("op.gangnam", False)]

    # Every change is on the audit trail, made by the command line's user, with before and after, no password.
    changes = [e for e in _audit(settings) if e.action != "read"]
    assert [e.action for e in changes] == [
        "org_unit.created", "org_unit.created", "staff.created", "staff.changed", "staff.password_reset",
        "token.issued", "token.issued", "token.revoked", "staff.deactivated",
    ]  # fmt: skip
    assert all(e.username.startswith("cli:") and e.staff_id is None for e in changes)
    role_change = next(e for e in changes if e.action == "staff.changed")
    detail: dict[str, Any] = role_change.detail or {}
    assert "operator" in json.dumps(detail) and "center_manager" in json.dumps(detail)
    everything = json.dumps([e.detail for e in changes], ensure_ascii=False)
    assert "second-password-2" not in everything and "$argon2" not in everything
    assert token not in everything and len(token) > 20  # the token is printed once, never kept in the trail
    labels = [e.detail["label"] for e in changes if e.action == "token.issued" and e.detail]
    assert labels == ["crm-sync", "cli"]


def test_bad_command_line_input_is_refused_with_a_reason_and_changes_nothing(cli_settings: Settings) -> None:
    settings = cli_settings
    before = len(_audit(settings))

    unknown_parent = _hotline(settings, "org-unit", "add", "BUSAN", "부산", "--parent", "NOWHERE")
    assert unknown_parent.returncode != 0 and "NOWHERE" in unknown_parent.stderr
    bad_grade = _hotline(settings, "staff", "add", "x.y", "--name", "김", "--role", "agent", "--unit", "HQ",
                         "--clearance", "9")  # fmt: skip
    assert bad_grade.returncode != 0 and "clearance" in bad_grade.stderr
    short = _hotline(settings, "passwd", "nobody", stdin="short\n")
    assert short.returncode != 0 and "characters" in short.stderr
    unknown_staff = _hotline(settings, "passwd", "nobody", stdin="long-enough-password\n")
    assert unknown_staff.returncode != 0 and "nobody" in unknown_staff.stderr
    assert len(_audit(settings)) == before
    assert [line for line in _ok(settings, "staff", "list", "--all").splitlines() if line] == []
