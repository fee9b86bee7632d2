"""Administration from the command line: org units, staff, passwords and API tokens.

The command line is the server's operator: it may change any unit or staff member. Each change goes through the
same store functions as the console (same checks, same audit trail), recorded as `cli:<operating-system user>`.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from gateway.cli.errors import CommandFailed
from workers.settings import Settings

Result = TypeVar("Result")
ROLES = ("agent", "operator", "center_manager", "account_manager", "dispatcher", "surveyor", "executive", "admin")


def operator_name() -> str:
    """How the audit trail names a change made from the command line: `cli:` and the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"[:64]


def _operator() -> Any:
    from crm_store.org.admin import CommandLine

    return CommandLine(username=operator_name())


def _run(settings: Settings, command: str, work: Callable[[Any], Awaitable[Result]]) -> Result:
    """Run `work(session)` in one transaction on the configured database; store errors end the command."""
    from crm_store.db import async_session_factory, async_session_scope, make_async_engine
    from crm_store.errors import StoreError
    from crm_store.validation import InvalidInput

    async def main() -> Result:
        engine = make_async_engine(settings.async_db_url, pool_size=1)
        try:
            async with async_session_scope(async_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, p['loc'])) or 'input'}: {p['msg']}" for p in err.errors())
        raise CommandFailed(f"hotline {command}: {problems}") from err
    except InvalidInput as err:
        details = "; ".join(f"{name}: {problem}" for name, problem in err.fields.items())
        raise CommandFailed(f"hotline {command}: {err} ({details})") from err
    except StoreError as err:
        raise CommandFailed(f"hotline {command}: {err}") from err


def _read_password(command: str) -> str:
    from crm_store.org.auth import MIN_PASSWORD_LENGTH

    if sys.stdin.isatty():
        password = getpass.getpass("새 비밀번호: ")
        if getpass.getpass("다시 입력: ") != password:
            raise CommandFailed(f"hotline {command}: the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CommandFailed(f"hotline {command}: a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


# -- org units -------------------------------------------------------------------------------------


def list_org_units(settings: Settings, *, as_json: bool) -> None:
    """The organisation tree, indented by level (or one JSON object per unit)."""
    from crm_store.org import admin

    async def listing(session: Any) -> list[dict[str, Any]]:
        return [admin.unit_public(u).wire() for u in await admin.org_units(session)]

    for unit in _run(settings, "org-unit list", listing):
        if as_json:
            print(json.dumps(unit, ensure_ascii=False))
        else:
            state = "" if unit["active"] else "  (closed)"
            print(f"{'  ' * unit['level']}{unit['code']}\t{unit['name']}\t#{unit['id']}{state}")


def change_org_unit(
    settings: Settings, action: str, code: str, *, name: str | None = None, parent: str | None = None
) -> None:
    """Add, rename, deactivate or reactivate a unit (audited), and print what it is now."""
    from crm_store.org import admin
    from crm_store.types import utcnow

    actor = _operator()

    async def change(session: Any) -> Any:
        if action == "add":
            parent_id = await admin.unit_id_of(session, parent or "")
            data = admin.OrgUnitCreate.model_validate({"code": code, "name": name, "parent_id": parent_id})
            return await admin.create_org_unit(session, actor, data, now=utcnow())
        unit_id = await admin.unit_id_of(session, code)
        wanted: dict[str, Any] = {"name": name} if action == "rename" else {"active": action == "reactivate"}
        return await admin.update_org_unit(
            session, actor, unit_id, admin.OrgUnitUpdate.model_validate(wanted), now=utcnow()
        )

    changed = _run(settings, f"org-unit {action}", change)
    state = "open" if changed.active else "closed"
    print(f"{changed.code} {changed.name}: level {changed.level}, {state} (#{changed.id})")


# -- staff -----------------------------------------------------------------------------------------


def _describe(staff: Any) -> str:
    state = "active" if staff.active else "inactive"
    fields = (staff.username, staff.full_name, staff.role, f"unit #{staff.org_unit_id}", f"grade {staff.clearance}")
    return "\t".join((*fields, state))


def list_staff(settings: Settings, *, unit: str | None, role: str | None, active: bool | None, as_json: bool) -> None:
    """Staff by unit then username (`active` None: active and deactivated)."""
    from crm_store.org import admin
    from crm_store.org.tables import Role

    actor = _operator()

    async def listing(session: Any) -> list[Any]:
        unit_id = await admin.unit_id_of(session, unit) if unit else None
        return await admin.staff_directory(
            session, actor, org_unit_id=unit_id, role=Role(role) if role else None, active=active, limit=100_000
        )

    for staff in _run(settings, "staff list", listing):
        print(json.dumps(admin.staff_public(staff).wire(), ensure_ascii=False) if as_json else _describe(staff))


def add_staff(
    settings: Settings,
    username: str,
    *,
    name: str,
    role: str,
    unit: str,
    clearance: int,
    password_stdin: bool,
) -> None:
    """A new staff member (with a first password read from stdin if asked), audited."""
    from crm_store.org import admin
    from crm_store.org.auth import hash_password
    from crm_store.types import utcnow

    actor = _operator()
    password_hash = hash_password(_read_password("staff add")) if password_stdin else None

    async def add(session: Any) -> Any:
        unit_id = await admin.unit_id_of(session, unit)
        data = admin.StaffCreate.model_validate(
            {"username": username, "full_name": name, "role": role, "org_unit_id": unit_id, "clearance": clearance}
        )
        return await admin.create_staff(session, actor, data, password_hash=password_hash, now=utcnow())

    print(_describe(_run(settings, "staff add", add)))


def change_staff(
    settings: Settings,
    action: str,
    username: str,
    *,
    name: str | None = None,
    role: str | None = None,
    unit: str | None = None,
    clearance: int | None = None,
) -> None:
    """Set name, role, unit or grade, or deactivate or reactivate a staff member (audited)."""
    from crm_store.org import admin
    from crm_store.types import utcnow

    actor = _operator()

    async def change(session: Any) -> Any:
        staff_id = await admin.staff_id_of(session, username)
        wanted: dict[str, Any] = {}
        if action == "set":
            if name is not None:
                wanted["full_name"] = name
            if role is not None:
                wanted["role"] = role
            if unit is not None:
                wanted["org_unit_id"] = await admin.unit_id_of(session, unit)
            if clearance is not None:
                wanted["clearance"] = clearance
        else:
            wanted["active"] = action == "reactivate"
        update = admin.StaffUpdate.model_validate(wanted)
        return await admin.update_staff(session, actor, staff_id, update, now=utcnow())

    print(_describe(_run(settings, f"staff {action}", change)))


def set_password(settings: Settings, username: str) -> None:
    """Set a staff member's console password (read twice from the terminal, or one line of stdin); audited."""
    from crm_store.org import admin
    from crm_store.org.auth import hash_password
    from crm_store.types import utcnow

    password_hash = hash_password(_read_password("passwd"))
    actor = _operator()

    async def reset(session: Any) -> Any:
        staff_id = await admin.staff_id_of(session, username)
        return await admin.reset_password(session, actor, staff_id, password_hash=password_hash, now=utcnow())

    _run(settings, "passwd", reset)
    print(f"password set for {username}")


# -- API tokens ------------------------------------------------------------------------------------


def issue_token(settings: Settings, username: str, *, label: str) -> None:
    """Print a new API token for a staff member (its id on stderr); audited without the token."""
    from sqlmodel import col, select

    from crm_store.audit import AuditEntry
    from crm_store.customers.identity import token_hash
    from crm_store.db import make_engine, session_scope
    from crm_store.errors import NotFound
    from crm_store.org.staff import issue_token
    from crm_store.org.tables import ApiToken, Staff

    operator = operator_name()
    engine = make_engine(settings.sync_db_url)
    try:
        with session_scope(engine) as session:
            token = issue_token(session, username=username, label=label)
            session.flush()
            token_id = session.exec(select(col(ApiToken.id)).where(col(ApiToken.token_hash) == token_hash(token))).one()
            holder = session.exec(select(Staff).where(col(Staff.username) == username)).one()
            # Who issued which token to whom is on the audit trail like a revocation (never the token itself).
            session.add(
                AuditEntry(
                    username=operator,
                    action="token.issued",
                    fields=["label", "token_id"],
                    target=f"staff:{holder.id}",
                    org_unit_id=holder.org_unit_id,
                    detail={"token_id": token_id, "label": label},
                )
            )
    except NotFound as err:
        raise CommandFailed(f"hotline token: {err}") from err
    finally:
        engine.dispose()
    print(token)
    print(f"token #{token_id} for {username} (revoke: hotline token revoke {token_id})", file=sys.stderr)


def revoke_token(settings: Settings, token_id: int) -> None:
    """Revoke any staff member's API token (audited). A running gateway stops accepting it within its token
    cache's few seconds."""
    from crm_store.org import auth
    from crm_store.types import utcnow

    actor = _operator()

    async def revoke(session: Any) -> tuple[Any, Any]:
        return await auth.revoke_token(session, actor, token_id, now=utcnow())

    token, holder = _run(settings, "token revoke", revoke)
    print(f"token #{token.id} ({token.label}) of {holder.username}: revoked at {token.revoked_at.isoformat()}")
