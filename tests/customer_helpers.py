"""A small organisation for customer tests: two provinces with a city and a county each, staff and tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from crm_store.db import make_engine, session_scope
from crm_store.org.staff import issue_token
from crm_store.org.tables import OrgUnit, Staff
from gateway.app import create_app
from workers.settings import Settings

SECRET = "customer-test-secret-key-0123456789"
RRN = "880315-1234567"  # the registration number of the customer `customer_body` describes
# code, name, level, parent code
UNITS = (
    ("HQ", "본사", 0, None),
    ("SEOUL", "서울지역본부", 1, "HQ"),
    ("SEOUL-GANGNAM", "서울강남지점", 2, "SEOUL"),
    ("SEOUL-GANGNAM-SEOCHO", "서초구지점", 3, "SEOUL-GANGNAM"),
    ("BUSAN", "부산경남지역본부", 1, "HQ"),
    ("BUSAN-DONGBU", "부산동부지점", 2, "BUSAN"),
    ("BUSAN-DONGBU-HAEUNDAE", "해운대구지점", 3, "BUSAN-DONGBU"),
)
# username, role, unit code
STAFF = (
    ("admin", "admin", "HQ"),
    ("agent.hq", "agent", "HQ"),
    ("cm.seoul", "center_manager", "SEOUL"),
    ("cm.gangnam", "center_manager", "SEOUL-GANGNAM"),
    ("agent.seocho", "agent", "SEOUL-GANGNAM-SEOCHO"),
    ("am.seocho", "account_manager", "SEOUL-GANGNAM-SEOCHO"),
    ("am.gangnam", "account_manager", "SEOUL-GANGNAM"),
    ("agent.haeundae", "agent", "BUSAN-DONGBU-HAEUNDAE"),
    ("am.haeundae", "account_manager", "BUSAN-DONGBU-HAEUNDAE"),
    ("cm.busan", "center_manager", "BUSAN"),
)


@dataclass
class Org:
    units: dict[str, int] = field(default_factory=dict)
    staff: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def build_org(engine: Engine) -> Org:
    """The units and staff above, each staff member with an API token."""
    org = Org()
    with session_scope(engine) as session:
        for code, name, level, parent in UNITS:
            unit = OrgUnit(code=code, name=name, level=level, parent_id=org.units.get(parent or ""))
            session.add(unit)
            session.flush()
            parent_path = "/" if parent is None else session.get(OrgUnit, org.units[parent]).path  # type: ignore[union-attr]
            unit.path = f"{parent_path}{unit.id}/"
            session.add(unit)
            org.units[code] = int(unit.id)  # type: ignore[arg-type]
        for username, role, code in STAFF:
            # Cleared for the graded fields: these tests are about the picture, not the masking.
            staff = Staff(username=username, full_name="홍길동", role=role, org_unit_id=org.units[code], clearance=3)
            session.add(staff)
            session.flush()
            org.staff[username] = int(staff.id)  # type: ignore[arg-type]
        for username, *_ in STAFF:
            org.tokens[username] = issue_token(session, username=username)
    return org


def customer_body(org: Org, unit: str, **body: Any) -> dict[str, Any]:
    """The request body of a new customer at `unit`: the individual 김민준 with one mobile number and RRN; `body`
    overrides or adds fields."""
    return {
        "kind": "individual",
        "name": "김민준",
        "phones": ["010-1234-5678"],
        "registration_number": RRN,
        "org_unit_id": org.units[unit],
        **body,
    }


async def post_customer(client: Any, org: Org, user: str, unit: str, **body: Any) -> Any:
    """`user` posts `customer_body(org, unit, **body)` to the customer API; the answer, whatever its status."""
    return await client.post("/api/v1/customers", json=customer_body(org, unit, **body), headers=org.auth(user))


async def create_customer(client: Any, org: Org, user: str, unit: str, **body: Any) -> dict[str, Any]:
    """A customer created through the API by `user` (anything but 201 fails the test); its picture."""
    answer = await post_customer(client, org, user, unit, **body)
    assert answer.status == 201, await answer.text()
    return dict(await answer.json())


@asynccontextmanager
async def gateway_on(aiohttp_client: Any, database_url: str, data_dir: Any) -> AsyncIterator[tuple[Engine, Org, Any]]:
    """The gateway (no embedded worker) on `database_url` with the test organisation: its engine, the organisation
    and a client."""
    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(data_dir)}
    )
    engine = make_engine(database_url)
    try:
        org = build_org(engine)
        yield engine, org, await aiohttp_client(create_app(settings, embedded_worker=False))
    finally:
        engine.dispose()
