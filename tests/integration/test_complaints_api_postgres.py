"""The complaint API on PostgreSQL (migrated by the postgres_url fixture): opening, reading, the queue and the monthly
analysis through the gateway, and a registration that races another onto the same open topic ending in 409."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm_store.complaints.store import open_complaint, take_step
from crm_store.db import make_engine, session_scope
from crm_store.org.scope import CommandLine
from crm_store.validation import Conflict
from gateway.app import create_app
from tests.complaint_api_helpers import PATH, add_customer
from tests.complaint_api_helpers import open_complaint as open_through_api
from tests.complaint_helpers import RECEIVED, create, viewer
from tests.customer_helpers import SECRET
from tests.review_helpers import World, build_world
from workers.settings import Settings

pytestmark = pytest.mark.integration

NOW = RECEIVED + timedelta(minutes=1)
SEOCHO, HAEUNDAE = "SEOUL-GANGNAM-SEOCHO", "BUSAN-DONGBU-HAEUNDAE"
REGISTRATION = {"category": "claims_payment", "topic": "complaint.claim_delay", "severity": "normal"}


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url, pool_size=5)
    yield engine
    engine.dispose()


async def test_open_read_list_and_analyse_through_the_gateway(
    aiohttp_client: Any, postgres_url: str, engine: Any, tmp_path: Any
) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": postgres_url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp_path)}
    )
    world: World = build_world(engine)
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    in_force = ((date(2026, 1, 1), date(2026, 12, 31)),)
    seocho = add_customer(engine, world.units[SEOCHO], policies=in_force * 3)
    busan = add_customer(engine, world.units[HAEUNDAE], policies=in_force)
    answer = await open_through_api(client, world.auth("agent.seocho"), seocho)
    assert answer.status == 201, await answer.text()
    opened = await answer.json()
    assert (opened["number"], opened["resolve_by"]) == ("C-2026-000001", "2026-10-15T23:59:59+09:00")
    again = await open_through_api(client, world.auth("operator.seocho"), seocho)
    assert again.status == 200 and (await again.json())["id"] == opened["id"]
    await open_through_api(client, world.auth("operator.haeundae"), busan, topic="complaint.billing",
                           category="maintenance")  # fmt: skip
    detail = await (await client.get(f"{PATH}/{opened['id']}", headers=world.auth("operator.seocho"))).json()
    assert [s["action"] for s in detail["steps"]] == ["receipt", "repeat"] and detail["repeats"] == 1
    assert (await client.get(f"{PATH}/{opened['id']}", headers=world.auth("operator.haeundae"))).status == 404
    listed = await (await client.get(PATH, params={"overdue": "true"}, headers=world.auth("operator.seocho"))).json()
    assert [c["id"] for c in listed["items"]] == [opened["id"]]
    analysis = await client.get(f"{PATH}/analysis", params={"month": "2026-09"}, headers=world.auth("executive.hq"))
    assert analysis.status == 200, await analysis.text()
    figures = await analysis.json()
    assert (figures["contracts"], figures["received"], figures["per_100k"]) == (4, 2, 50_000.0)
    assert figures["by_category"]["claims_payment"]["received"] == 1
    assert figures["by_category"]["maintenance"]["received"] == 1
    seoul = await (await client.get(f"{PATH}/analysis?month=2026-09", headers=world.auth("operator.seoul"))).json()
    assert (seoul["contracts"], seoul["received"], seoul["per_100k"]) == (3, 1, 33_333.33)


def _waiting_for_a_lock(engine: Any) -> bool:
    with Session(engine) as session:
        waiting = session.exec(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).one()  # type: ignore[call-overload]
    return bool(waiting[0])


def test_a_registration_racing_another_onto_the_same_open_topic_is_a_conflict(engine: Any) -> None:
    world: World = build_world(engine)
    with session_scope(engine) as session:
        customer = add_customer(engine, world.units[SEOCHO])
        complaints = []
        for _ in range(2):
            opened = open_complaint(session, CommandLine(username="root"), create(customer, topic=None), now=NOW)
            take_step(session, CommandLine(username="root"), opened.complaint.id, "verification", {"facts": "확인"},
                      now=NOW)  # type: ignore[arg-type]  # fmt: skip
            complaints.append(opened.complaint.id)
    operator = viewer(world, "operator.seocho")
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with session_scope(engine) as session:
                take_step(session, operator, complaints[1], "registration", REGISTRATION, now=NOW)
        except BaseException as err:  # examined in the test's thread
            errors.append(err)

    with session_scope(engine) as session:
        take_step(session, operator, complaints[0], "registration", REGISTRATION, now=NOW)
        # The first registration is flushed, not committed: the second sees no open complaint on the topic and
        # waits on the unique index until the first commits.
        racer = threading.Thread(target=second)
        racer.start()
        deadline = time.monotonic() + 30
        while not _waiting_for_a_lock(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
    racer.join(30)
    assert len(errors) == 1 and isinstance(errors[0], Conflict), errors
    assert "topic" in errors[0].fields and isinstance(errors[0].__cause__, IntegrityError)
