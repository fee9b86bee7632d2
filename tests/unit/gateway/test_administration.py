"""Administration from the API and the console: org units and staff within the administrator's part of the
organisation, clear refusals, every change in the audit trail, and the audit trail as an auditor queries it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from crm_store.audit import AuditEntry
from crm_store.db import session_scope
from crm_store.org.auth import MAX_FAILURES
from crm_store.org.staff import issue_token
from crm_store.org.tables import ApiToken, LoginLockout, LoginSession, OrgUnit, Staff
from tests.review_helpers import CSRF, PASSWORD, World

LOCKED_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)  # a lock that only a reset lifts


async def _login(client: Any, username: str, password: str = PASSWORD) -> str | None:
    """Sign in through the form; the session's CSRF token, or None when refused."""
    form = await (await client.get("/console/login")).text()
    answer = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": CSRF.search(form)[1]},  # type: ignore[index]
    )
    # An agent lands at the desk, everyone else at the review queue.
    if answer.status != 200 or not str(answer.url).endswith(("/console/queue", "/console/desk")):
        return None
    return CSRF.search(await answer.text())[1]  # type: ignore[index]


def _changes(engine: Any, action: str) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


async def test_an_administrator_opens_units_in_their_own_subtree(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    body = {"code": "seoul-gangnam-banpo", "name": "반포지점", "parent_id": world.units["SEOUL-GANGNAM"]}
    answer = await client.post("/api/v1/org-units", json=body, headers=world.auth("admin.gangnam"))
    assert answer.status == 201, await answer.text()
    unit = await answer.json()
    assert (unit["code"], unit["level"], unit["parent_id"], unit["active"]) == (
        "SEOUL-GANGNAM-BANPO", 3, world.units["SEOUL-GANGNAM"], True)  # fmt: skip
    assert unit["path"] == f"{world.paths[world.units['SEOUL-GANGNAM']]}{unit['id']}/"
    listed = await (await client.get("/api/v1/org-units", headers=world.auth("agent.seocho"))).json()
    assert unit["id"] in {u["id"] for u in listed["items"]}
    (entry,) = _changes(engine, "org_unit.created")
    assert (entry.username, entry.org_unit_id, entry.target) == ("admin.gangnam", unit["id"], f"org_unit:{unit['id']}")
    assert entry.detail == {"code": "SEOUL-GANGNAM-BANPO", "name": "반포지점", "level": 3,
                            "parent_id": world.units["SEOUL-GANGNAM"]}  # fmt: skip

    # Clear answers: invalid fields 422, a code taken 409, not an administrator 403, outside the subtree 403.
    bad = await client.post(
        "/api/v1/org-units",
        json={"code": "반포!", "name": " ", "parent_id": world.units["SEOUL-GANGNAM"]},
        headers=world.auth("admin.gangnam"),
    )
    assert bad.status == 422
    assert set((await bad.json())["fields"]) == {"code", "name"}
    too_deep = {"code": "SEOCHO-X", "name": "하위", "parent_id": world.units["SEOUL-GANGNAM-SEOCHO"]}
    answer = await client.post("/api/v1/org-units", json=too_deep, headers=world.auth("admin.gangnam"))
    assert answer.status == 422 and "parent_id" in (await answer.json())["fields"]
    assert (await client.post("/api/v1/org-units", json=body, headers=world.auth("admin.gangnam"))).status == 409
    busan = {"code": "BUSAN-DONGBU-X", "name": "기장지점", "parent_id": world.units["BUSAN-DONGBU"]}
    assert (await client.post("/api/v1/org-units", json=busan, headers=world.auth("admin.gangnam"))).status == 403
    assert (await client.post("/api/v1/org-units", json=busan, headers=world.auth("center_manager.hq"))).status == 403
    # Renaming: only units below one's own.
    rename = {"name": "서초반포지점"}
    seocho = world.units["SEOUL-GANGNAM-SEOCHO"]
    path = f"/api/v1/org-units/{seocho}"
    assert (await client.patch(path, json=rename, headers=world.auth("admin.seocho"))).status == 403
    answer = await client.patch(path, json=rename, headers=world.auth("admin.gangnam"))
    assert answer.status == 200 and (await answer.json())["name"] == "서초반포지점"
    assert _changes(engine, "org_unit.renamed")[0].detail == {"name": ["서초구지점", "서초반포지점"]}
    assert (await client.patch(path, json={}, headers=world.auth("admin.gangnam"))).status == 422


async def test_a_unit_closes_only_when_nothing_depends_on_it(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    hq = world.auth("admin.hq")
    unit = await (
        await client.post(
            "/api/v1/org-units", json={"code": "BUSAN-NEW", "name": "신설지점", "parent_id": world.units["BUSAN"]},
            headers=hq)
    ).json()  # fmt: skip
    staff = await client.post(
        "/api/v1/staff",
        json={"username": "agent.new", "full_name": "신입", "role": "agent", "org_unit_id": unit["id"],
              "clearance": 1},
        headers=hq,
    )  # fmt: skip
    assert staff.status == 201
    member = await staff.json()
    assert member["has_password"] is False and member["active"] is True
    closing = await client.patch(f"/api/v1/org-units/{unit['id']}", json={"active": False}, headers=hq)
    assert closing.status == 409 and "active staff" in (await closing.json())["fields"]["active"]
    assert (await client.patch(f"/api/v1/staff/{member['id']}", json={"active": False}, headers=hq)).status == 200
    closed = await client.patch(f"/api/v1/org-units/{unit['id']}", json={"active": False}, headers=hq)
    assert closed.status == 200 and (await closed.json())["active"] is False
    # A closed unit takes no staff and no units; the unit owning customers cannot close.
    answer = await client.patch(f"/api/v1/staff/{member['id']}", json={"active": True}, headers=hq)
    assert answer.status == 200  # reactivated where they were: allowed, the unit is only closed to newcomers
    again = {"username": "agent.new2", "full_name": "신입", "role": "agent", "org_unit_id": unit["id"], "clearance": 1}
    answer = await client.post("/api/v1/staff", json=again, headers=hq)
    assert answer.status == 422 and "org_unit_id" in (await answer.json())["fields"]
    seocho = world.units["SEOUL-GANGNAM-SEOCHO"]
    answer = await client.patch(f"/api/v1/org-units/{seocho}", json={"active": False}, headers=hq)
    assert answer.status == 409 and "customers" in (await answer.json())["fields"]["active"]
    assert [e.action for e in _changes(engine, "org_unit.deactivated")] == ["org_unit.deactivated"]


async def test_staff_are_created_and_changed_within_scope_and_grade(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    seoul = world.auth("admin.seoul")
    seocho, gangnam = world.units["SEOUL-GANGNAM-SEOCHO"], world.units["SEOUL-GANGNAM"]
    body = {"username": "op.seocho.2", "full_name": "김운영", "role": "operator",
            "org_unit_id": seocho, "clearance": 2, "password": "first-password"}  # fmt: skip
    answer = await client.post("/api/v1/staff", json=body, headers=seoul)
    assert answer.status == 201, await answer.text()
    member = await answer.json()
    assert "password" not in member and "password_hash" not in member and member["has_password"] is True
    assert await _login(client, "op.seocho.2", "first-password") is not None
    client.session.cookie_jar.clear()
    # Refusals: taken username 409; bad fields 422; clearance above one's own 403; outside the subtree 403.
    assert (await client.post("/api/v1/staff", json=body, headers=seoul)).status == 409
    answer = await client.post(
        "/api/v1/staff", json={**body, "username": "X Y", "role": "boss", "clearance": 9, "password": "short"},
        headers=seoul)  # fmt: skip
    assert answer.status == 422
    assert set((await answer.json())["fields"]) == {"username", "role", "clearance", "password"}
    high = {**body, "username": "op.high", "clearance": 5}
    assert (await client.post("/api/v1/staff", json=high, headers=world.auth("admin.seocho"))).status == 201
    with session_scope(engine) as session:
        session.add(Staff(username="admin.low", full_name="관리자", role="admin", clearance=3,
                          org_unit_id=world.units["SEOUL-GANGNAM-SEOCHO"]))  # fmt: skip
        session.flush()
        low = {"Authorization": f"Bearer {issue_token(session, username='admin.low')}"}
    assert (await client.post("/api/v1/staff", json={**high, "username": "op.higher"}, headers=low)).status == 403
    busan = {**body, "username": "op.busan.2", "org_unit_id": world.units["BUSAN"]}
    assert (await client.post("/api/v1/staff", json=busan, headers=seoul)).status == 403
    assert (await client.post("/api/v1/staff", json=busan, headers=world.auth("executive.hq"))).status == 403

    # Changes: role, unit and grade; out of scope is not found; one's own role is someone else's to change.
    path = f"/api/v1/staff/{member['id']}"
    answer = await client.patch(
        path, json={"role": "center_manager", "clearance": 3, "org_unit_id": world.units["SEOUL-GANGNAM"]},
        headers=seoul)  # fmt: skip
    assert answer.status == 200
    changed = await answer.json()
    assert (changed["role"], changed["clearance"], changed["org_unit_id"]) == (
        "center_manager", 3, world.units["SEOUL-GANGNAM"])  # fmt: skip
    (entry,) = _changes(engine, "staff.changed")
    assert entry.detail == {"role": ["operator", "center_manager"], "clearance": [2, 3],
                            "org_unit_id": [seocho, gangnam]}  # fmt: skip
    haeundae = world.staff["operator.haeundae"]["id"]
    assert (await client.patch(f"/api/v1/staff/{haeundae}", json={"clearance": 1}, headers=seoul)).status == 404
    own = world.staff["admin.seoul"]["id"]
    assert (await client.patch(f"/api/v1/staff/{own}", json={"role": "agent"}, headers=seoul)).status == 403
    assert (await client.patch(f"/api/v1/staff/{own}", json={"role": "agent"},
                               headers=world.auth("admin.hq"))).status == 200  # fmt: skip
    # The last head-office administrator stays one.
    hq_admin = world.staff["admin.hq"]["id"]
    with session_scope(engine) as session:
        session.add(Staff(username="admin.hq.2", full_name="관리자", role="admin", org_unit_id=world.units["HQ"],
                          clearance=5))  # fmt: skip
    second = world.auth("admin.hq")
    answer = await client.patch(f"/api/v1/staff/{hq_admin}", json={"active": False}, headers=second)
    assert answer.status == 403  # one's own status
    with session_scope(engine) as session:
        session.exec(select(Staff).where(Staff.username == "admin.hq.2")).one().active = False
    assert (await client.patch(path, json={"clearance": 9}, headers=seoul)).status == 422


async def test_deactivation_and_password_reset_end_sessions(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    agent = world.staff["agent.seocho"]["id"]
    assert await _login(client, "agent.seocho") is not None
    assert (await client.get("/api/v1/review-items", headers=world.auth("agent.seocho"))).status == 200
    answer = await client.patch(f"/api/v1/staff/{agent}", json={"active": False}, headers=world.auth("admin.gangnam"))
    assert answer.status == 200 and (await answer.json())["active"] is False
    # Their console session is over, their API token revoked (reactivation does not bring either back).
    assert (await client.get("/console/queue", allow_redirects=False)).status == 303
    client.session.cookie_jar.clear()
    await client.patch(f"/api/v1/staff/{agent}", json={"active": True}, headers=world.auth("admin.gangnam"))
    assert (await client.get("/api/v1/review-items", headers=world.auth("agent.seocho"))).status == 401
    assert [e.username for e in _changes(engine, "staff.deactivated")] == ["admin.gangnam"]
    assert [e.detail for e in _changes(engine, "staff.reactivated")] == [{"active": [False, True]}]

    # A reset lifts a lockout, ends the staff member's sessions and revokes their API tokens.
    operator = world.staff["operator.seocho"]["id"]
    assert await _login(client, "operator.seocho") is not None
    assert (await client.get("/api/v1/review-items", headers=world.auth("operator.seocho"))).status == 200
    with session_scope(engine) as session:
        session.merge(LoginLockout(staff_id=operator, failures=MAX_FAILURES, locked_until=LOCKED_UNTIL))
    reset = f"/api/v1/staff/{operator}/password"
    short = await client.post(reset, json={"password": "short"}, headers=world.auth("admin.seoul"))
    assert short.status == 422 and "password" in (await short.json())["fields"]
    assert (await client.post(reset, json={"password": "new-password-1"}, headers=world.auth("agent.hq"))).status == 403
    answer = await client.post(reset, json={"password": "new-password-1"}, headers=world.auth("admin.seoul"))
    assert answer.status == 200
    assert (await client.get("/api/v1/review-items", headers=world.auth("operator.seocho"))).status == 401
    with session_scope(engine) as session:
        assert session.get(LoginLockout, operator) is None
        live = session.exec(select(LoginSession).where(LoginSession.staff_id == operator,
                                                       LoginSession.ended_at.is_(None))).all()  # type: ignore[union-attr]  # fmt: skip
        assert live == []
    client.session.cookie_jar.clear()
    assert await _login(client, "operator.seocho") is None
    assert await _login(client, "operator.seocho", "new-password-1") is not None
    (entry,) = _changes(engine, "staff.password_reset")
    assert entry.detail == {"password": "reset"} and "new-password-1" not in str(entry.detail)


async def test_auditors_query_the_trail_of_their_part_of_the_organisation(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    await client.get(f"/api/v1/customers/{world.customers['inside']}", headers=world.auth("agent.seocho"))
    await client.get(f"/api/v1/customers/{world.customers['outside']}", headers=world.auth("operator.haeundae"))
    await client.post("/api/v1/staff", json={"username": "agent.haeundae.2", "full_name": "부산", "role": "agent",
                      "org_unit_id": world.units["BUSAN-DONGBU-HAEUNDAE"], "clearance": 1},
                      headers=world.auth("admin.hq"))  # fmt: skip

    async def trail(asker: str, **query: str) -> Any:
        return await client.get("/api/v1/audit", params=query, headers=world.auth(asker))

    everything = await (await trail("executive.hq")).json()
    users = {e["username"] for e in everything["items"]}
    assert {"agent.seocho", "operator.haeundae", "admin.hq"} <= users
    seoul = await (await trail("executive.seoul")).json()
    assert {e["customer_id"] for e in seoul["items"]} == {world.customers["inside"]}
    assert "operator.haeundae" not in {e["username"] for e in seoul["items"]}
    busan_changes = await (await trail("executive.hq", action="change")).json()
    # The world's two listings (by admin.hq, one per province) are changes of customers' records too.
    assert [e["action"] for e in busan_changes["items"]] == ["staff.created", "blacklist_propose", "blacklist_propose"]
    seoul_changes = (await (await trail("executive.seoul", action="change")).json())["items"]
    inside = world.customers["inside"]
    assert [(e["action"], e["customer_id"]) for e in seoul_changes] == [("blacklist_propose", inside)]
    by_person = await (await trail("admin.hq", username="agent.seocho", since="2000-01-01", until="2999-12-31")).json()
    assert {e["username"] for e in by_person["items"]} == {"agent.seocho"} and by_person["items"]
    assert (await (await trail("admin.hq", until="2000-01-01")).json())["items"] == []
    paged = await (await trail("executive.hq", limit="1")).json()
    assert len(paged["items"]) == 1 and "before=" in paged["next"] and "limit=1" in paged["next"]
    # A center manager reads one customer's trail only; an agent none; malformed filters are 400.
    assert (await trail("agent.seocho")).status == 403
    assert (await trail("agent.seocho", customer_id=str(world.customers["inside"]))).status == 403
    assert (await trail("center_manager.seocho")).status == 403
    assert (await trail("center_manager.seocho", customer_id=str(world.customers["inside"]))).status == 200
    assert (await trail("admin.hq", since="yesterday")).status == 400
    assert (await trail("admin.hq", customer_id="x")).status == 400


async def test_console_administration_and_audit_pages(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    csrf = await _login(client, "admin.gangnam")
    assert csrf is not None
    listing = await client.get("/console/admin/staff")
    assert listing.status == 200
    text = await listing.text()
    assert "agent.seocho" in text and "operator.haeundae" not in text and "admin.seoul" not in text
    form = {"username": "agent.seocho.2", "full_name": "이상담", "role": "agent",
            "org_unit_id": str(world.units["SEOUL-GANGNAM-SEOCHO"]), "clearance": "1", "password": "console-pass-1",
            "csrf_token": csrf}  # fmt: skip
    answer = await client.post("/console/admin/staff", data=form, allow_redirects=False)
    assert answer.status == 303
    member_page = answer.headers["Location"]
    page = await (await client.get(member_page)).text()
    assert "이상담" in page and "직원 등록" in page  # its change history
    # An invalid form comes back with its reason; without the CSRF token nothing happens.
    answer = await client.post("/console/admin/staff", data={**form, "username": "agent.seocho.3", "clearance": "9"})
    assert answer.status == 400 and "clearance" in await answer.text()
    no_csrf = {k: v for k, v in form.items() if k != "csrf_token"}
    assert (await client.post("/console/admin/staff", data={**no_csrf, "username": "agent.x"})).status == 403
    staff_id = int(member_page.rsplit("/", 1)[1])
    answer = await client.post(f"/console/admin/staff/{staff_id}", data={"active": "0", "csrf_token": csrf})
    assert answer.status == 200 and "비활성" in await answer.text()
    answer = await client.post(
        "/console/admin/org-units",
        data={"parent_id": str(world.units["SEOUL-GANGNAM"]), "code": "SEOUL-GANGNAM-JAMWON", "name": "잠원지점",
              "csrf_token": csrf},
    )  # fmt: skip
    assert answer.status == 200 and "SEOUL-GANGNAM-JAMWON" in await answer.text()
    with session_scope(engine) as session:
        assert session.exec(select(OrgUnit).where(OrgUnit.code == "SEOUL-GANGNAM-JAMWON")).one().level == 3
    audit = await client.get("/console/audit", params={"action": "change"})
    text = await audit.text()
    assert audit.status == 200 and "직원 등록" in text and "조직 신설" in text and "비활성화" in text
    assert "full_name" not in text and "org_unit_id" not in text and "보안 등급" in text  # field names in Korean
    client.session.cookie_jar.clear()
    # Not an administrator: refused; an executive reads the audit trail.
    await _login(client, "center_manager.gangnam")
    assert (await client.get("/console/admin/staff")).status == 403
    assert (await client.get("/console/audit")).status == 403
    client.session.cookie_jar.clear()
    await _login(client, "executive.seoul")
    audit = await client.get("/console/audit")
    assert audit.status == 200 and "admin.gangnam" in await audit.text()
    assert (await client.get("/console/admin/org-units")).status == 403


async def test_no_staff_operation_reaches_a_grade_above_the_administrators(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    seocho = world.units["SEOUL-GANGNAM-SEOCHO"]
    # The grade-5 administrator of the county branch makes a grade-1 administrator there.
    low = {"username": "admin.low", "full_name": "하급관리", "role": "admin", "org_unit_id": seocho,
           "clearance": 1, "password": "low-password-1"}  # fmt: skip
    assert (await client.post("/api/v1/staff", json=low, headers=world.auth("admin.seocho"))).status == 201
    with session_scope(engine) as session:
        as_low = {"Authorization": f"Bearer {issue_token(session, username='admin.low')}"}
        tokens = {
            name: session.exec(select(ApiToken.id).where(ApiToken.staff_id == world.staff[name]["id"])).first()
            for name in ("admin.seocho", "executive.seocho")
        }
    for name in ("admin.seocho", "executive.seocho"):  # grades 5 and 4, both in admin.low's unit
        target = world.staff[name]["id"]
        path = f"/api/v1/staff/{target}"
        answers = {
            "reset": await client.post(f"{path}/password", json={"password": "taken-over-1"}, headers=as_low),
            "rename": await client.patch(path, json={"full_name": "탈취"}, headers=as_low),
            "deactivate": await client.patch(path, json={"active": False}, headers=as_low),
            "reactivate": await client.patch(path, json={"active": True}, headers=as_low),
            "demote": await client.patch(path, json={"clearance": 1}, headers=as_low),
            "revoke token": await client.delete(f"/api/v1/tokens/{tokens[name]}", headers=as_low),
        }
        assert {what: answer.status for what, answer in answers.items()} == dict.fromkeys(answers, 403), name
        assert (await client.get("/api/v1/review-items", headers=world.auth(name))).status == 200
    # Creating above one's grade is refused as before.
    high = {**low, "username": "op.high", "role": "operator", "clearance": 2}
    assert (await client.post("/api/v1/staff", json=high, headers=as_low)).status == 403

    # The same refusals from the console pages.
    csrf = await _login(client, "admin.low", "low-password-1")
    assert csrf is not None
    for name in ("admin.seocho", "executive.seocho"):
        target = world.staff[name]["id"]
        reset = await client.post(
            f"/console/admin/staff/{target}/password", data={"password": "taken-over-1", "csrf_token": csrf}
        )
        assert reset.status == 403, name
        for form in ({"active": "0"}, {"full_name": "탈취"}, {"clearance": "1"}):
            answer = await client.post(f"/console/admin/staff/{target}", data={**form, "csrf_token": csrf})
            assert answer.status == 403, (name, form)
    answer = await client.post(
        "/console/admin/staff",
        data={**{k: str(v) for k, v in high.items()}, "username": "op.high.2", "csrf_token": csrf},
    )
    assert answer.status == 403
    client.session.cookie_jar.clear()

    # Nothing changed: the targets still sign in with their own password and keep their names and grades.
    assert await _login(client, "admin.seocho") is not None
    client.session.cookie_jar.clear()
    assert await _login(client, "executive.seocho") is not None
    client.session.cookie_jar.clear()
    with session_scope(engine) as session:
        for name in ("admin.seocho", "executive.seocho"):
            member = session.get(Staff, world.staff[name]["id"])
            assert member is not None
            grade = world.staff[name]["clearance"]
            assert (member.full_name, member.clearance, member.active) == ("홍길동", grade, True)
    assert _changes(engine, "staff.password_reset") == []
    assert _changes(engine, "token.revoked") == []
    # Within their grade the grade-1 administrator does reset a password (and the agent's API token dies with it).
    agent = world.staff["agent.seocho"]["id"]
    answer = await client.post(f"/api/v1/staff/{agent}/password", json={"password": "agent-new-pass"}, headers=as_low)
    assert answer.status == 200
    assert (await client.get("/api/v1/review-items", headers=world.auth("agent.seocho"))).status == 401
