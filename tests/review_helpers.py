"""An organisation for access and review tests: every role at every level of one province, a second province,
two customers (one in each province), a classified call of each routed to its review queue."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from crm_store.calls.tables import Call
from crm_store.customers.identity import token_hash
from crm_store.customers.tables import Customer, CustomerEvent
from crm_store.db import session_scope
from crm_store.managers.tables import AccountManager, ManagerGrade, ServiceTask
from crm_store.org.auth import hash_password
from crm_store.org.staff import issue_token
from crm_store.org.tables import ApiToken, OrgUnit, Role, Staff
from crm_store.review.routing import route_call
from crm_store.review.tables import ClassificationCorrection, ReviewItem
from crm_store.validation import business_today
from tests.customer_helpers import UNITS  # the same two-province chain

PASSWORD = "hotline-demo"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')  # the token in a console form
LEVEL_SLUG = {0: "hq", 1: "seoul", 2: "gangnam", 3: "seocho"}
BASE_CLEARANCE = {
    Role.AGENT: 1, Role.SURVEYOR: 1, Role.DISPATCHER: 2, Role.ACCOUNT_MANAGER: 2, Role.OPERATOR: 2,
    Role.CENTER_MANAGER: 3, Role.EXECUTIVE: 4, Role.ADMIN: 5,
}  # fmt: skip
INSIDE_NAME, OUTSIDE_NAME = "김안쪽", "박바깥"
INSIDE_RRN, OUTSIDE_RRN = "880315-1234567", "900101-2345678"
BLACKLIST_REASON = "보험사기 혐의 (접근 행렬 시험)"
# A grade-4 field (health details), different for each customer so that a leak names whose.
HEALTH_DETAILS = {"inside": "허리 디스크 수술 (서초 등급 4 시험)", "outside": "목 디스크 시술 (해운대 등급 4 시험)"}
MANAGERS = {"inside": "account_manager.seocho", "outside": "account_manager.haeundae"}
SPARE_TOKEN_HOLDERS = {"inside": "agent.seocho", "outside": "operator.haeundae"}


def call_sid() -> str:
    return "CA" + secrets.token_hex(16)


@dataclass
class World:
    units: dict[str, int] = field(default_factory=dict)
    paths: dict[int, str] = field(default_factory=dict)
    staff: dict[str, dict[str, Any]] = field(default_factory=dict)  # username -> id, role, unit, clearance, token
    customers: dict[str, int] = field(default_factory=dict)  # "inside", "outside"
    calls: dict[str, str] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    claims: dict[str, int] = field(default_factory=dict)  # a claim of each customer
    tasks: dict[str, int] = field(default_factory=dict)  # a service duty of each customer, for its branch's manager
    # "inside", "outside": a spare API token of a staff member of the target's county branch (id, token)
    spare_tokens: dict[str, tuple[int, str]] = field(default_factory=dict)
    # "inside", "outside": a staff member of the target's county branch with no API token and no session, whose
    # password may be reset without revoking anything another probe relies on (the access matrix adds them)
    reset_targets: dict[str, int] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.staff[username]['token']}"}

    def sees_unit(self, username: str, unit_id: int) -> bool:
        return self.paths[unit_id].startswith(self.paths[self.staff[username]["unit"]])


def build_world(engine: Engine) -> World:
    """Units; every role at every level of the Seoul chain; operators and agents in Busan; tokens; passwords."""
    world = World()
    password_hash = hash_password(PASSWORD)
    with session_scope(engine) as session:
        for code, name, level, parent in UNITS:
            unit = OrgUnit(code=code, name=name, level=level, parent_id=world.units.get(parent or ""))
            session.add(unit)
            session.flush()
            parent_path = "/" if parent is None else world.paths[world.units[parent]]
            unit.path = f"{parent_path}{unit.id}/"
            session.add(unit)
            world.units[code] = int(unit.id)  # type: ignore[arg-type]
            world.paths[int(unit.id)] = unit.path  # type: ignore[arg-type]
        plan: list[tuple[str, Role, str]] = []
        for code, _name, level, _parent in UNITS[:4]:
            for role in Role:
                plan.append((f"{role.value}.{LEVEL_SLUG[level]}", role, code))
        plan += [
            ("operator.busan", Role.OPERATOR, "BUSAN"),
            ("operator.haeundae", Role.OPERATOR, "BUSAN-DONGBU-HAEUNDAE"),
            ("account_manager.haeundae", Role.ACCOUNT_MANAGER, "BUSAN-DONGBU-HAEUNDAE"),
        ]
        for username, role, code in plan:
            level = next(lv for c, _n, lv, _p in UNITS if c == code)
            senior = level == 0 or (level == 1 and role in (Role.OPERATOR, Role.CENTER_MANAGER))
            clearance = min(5, BASE_CLEARANCE[role] + int(senior))
            staff = Staff(
                username=username, full_name="홍길동", role=role.value, org_unit_id=world.units[code],
                clearance=clearance, password_hash=password_hash,
            )  # fmt: skip
            session.add(staff)
            session.flush()
            world.staff[username] = {"id": staff.id, "role": role, "unit": world.units[code], "clearance": clearance}
        for username in world.staff:
            world.staff[username]["token"] = issue_token(session, username=username)
    return world


async def add_customers_and_calls(client: Any, world: World, engine: Engine) -> None:
    """Two customers through the API (one in each province), a classified call of each routed, both blacklisted."""
    for key, name, rrn, phone, unit in (
        ("inside", INSIDE_NAME, INSIDE_RRN, "010-1111-2222", "SEOUL-GANGNAM-SEOCHO"),
        ("outside", OUTSIDE_NAME, OUTSIDE_RRN, "010-3333-4444", "BUSAN-DONGBU-HAEUNDAE"),
    ):
        body = {"kind": "individual", "name": name, "phones": [phone], "registration_number": rrn,
                "org_unit_id": world.units[unit]}  # fmt: skip
        answer = await client.post("/api/v1/customers", json=body, headers=world.auth("admin.hq"))
        assert answer.status == 201, await answer.text()
        world.customers[key] = (await answer.json())["id"]
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for key in ("inside", "outside"):
            sid = call_sid()
            world.calls[key] = sid
            session.add(
                Call(
                    call_sid=sid, status="completed", from_number="+821011112222", to_number="+8215881234",
                    customer_id=world.customers[key], started_at=now, ended_at=now, duration=60,
                    transcript="이사를 해서 주소가 바뀌었습니다. 서울시 서초구 반포대로 1 입니다.",
                    type="notification", topic="notification.address_change", urgency="normal",
                    entities=[{"kind": "place", "value": "서울시 서초구 반포대로 1"}],
                    classification={"reasons": ["주소 변경 표현"], "model": "test",
                                    "proposed_changes": [{"field": "address", "value": "서울시 서초구 반포대로 1",
                                                          "evidence": "주소가 바뀌었습니다"}]},
                    pipeline_state="classified",
                )
            )  # fmt: skip
            session.flush()
            route_call(session, sid, now=now)
        for key in ("inside", "outside"):
            item = session.exec(select(ReviewItem).where(ReviewItem.call_sid == world.calls[key])).one()
            world.items[key] = int(item.id)  # type: ignore[arg-type]
    # Listed after routing (a blacklisted customer's call would be lifted to the province by the rules).
    for key in ("inside", "outside"):
        answer = await client.post(
            "/api/v1/blacklist",
            json={"customer_id": world.customers[key], "reason": BLACKLIST_REASON},
            headers=world.auth("admin.hq"),
        )
        assert answer.status == 201, await answer.text()
    await add_claims_and_duties(client, world, engine)


async def add_claims_and_duties(client: Any, world: World, engine: Engine) -> None:
    """A policy and an open claim of each customer (through the API), and a visit due today for the account manager
    of the customer's county branch."""
    today = business_today()
    start = today - timedelta(days=100)
    for key in ("inside", "outside"):
        customer = world.customers[key]
        answer = await client.post(
            f"/api/v1/customers/{customer}/policies",
            json={
                "line": "fire",
                "premium": 500_000,
                "start_date": str(start),
                "end_date": str(start + timedelta(days=365)),
            },
            headers=world.auth("admin.hq"),
        )
        assert answer.status == 201, await answer.text()
        policy = (await answer.json())["id"]
        answer = await client.post(
            f"/api/v1/customers/{customer}/claims",
            json={"policy_id": policy, "occurred_on": str(today - timedelta(days=10)), "status": "open"},
            headers=world.auth("admin.hq"),
        )
        assert answer.status == 201, await answer.text()
        world.claims[key] = (await answer.json())["id"]
    with session_scope(engine) as session:
        for key, manager in (("inside", "account_manager.seocho"), ("outside", "account_manager.haeundae")):
            task = ServiceTask(
                customer_id=world.customers[key], account_manager_id=world.staff[manager]["id"], kind="key_visit",
                due_on=today,
            )  # fmt: skip
            session.add(task)
            session.flush()
            world.tasks[key] = int(task.id)  # type: ignore[arg-type]


async def add_graded_records(client: Any, world: World, engine: Engine) -> None:
    """Graded information where a leak would show: a health entity on each call and health details in each
    customer's profile (grade 4); each customer's account manager, with the event of a new blacklist listing that
    carries its reason (grade 3); an operator's correction of each call (training data); and a spare API token
    of a staff member of each customer's county branch, to revoke."""
    today = date.today()
    with session_scope(engine) as session:
        for key, holder in SPARE_TOKEN_HOLDERS.items():
            token = issue_token(session, username=holder, label="spare")
            session.flush()
            (spare,) = session.exec(select(ApiToken.id).where(col(ApiToken.token_hash) == token_hash(token))).all()
            world.spare_tokens[key] = (int(spare), token)  # type: ignore[arg-type]
        for key in ("inside", "outside"):
            session.add(
                AccountManager(
                    staff_id=world.staff[MANAGERS[key]]["id"], grade=ManagerGrade.JUNIOR, certified_on=today,
                    valid_until=today + timedelta(days=365),
                )
            )  # fmt: skip
            customer = session.get(Customer, world.customers[key])
            assert customer is not None
            customer.profile = {**(customer.profile or {}), "health": HEALTH_DETAILS[key]}
            call = session.exec(select(Call).where(col(Call.call_sid) == world.calls[key])).one()
            health = {"kind": "health", "text": HEALTH_DETAILS[key], "value": HEALTH_DETAILS[key], "start": 0, "end": 1}
            call.entities = [*(call.entities or []), health]
            session.add_all([customer, call])
            session.add(
                ClassificationCorrection(
                    call_sid=call.call_sid, item_id=world.items[key], staff_id=world.staff["operator.seocho"]["id"],
                    predicted={"type": call.type, "topic": call.topic, "entities": call.entities},
                    corrected={"type": "report", "topic": "report.injury", "entities": call.entities},
                    changed=True, model="test",
                )
            )  # fmt: skip
    for key in ("inside", "outside"):
        answer = await client.put(
            f"/api/v1/customers/{world.customers[key]}/account-manager",
            json={"username": MANAGERS[key]},
            headers=world.auth("admin.hq"),
        )
        assert answer.status == 200, await answer.text()
        answer = await client.post(
            "/api/v1/blacklist",
            json={"customer_id": world.customers[key], "reason": BLACKLIST_REASON},
            headers=world.auth("admin.hq"),
        )
        assert answer.status == 201, await answer.text()
    # Events name the entry, not its graded reason; an event that does carry the reason (as events written before
    # approval existed did) must still be masked below the reason's grade: seed one where a leak would show.
    with session_scope(engine) as session:
        for key in ("inside", "outside"):
            session.add(
                CustomerEvent(
                    customer_id=world.customers[key], account_manager_id=world.staff[MANAGERS[key]]["id"],
                    kind="blacklisted", level="critical", reason=f"블랙리스트 등재: {BLACKLIST_REASON}",
                )
            )  # fmt: skip


async def sign_in(page: Any, base: str, username: str) -> None:
    """Sign in on the console's login page, where the queue sends a stranger; the page lands on the queue."""
    await page.goto(f"{base}/console/queue")
    assert page.url.endswith("/console/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/console/queue")


async def console_login(client: Any, username: str) -> str:
    """Sign in through the console's form (a refusal fails the test); the CSRF token of the signed-in pages."""
    form = await (await client.get("/console/login")).text()
    answer = await client.post(
        "/console/login",
        data={"username": username, "password": PASSWORD, "csrf_token": CSRF.search(form)[1]},  # type: ignore[index]
    )
    assert answer.status == 200, await answer.text()
    return CSRF.search(await answer.text())[1]  # type: ignore[index]


async def console_sign_in(client: Any, username: str, password: str = PASSWORD) -> tuple[int, str]:
    """Sign in through the console's form; the status of the POST and the page it leads to (its own when refused)."""
    form = await (await client.get("/console/login")).text()
    answer = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": CSRF.search(form)[1]},  # type: ignore[index]
        allow_redirects=False,
    )
    if answer.status != 303:
        return answer.status, await answer.text()
    return 303, await (await client.get(answer.headers["Location"])).text()
