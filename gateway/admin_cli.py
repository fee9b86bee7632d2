"""`hotline org-unit ...`, `hotline staff ...`, `hotline passwd` and `hotline token revoke`: administration from
the command line.

The command line is the server's operator: it may change any unit or staff member. Each change goes through the
same store functions as the console (same checks, same audit trail), recorded as `cli:<operating-system user>`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from workers.settings import Settings, SettingsError

Result = TypeVar("Result")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as err:
        raise SystemExit(f"hotline: {err}") from err


def operator_name() -> str:
    """How the audit trail names a change made from the command line: `cli:` and the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"[:64]


def _operator() -> Any:
    from crm_store.admin import CommandLine

    return CommandLine(username=operator_name())


def _run(command: str, work: Callable[[Any], Awaitable[Result]]) -> Result:
    """Run `work(session)` in one transaction on the configured database; store errors end the command."""
    from crm_store.db import async_session_factory, async_session_scope, make_async_engine
    from crm_store.errors import StoreError
    from crm_store.validation import InvalidInput

    async def main() -> Result:
        engine = make_async_engine(_settings().async_db_url, pool_size=1)
        try:
            async with async_session_scope(async_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, p['loc'])) or 'input'}: {p['msg']}" for p in err.errors())
        raise SystemExit(f"hotline {command}: {problems}") from err
    except InvalidInput as err:
        details = "; ".join(f"{name}: {problem}" for name, problem in err.fields.items())
        raise SystemExit(f"hotline {command}: {err} ({details})") from err
    except StoreError as err:
        raise SystemExit(f"hotline {command}: {err}") from err


def _read_password(command: str) -> str:
    from crm_store.auth import MIN_PASSWORD_LENGTH

    if sys.stdin.isatty():
        password = getpass.getpass("새 비밀번호: ")
        if getpass.getpass("다시 입력: ") != password:
            raise SystemExit(f"hotline {command}: the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SystemExit(f"hotline {command}: a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


# -- org units -------------------------------------------------------------------------------------


def cmd_org_unit(args: argparse.Namespace) -> int:
    from crm_store import admin
    from crm_store.types import utcnow

    actor = _operator()
    if args.action == "list":

        async def listing(session: Any) -> list[dict[str, Any]]:
            return [admin.unit_public(u) for u in await admin.org_units(session)]

        for unit in _run("org-unit list", listing):
            if args.json:
                print(json.dumps(unit, ensure_ascii=False))
            else:
                state = "" if unit["active"] else "  (closed)"
                print(f"{'  ' * unit['level']}{unit['code']}\t{unit['name']}\t#{unit['id']}{state}")
        return 0

    async def change(session: Any) -> Any:
        if args.action == "add":
            parent = await admin.unit_id_of(session, args.parent)
            data = admin.OrgUnitCreate.model_validate({"code": args.code, "name": args.name, "parent_id": parent})
            return await admin.create_org_unit(session, actor, data, now=utcnow())
        unit_id = await admin.unit_id_of(session, args.code)
        wanted: dict[str, Any] = (
            {"name": args.name} if args.action == "rename" else {"active": args.action == "reactivate"}
        )
        return await admin.update_org_unit(
            session, actor, unit_id, admin.OrgUnitUpdate.model_validate(wanted), now=utcnow()
        )

    changed = _run(f"org-unit {args.action}", change)
    state = "open" if changed.active else "closed"
    print(f"{changed.code} {changed.name}: level {changed.level}, {state} (#{changed.id})")
    return 0


# -- staff -----------------------------------------------------------------------------------------


def _describe(staff: Any) -> str:
    state = "active" if staff.active else "inactive"
    fields = (staff.username, staff.full_name, staff.role, f"unit #{staff.org_unit_id}", f"grade {staff.clearance}")
    return "\t".join((*fields, state))


def cmd_staff(args: argparse.Namespace) -> int:
    from crm_store import admin
    from crm_store.auth import hash_password
    from crm_store.models import Role
    from crm_store.types import utcnow

    actor = _operator()
    command = f"staff {args.action}"
    if args.action == "list":

        async def listing(session: Any) -> list[Any]:
            unit = await admin.unit_id_of(session, args.unit) if args.unit else None
            active = None if args.all else not args.inactive
            role = Role(args.role) if args.role else None
            return await admin.staff_directory(
                session, actor, org_unit_id=unit, role=role, active=active, limit=100_000
            )

        for staff in _run(command, listing):
            print(json.dumps(admin.staff_public(staff), ensure_ascii=False) if args.json else _describe(staff))
        return 0

    password_hash = None
    if args.action == "add" and args.password_stdin:
        password_hash = hash_password(_read_password(command))

    async def change(session: Any) -> Any:
        if args.action == "add":
            unit = await admin.unit_id_of(session, args.unit)
            data = admin.StaffCreate.model_validate(
                {
                    "username": args.username,
                    "full_name": args.name,
                    "role": args.role,
                    "org_unit_id": unit,
                    "clearance": args.clearance,
                }  # fmt: skip
            )
            return await admin.create_staff(session, actor, data, password_hash=password_hash, now=utcnow())
        staff_id = await admin.staff_id_of(session, args.username)
        wanted: dict[str, Any] = {}
        if args.action == "set":
            if args.name is not None:
                wanted["full_name"] = args.name
            if args.role is not None:
                wanted["role"] = args.role
            if args.unit is not None:
                wanted["org_unit_id"] = await admin.unit_id_of(session, args.unit)
            if args.clearance is not None:
                wanted["clearance"] = args.clearance
        else:
            wanted["active"] = args.action == "reactivate"
        update = admin.StaffUpdate.model_validate(wanted)
        return await admin.update_staff(session, actor, staff_id, update, now=utcnow())

    print(_describe(_run(command, change)))
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """Set a staff member's console password (read twice from the terminal, or one line of stdin); audited."""
    from crm_store import admin
    from crm_store.auth import hash_password
    from crm_store.types import utcnow

    password_hash = hash_password(_read_password("passwd"))
    actor = _operator()

    async def reset(session: Any) -> Any:
        staff_id = await admin.staff_id_of(session, args.username)
        return await admin.reset_password(session, actor, staff_id, password_hash=password_hash, now=utcnow())

    _run("passwd", reset)
    print(f"password set for {args.username}")
    return 0


# -- API tokens ------------------------------------------------------------------------------------


def revoke_token(token_id: int) -> int:
    """`hotline token revoke ID`: revoke any staff member's API token (audited). A running gateway stops
    accepting it within its token cache's few seconds."""
    from crm_store import auth
    from crm_store.types import utcnow

    actor = _operator()

    async def revoke(session: Any) -> tuple[Any, Any]:
        return await auth.revoke_token(session, actor, token_id, now=utcnow())

    token, holder = _run("token revoke", revoke)
    print(f"token #{token.id} ({token.label}) of {holder.username}: revoked at {token.revoked_at.isoformat()}")
    return 0


def add_parsers(sub: Any) -> None:
    """Register `org-unit`, `staff` and `passwd` on the `hotline` parser."""
    roles = ["agent", "operator", "center_manager", "account_manager", "dispatcher", "surveyor", "executive", "admin"]

    p = sub.add_parser("org-unit", help="org units: list, add, rename, deactivate, reactivate")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("list", help="the organisation tree")
    q.add_argument("--json", action="store_true", help="one JSON object per unit")
    q = actions.add_parser("add", help="a new unit one level below --parent")
    q.add_argument("code", help="such as SEOUL-GANGNAM-BANPO")
    q.add_argument("name", help="such as 반포지점")
    q.add_argument("--parent", required=True, help="code of the parent unit")
    q = actions.add_parser("rename", help="give a unit a new name")
    q.add_argument("code")
    q.add_argument("name")
    for action, text in (("deactivate", "close a unit (no staff, customers or open review items left)"),
                         ("reactivate", "reopen a closed unit")):  # fmt: skip
        actions.add_parser(action, help=text).add_argument("code")
    p.set_defaults(func=cmd_org_unit)

    p = sub.add_parser("staff", help="staff: list, add, set, deactivate, reactivate")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("list", help="staff, by unit then username")
    q.add_argument("--unit", help="code of one unit")
    q.add_argument("--role", choices=roles)
    state = q.add_mutually_exclusive_group()
    state.add_argument("--inactive", action="store_true", help="only deactivated staff")
    state.add_argument("--all", action="store_true", help="active and deactivated staff")
    q.add_argument("--json", action="store_true", help="one JSON object per staff member")
    q = actions.add_parser("add", help="a new staff member (password: `hotline passwd`, or --password-stdin)")
    q.add_argument("username")
    q.add_argument("--name", required=True, help="full name, such as 홍길동")
    q.add_argument("--role", required=True, choices=roles)
    q.add_argument("--unit", required=True, help="code of the org unit")
    q.add_argument("--clearance", type=int, default=1, help="clearance grade 0 to 5 (default 1)")
    q.add_argument("--password-stdin", action="store_true", help="read the first password from stdin")
    q = actions.add_parser("set", help="change name, role, unit or clearance grade")
    q.add_argument("username")
    q.add_argument("--name")
    q.add_argument("--role", choices=roles)
    q.add_argument("--unit", help="code of the new org unit")
    q.add_argument("--clearance", type=int)
    for action, text in (("deactivate", "sign out everywhere, revoke tokens, refuse sign-in"),
                         ("reactivate", "allow sign-in again")):  # fmt: skip
        actions.add_parser(action, help=text).add_argument("username")
    p.set_defaults(func=cmd_staff)

    p = sub.add_parser("passwd", help="set a staff member's console password (audited; ends their sessions)")
    p.add_argument("username")
    p.set_defaults(func=cmd_passwd)
