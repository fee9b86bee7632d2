"""The one-statement picture reader on PostgreSQL answers exactly what the ORM reader answers, and audits alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from crm_store.calls.tables import Call
from crm_store.customers.picture import PICTURE_FIELDS, customer_picture
from crm_store.customers.rules import load_rules
from crm_store.customers.screen_pop import PictureReader
from crm_store.customers.tables import Customer
from crm_store.db import async_session_factory, make_async_engine, make_engine, session_scope
from crm_store.errors import CustomerNotFound
from crm_store.org.scope import Viewer
from crm_store.org.tables import Staff
from crm_store.review.tables import ReviewItem
from crm_store.types import utcnow
from crm_store.validation import business_today
from gateway.app import create_app
from tests.customer_helpers import SECRET, Org, build_org
from workers.settings import Settings

pytestmark = pytest.mark.integration


def _viewer(engine: Any, org: Org, username: str) -> Viewer:
    with session_scope(engine) as session:
        staff = session.get(Staff, org.staff[username])
        assert staff is not None
        return Viewer.of(staff)


async def _seed(client: Any, org: Org) -> dict[str, dict[str, Any]]:
    """Customers of every kind the picture has to get right."""
    seocho, haeundae = org.units["SEOUL-GANGNAM-SEOCHO"], org.units["BUSAN-DONGBU-HAEUNDAE"]
    today = business_today()

    async def post(user: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await client.post(path, json=body, headers=org.auth(user))
        assert answer.status in (200, 201), await answer.text()
        return dict(await answer.json())

    async def create(user: str, **body: Any) -> dict[str, Any]:
        return await post(user, "/api/v1/customers", {"kind": "individual", "name": "박정호", **body})

    made: dict[str, dict[str, Any]] = {}
    made["listed"] = listed = await create(
        "agent.seocho",
        phones=["010-1111-2222", "02-555-1234"],
        registration_number="790102-1234567",
        org_unit_id=seocho,
        vehicles=["12가3456", "34나5678"],
        profile={"family": [{"relation": "배우자", "name": "김영희"}], "note": "야간 연락 선호"},
    )
    start = today.replace(month=1, day=1) - timedelta(days=365)
    policy = await post(
        "agent.seocho",
        f"/api/v1/customers/{listed['id']}/policies",
        {"line": "auto", "premium": 900_000, "start_date": str(start), "end_date": str(start + timedelta(days=730))},
    )
    await post(
        "agent.seocho",
        f"/api/v1/customers/{listed['id']}/policies",
        {"line": "home", "premium": 300_000, "start_date": str(start), "end_date": str(start + timedelta(days=365))},
    )
    for days in (20, 40, 60, 400):
        claim = await post(
            "agent.seocho",
            f"/api/v1/customers/{listed['id']}/claims",
            {
                "policy_id": policy["id"],
                "occurred_on": str(max(start, today - timedelta(days=days))),
                "paid_amount": 400_000,
                "status": "paid" if days > 30 else "open",
            },
        )
    # A settled claim carries its closing date (both readers show it).
    answer = await client.patch(
        f"/api/v1/claims/{claim['id']}",
        json={"status": "closed", "closed_on": str(today)},
        headers=org.auth("agent.seocho"),
    )
    assert answer.status == 200, await answer.text()
    await post("cm.gangnam", "/api/v1/blacklist", {"customer_id": listed["id"], "reason": "보험사기 혐의"})
    made["twin"] = await create(
        "agent.haeundae", phones=["051-123-4567"], registration_number="7901021234567", org_unit_id=haeundae
    )
    made["car"] = await create(
        "agent.haeundae",
        phones=["010-3333-4444"],
        registration_number="8001011234567",
        org_unit_id=haeundae,
        vehicles=["12 가 3456"],
    )
    made["key"] = key = await create(
        "agent.seocho",
        kind="corporate",
        name="(주)한빛물산",
        phones=["02-777-8888"],
        registration_number="123-45-67890",
        org_unit_id=seocho,
        key_account="group",
        profile={
            "industry": "무역",
            "size": {"employees": 85, "revenue_band": "10b_100b"},
            "financial_notes": "수출 비중이 높아 환율 영향이 큼",
            "contacts": [{"name": "박총무", "title": "총무팀장", "phone": "02)555-0001", "email": "gm@example.co.kr"}],
        },
    )
    for line in ("fire", "cargo"):
        await post(
            "agent.seocho",
            f"/api/v1/customers/{key['id']}/policies",
            {
                "line": line,
                "premium": 40_000_000,
                "start_date": str(start),
                "end_date": str(start + timedelta(days=730)),
            },
        )
    made["plain"] = await create(
        "agent.seocho", phones=["010-9999-0000"], registration_number="9001011234567", org_unit_id=seocho
    )
    # A proposal nobody approved, and a listing revoked: neither matches on either reader.
    await post("agent.seocho", "/api/v1/blacklist", {"customer_id": made["plain"]["id"], "reason": "미승인 제보"})
    revoked = await post("cm.gangnam", "/api/v1/blacklist", {"customer_id": key["id"], "reason": "해제될 등재"})
    await post("cm.gangnam", f"/api/v1/blacklist/{revoked['id']}/revoke", {"reason": "무혐의 확인"})
    await post(
        "cm.seoul", "/api/v1/account-managers/am.seocho/certifications", {"grade": "senior", "certified_on": str(today)}
    )
    await client.put(
        f"/api/v1/customers/{key['id']}/account-manager",
        json={"username": "am.seocho"},
        headers=org.auth("cm.gangnam"),
    )
    return made


def _add_calls(engine: Any, customer_id: int) -> None:
    """Complaints (repeat complainant, requests of the last 90 days) and other calls, with and without microseconds;
    their review items: open, closed, taken, none yet (still being processed), open."""
    now = utcnow()
    review = ("open", "closed", "taken", None, "open", None)
    with session_scope(engine) as session:
        unit = session.get(Customer, customer_id).org_unit_id  # type: ignore[union-attr]
        for i, (kind, days) in enumerate(
            (("complaint", 3), ("complaint", 50), ("report", 10), ("dispatch", 200), ("inquiry", 1), (None, 0))
        ):
            at = now - timedelta(days=days)
            sid = f"CA{customer_id:08d}{i:024d}"
            session.add(
                Call(
                    call_sid=sid,
                    customer_id=customer_id,
                    status="completed",
                    type=kind,
                    topic="보상 지연" if kind else None,
                    started_at=at.replace(microsecond=0) if i % 2 else at,
                    created_at=at,
                )
            )
            if review[i]:
                session.add(
                    ReviewItem(call_sid=sid, customer_id=customer_id, org_unit_id=unit, state=review[i], due_at=now)
                )


async def test_fast_picture_equals_orm_picture(aiohttp_client: Any, postgres_url: str, tmp_path: Any) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": postgres_url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp_path)}
    )
    engine = make_engine(postgres_url)
    async_engine = make_async_engine(settings.async_db_url)
    try:
        org = build_org(engine)
        client = await aiohttp_client(create_app(settings, embedded_worker=False))
        made = await _seed(client, org)
        _add_calls(engine, made["listed"]["id"])
        rules, today = load_rules(), business_today()
        sessions = async_session_factory(async_engine)
        reader = PictureReader(async_engine, sessions)

        async def orm(viewer: Viewer, **where: Any) -> dict[str, Any]:
            async with sessions() as session:
                picture = await customer_picture(session, viewer, rules=rules, as_of=today, **where)
                await session.rollback()  # only the fast path's audit rows are kept
                return picture

        cases = [
            ("agent.seocho", "listed", "010-1111-2222"),  # own listing, claims, alerts, calls, two plates
            ("admin", "listed", "02-555-1234"),
            ("agent.haeundae", "twin", "051)123-4567"),  # matched at another branch on the registration hash
            ("agent.haeundae", "car", "010 3333 4444"),  # matched on a plate
            ("cm.seoul", "key", "02-777-8888"),  # corporate, key, account manager
            ("agent.seocho", "plain", "010-9999-0000"),  # no policy, no claim
        ]
        for username, name, number in cases:
            viewer = _viewer(engine, org, username)
            cid = made[name]["id"]
            expected = await orm(viewer, customer_id=cid)
            fast = await reader.picture(viewer, rules=rules, as_of=today, customer_id=cid)
            assert fast == expected, name
            over_http = await (await client.get(f"/api/v1/customers/{cid}", headers=org.auth(username))).json()
            assert over_http == expected, name
            e164 = expected["phones"][0]["number"] if name != "listed" or number.startswith("010") else "+8225551234"
            expected_lookup = await orm(viewer, phone=e164)
            assert await reader.picture(viewer, rules=rules, as_of=today, phone=e164) == expected_lookup, name
            answer = await client.get("/api/v1/customers/lookup", params={"phone": number}, headers=org.auth(username))
            assert answer.status == 200 and await answer.json() == expected_lookup, name
        pictures = {name: await orm(_viewer(engine, org, "admin"), customer_id=made[name]["id"]) for name in made}
        listed, key = pictures["listed"], pictures["key"]
        assert {a["kind"] for a in listed["alerts"]} >= {"blacklist", "frequent_claims", "repeat_complainant"}
        assert listed["recent_calls"] and listed["requests_90_days"] == {"complaint": 2, "report": 1}
        # Open requests: the dispatch still being processed, the report being reviewed, the complaint waiting in
        # the branch's queue; not the closed complaint nor the inquiry (both readers, compared above).
        assert [(r["type"], r["state"], r["queue"]) for r in listed["open_requests"]] == [
            ("dispatch", "processing", None),
            ("report", "taken", "서초구지점"),
            ("complaint", "open", "서초구지점"),
        ]
        assert listed["vehicles"] == ["12가3456", "34나5678"] and listed["profile"]["note"] == "야간 연락 선호"
        assert pictures["twin"]["blacklist"][0]["matched_on"] == "registration"
        assert pictures["car"]["blacklist"][0]["matched_on"] == "plate"
        assert key["segment"] == "key" and key["account_manager"]["grade"] == "senior" and key["entitlements"]
        certified = key["account_manager"]
        assert certified["certified_on"] == str(business_today()) and certified["certification_lapsed"] is False
        assert key["profile"]["contacts"][0]["phone"] == "+8225550001" and key["profile"]["size"]["employees"] == 85
        assert [c["closed_on"] for c in listed["claims"]].count(str(today)) == 1
        assert pictures["plain"]["policies"] == [] and pictures["plain"]["loss_ratio"] is None
        assert not pictures["plain"]["blacklisted"] and not key["blacklisted"] and not key["blacklist"]

        # Grouped: many reads in one statement, each answered with its own customer (or not found).
        admin = _viewer(engine, org, "admin")
        ids = [made[name]["id"] for name in made] * 3 + [999_999]
        results = await asyncio.gather(
            *(reader.picture(admin, rules=rules, as_of=today, customer_id=i) for i in ids), return_exceptions=True
        )
        for cid, result in zip(ids, results, strict=True):
            if cid == 999_999:
                assert isinstance(result, CustomerNotFound)
            else:
                assert isinstance(result, dict) and result == await orm(admin, customer_id=cid)

        # Out of scope: not found on both paths, and nothing audited.
        with engine.connect() as conn:
            before = conn.scalar(text("SELECT count(*) FROM audit_entry"))
        busan = _viewer(engine, org, "agent.haeundae")
        for where in ({"customer_id": made["listed"]["id"]}, {"phone": "+821011112222"}):
            with pytest.raises(CustomerNotFound):
                await orm(busan, **where)
            with pytest.raises(CustomerNotFound):
                await reader.picture(busan, rules=rules, as_of=today, **where)  # type: ignore[arg-type]
        answer = await client.get(f"/api/v1/customers/{made['listed']['id']}", headers=org.auth("agent.haeundae"))
        assert answer.status == 404
        answer = await client.get(
            "/api/v1/customers/lookup", params={"phone": "010-1111-2222"}, headers=org.auth("agent.haeundae")
        )
        assert answer.status == 404
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM audit_entry")) == before
            # The fast path audits as the ORM path does: who, which fields, why, for which call, from where.
            sid = "CA" + "1" * 32
            await client.get(
                "/api/v1/customers/lookup",
                params={"phone": "010-9999-0000", "call_sid": sid},
                headers=org.auth("agent.seocho"),
            )
            row = conn.execute(
                text(
                    "SELECT username, fields, purpose, call_sid, remote_addr FROM audit_entry ORDER BY id DESC LIMIT 1"
                )
            ).one()
        assert row.username == "agent.seocho" and row.purpose == "lookup" and row.call_sid == sid and row.remote_addr
        # The fields shown at clearance 3: every one, and the grade-3 parts (not the health details of grade 4).
        graded = [
            "alerts[kind=blacklist].reason",
            "blacklist[].evidence",
            "blacklist[].reason",
            "profile.financial_notes",
        ]
        assert row.fields == sorted([*PICTURE_FIELDS, *graded])
        await reader.close()
    finally:
        await async_engine.dispose()
        engine.dispose()
