"""The dispatch API on PostgreSQL: a surveyor's profile put, a request opened with its promise, the suggestions
best first, one click to assign; two dispatchers assigning the same request at once get one 200 and one 409."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.db import make_engine
from crm_store.dispatch.tables import DispatchAssignment
from crm_store.org.tables import Role
from tests.customer_helpers import SECRET
from tests.dispatch_api_helpers import NOW, add_staff, bearer_headers, dispatch_client
from tests.dispatch_helpers import GANGNAM, GWANGHWAMUN, SEOLLEUNG, add_surveyor, build_world
from workers.settings import Settings

pytestmark = pytest.mark.integration


async def test_put_surveyor_open_suggest_and_assign(aiohttp_client: Any, postgres_url: str, tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": postgres_url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp_path)}
    )
    engine = make_engine(postgres_url)
    try:
        world = build_world(engine)
        add_surveyor(engine, world, "lee", at=GANGNAM)
        add_surveyor(engine, world, "park", at=GWANGHWAMUN)
        add_staff(engine, world, "kim", Role.SURVEYOR, "GANGNAM")
        auth = bearer_headers(engine, world)
        client = await dispatch_client(aiohttp_client, settings)
        profile = {"skills": ["auto"], "status": "available", "location": {"lat": 37.5006, "lon": 127.0364}}
        answer = await client.put("/api/v1/surveyors/kim", json=profile, headers=auth["disp.gangnam"])
        assert answer.status == 200, await answer.text()
        assert (await answer.json())["open_assignments"] == 0

        scene = {"lat": SEOLLEUNG[0], "lon": SEOLLEUNG[1], "address": "서울 강남구 선릉로"}
        body = {"kind": "survey", "skill": "auto", "location": scene, "customer_id": world.customers["quality"]}
        answer = await client.post("/api/v1/dispatches", json=body, headers=auth["disp.gangnam"])
        assert answer.status == 201, await answer.text()
        opened = await answer.json()
        assert opened["state"] == "open" and opened["promise_minutes"] == 20  # the quality customer's faster one
        assert datetime.fromisoformat(opened["due_at"]) == NOW + timedelta(minutes=20)
        assert answer.headers["Location"] == f"/api/v1/dispatches/{opened['id']}"

        answer = await client.get(f"/api/v1/dispatches/{opened['id']}/suggestions", headers=auth["disp.gangnam"])
        assert answer.status == 200, await answer.text()
        items = (await answer.json())["items"]
        assert [c["username"] for c in items] == ["kim", "lee", "park"]
        assert all(c["reasons"] and c["eta_minutes"] >= 1 for c in items)

        # Two dispatchers click at once: the request's row lock lets one through; the other is told it is taken.
        answers = await asyncio.gather(
            *(
                client.post(f"/api/v1/dispatches/{opened['id']}/assign", json={"username": who}, headers=auth[by])
                for who, by in (("kim", "disp.gangnam"), ("lee", "cm.seoul"))
            )
        )
        assert sorted(a.status for a in answers) == [200, 409]
        won = next(a for a in answers if a.status == 200)
        assert (await won.json())["state"] == "assigned"
        with Session(engine) as session:
            live = session.exec(select(DispatchAssignment).where(col(DispatchAssignment.ended_at).is_(None))).all()
        assert len(live) == 1 and live[0].request_id == opened["id"]
        board = await client.get("/api/v1/dispatches", headers=auth["cm.seoul"])
        (listed,) = (await board.json())["items"]
        assert listed["state"] == "assigned" and listed["time_left_minutes"] == 20
    finally:
        engine.dispose()
