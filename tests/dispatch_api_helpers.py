"""The dispatch world (tests.dispatch_helpers) behind the gateway: more staff, API tokens for everyone, and the
application with its clock stopped on the world's business morning."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import Session, select

from crm_store.db import session_scope
from crm_store.org.auth import hash_password
from crm_store.org.staff import issue_token
from crm_store.org.tables import Role, Staff
from gateway.app import create_app
from gateway.desk import CLOCK
from tests.dispatch_helpers import World, kst
from workers.dispatch_messages import TwilioSender, send_due_messages
from workers.settings import Settings

NOW = kst()


def add_staff(engine: Any, world: World, username: str, role: Role, unit: str) -> int:
    """A staff member of `unit` (no surveyor profile); the staff id."""
    with Session(engine, expire_on_commit=False) as session:
        staff = Staff(username=username, full_name=username, role=role.value, org_unit_id=world.units[unit])
        session.add(staff)
        session.commit()
        world.staff[username] = staff
        return int(staff.id or 0)


def with_passwords(engine: Any) -> None:
    """Every staff member of the world signs in to the console with the demo password (tests.review_helpers)."""
    from tests.review_helpers import PASSWORD

    with Session(engine) as session:
        for staff in session.exec(select(Staff)).all():
            staff.password_hash = hash_password(PASSWORD)
            session.add(staff)
        session.commit()


def bearer_headers(engine: Any, world: World) -> dict[str, dict[str, str]]:
    """Username to the Authorization header of a fresh API token, for every staff member of the world."""
    with session_scope(engine) as session:
        return {u: {"Authorization": f"Bearer {issue_token(session, username=u)}"} for u in world.staff}


async def dispatch_client(aiohttp_client: Any, settings: Settings) -> Any:
    """A client of the gateway (no in-process worker) whose clock reads NOW."""
    app = create_app(settings, embedded_worker=False)
    app[CLOCK] = lambda: NOW
    return await aiohttp_client(app)


# The access matrix's dispatch records: one request per customer of tests.review_helpers (1 inside, 2 outside),
# and a surveyor of each side, off duty (so that an assignment probe is refused the same way every time).
MATRIX_SURVEYORS = {"inside": "surveyor.seocho", "outside": "surveyor.haeundae"}
MATRIX_REQUESTS = {"inside": 1, "outside": 2}
MATRIX_SCENE = {"lat": 37.49, "lon": 127.01, "address": "서울 서초구"}
# And a tow vendor serving each side's county branch.
MATRIX_VENDORS = {"inside": 1, "outside": 2}


async def add_dispatch_records(client: Any, world: Any, engine: Any) -> None:
    """Through the API as the head-office administrator: the outside surveyor's account, both surveyors' profiles
    (off duty), a survey request for each customer of the review world and a tow vendor of each side's county."""
    with session_scope(engine) as session:
        session.add(
            Staff(username=MATRIX_SURVEYORS["outside"], full_name="홍길동", role=Role.SURVEYOR.value,
                  org_unit_id=world.units["BUSAN-DONGBU-HAEUNDAE"])
        )  # fmt: skip
    admin = world.auth("admin.hq")
    for username in MATRIX_SURVEYORS.values():
        body = {"skills": ["auto"], "status": "off_duty", "location": {"lat": 37.49, "lon": 127.01}}
        answer = await client.put(f"/api/v1/surveyors/{username}", json=body, headers=admin)
        assert answer.status == 200, await answer.text()
    for target, request_id in MATRIX_REQUESTS.items():
        body = {"kind": "survey", "location": MATRIX_SCENE, "customer_id": world.customers[target]}
        answer = await client.post("/api/v1/dispatches", json=body, headers=admin)
        assert answer.status == 201, await answer.text()
        assert (await answer.json())["id"] == request_id
    for target, vendor_id in MATRIX_VENDORS.items():
        county = world.units["SEOUL-GANGNAM-SEOCHO" if target == "inside" else "BUSAN-DONGBU-HAEUNDAE"]
        body = {
            "name": f"견인 {target}",
            "services": ["tow"],
            "service_unit_ids": [county],
            "phone": "010-6666-0003",
            "location": {"lat": 37.49, "lon": 127.01},
        }
        answer = await client.post("/api/v1/vendors", json=body, headers=admin)
        assert answer.status == 201, await answer.text()
        assert (await answer.json())["id"] == vendor_id


async def deliver_messages(engine: Any, settings: Settings, twilio_base: str) -> dict[str, int]:
    """What the workers do with the dispatch messages written so far: send those due at NOW through Twilio's REST API
    at `twilio_base` (off the event loop, where the stand-in answers)."""

    def send() -> dict[str, int]:
        sender = TwilioSender(settings.model_copy(update={"twilio_api_base": twilio_base}))
        try:
            return send_due_messages(engine, sender, now=NOW)
        finally:
            sender.close()

    return await asyncio.to_thread(send)
