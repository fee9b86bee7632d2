"""The wallboard on a real PostgreSQL database: the figures of constructed calls (waiting, longest wait, today's
service level, abandonment and handling time in Korea's day), the board of each part of the organisation (a
center manager sees only the queues their agents serve, and only their agents), the desk profile route that sets
those agents' skills, /metrics, and the plans of the board's statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col, select, update

from crm_store.audit import AuditEntry
from crm_store.calls.tables import Call
from crm_store.db import async_session_factory, async_session_scope, make_async_engine, make_engine
from crm_store.desk import wallboard
from crm_store.desk.agent_tables import DeskAgent
from crm_store.desk.tables import DeskQueue, WaitingCall
from gateway.app import create_app
from gateway.keys import METRICS
from gateway.wallboard import HUB, export
from tests.customer_helpers import SECRET, gateway_on
from tests.desk_helpers import install_default_menu
from tests.pg_helpers import plan_without_seqscan
from workers.settings import Settings

pytestmark = pytest.mark.integration

# Monday 7 December 2026, 10:00 in Korea; the day began at 15:00 UTC the day before.
NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def _sid(n: int) -> str:
    return f"CA{n:032x}"


def _call(
    session: Session,
    n: int,
    queue_id: int,
    state: str,
    *,
    entered: datetime,
    wait: int | None = None,
    talk: int | None = None,
) -> None:
    """A call created a few seconds before it entered the queue; its wait ended `wait` seconds later (if it did),
    answered by an agent when connected, and the conversation `talk` seconds after that."""
    left = entered + timedelta(seconds=wait) if wait is not None else None
    ended = left + timedelta(seconds=talk) if left is not None and talk is not None else None
    session.add(Call(call_sid=_sid(n), created_at=entered - timedelta(seconds=8), ended_at=ended))
    session.add(
        WaitingCall(
            call_sid=_sid(n),
            queue_id=queue_id,
            state=state,
            enqueued_at=entered,
            left_at=left,
            wait_seconds=wait,
            answered_at=left if state == "connected" else None,
            ended_at=ended,
        )
    )


def _queues(engine: Any) -> dict[str, int]:
    with Session(engine) as session:
        return {q.name: int(q.id) for q in session.exec(select(DeskQueue)).all()}  # type: ignore[arg-type]


def _seed_calls(engine: Any) -> dict[str, int]:
    queues = _queues(engine)
    accident, consult = queues["accident"], queues["consult"]
    with Session(engine) as session:
        _call(session, 1, accident, "waiting", entered=NOW - timedelta(seconds=30))
        _call(session, 2, accident, "waiting", entered=NOW - timedelta(seconds=5))
        _call(session, 3, accident, "connected", entered=NOW - timedelta(minutes=50), wait=10, talk=60)
        _call(session, 4, accident, "connected", entered=NOW - timedelta(minutes=40), wait=20, talk=120)
        _call(session, 5, accident, "connected", entered=NOW - timedelta(minutes=30), wait=40)  # still talking
        _call(session, 6, accident, "abandoned", entered=NOW - timedelta(minutes=20), wait=75)
        # Yesterday in Korea (23:50 on the 6th): not today's.
        _call(session, 7, accident, "abandoned", entered=datetime(2026, 12, 6, 14, 50, tzinfo=UTC), wait=9)
        _call(session, 8, consult, "waiting", entered=NOW - timedelta(seconds=90))
        _call(session, 9, consult, "left", entered=NOW - timedelta(minutes=10), wait=3)
        session.commit()
    return queues


async def _put_profile(client: Any, org: Any, who: str, username: str, body: dict[str, Any]) -> Any:
    return await client.put(f"/api/v1/agents/{username}", json=body, headers=org.auth(who))


async def test_figures_scope_profiles_and_metrics(aiohttp_client: Any, postgres_url: str, tmp_path: Any) -> None:
    async with gateway_on(aiohttp_client, postgres_url, tmp_path) as (engine, org, client):
        install_default_menu(engine)
        queues = _seed_calls(engine)

        # Desk profiles: a center manager of the branch above, an administrator; nobody else, nothing out of scope.
        answer = await _put_profile(
            client, org, "cm.gangnam", "agent.seocho", {"skills": ["accident"], "endpoint": "010-1234-5678"}
        )
        assert answer.status == 200, await answer.text()
        assert (await answer.json())["endpoint"] == "+821012345678"
        answer = await _put_profile(client, org, "cm.gangnam", "agent.haeundae", {"skills": ["consult"]})
        assert answer.status == 404
        answer = await _put_profile(client, org, "agent.seocho", "agent.seocho", {"skills": []})
        assert answer.status == 403
        answer = await _put_profile(client, org, "cm.busan", "agent.haeundae", {"skills": ["cooking"]})
        assert answer.status == 422 and "cooking" in await answer.text()
        answer = await _put_profile(client, org, "cm.busan", "agent.haeundae", {"skills": [], "endpoint": "nowhere"})
        assert answer.status == 422
        answer = await _put_profile(client, org, "cm.busan", "am.haeundae", {"skills": []})
        assert answer.status == 422  # an account manager has no desk
        answer = await _put_profile(
            client, org, "admin", "agent.haeundae", {"skills": ["consult"], "endpoint": "client:haeundae"}
        )
        assert answer.status == 200, await answer.text()
        with Session(engine) as session:
            entries = session.exec(
                select(AuditEntry).where(col(AuditEntry.action) == "agent.profile").order_by(col(AuditEntry.id))
            ).all()
            seocho, haeundae = (f"staff:{org.staff[name]}" for name in ("agent.seocho", "agent.haeundae"))
            assert [(e.target, e.detail) for e in entries] == [
                (seocho, {"skills": [[], ["accident"]], "endpoint": [None, "+821012345678"]}),
                (haeundae, {"skills": [[], ["consult"]], "endpoint": [None, "client:haeundae"]}),
            ]
            session.exec(  # type: ignore[call-overload]
                update(DeskAgent).where(col(DeskAgent.staff_id) == org.staff["agent.seocho"]).values(state="available")
            )
            session.exec(  # type: ignore[call-overload]
                update(DeskAgent).where(col(DeskAgent.staff_id) == org.staff["agent.haeundae"]).values(state="on_call")
            )
            session.commit()

        # The figures, read at 10:00 in Korea.
        async_engine = make_async_engine(postgres_url)
        try:
            async with async_session_scope(async_session_factory(async_engine)) as session:
                snapshot = await wallboard.take_snapshot(session, now=NOW)
            # Today's counts of a snapshot younger than `day_every` are kept; the calls waiting are read again.
            async with async_session_scope(async_session_factory(async_engine)) as session:
                later = NOW + timedelta(seconds=1)
                kept = await wallboard.take_snapshot(session, now=later, previous=snapshot, day_every=2.0)
                again = await wallboard.take_snapshot(session, now=later, previous=snapshot, day_every=0.5)
            assert kept.day is snapshot.day and kept.day_read_at == NOW and kept.waiting == snapshot.waiting
            assert again.day == snapshot.day and again.day is not snapshot.day and again.day_read_at == later
        finally:
            await async_engine.dispose()
        assert snapshot.since == datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
        board = {q.queue: q for q in wallboard.board_for(snapshot, f"/{org.units['HQ']}/").queues}
        assert list(board) == ["accident", "consult", "complaint", "change", "agent"]
        accident = board["accident"]
        assert (accident.waiting, accident.longest_wait, accident.answered, accident.abandoned) == (2, 30, 3, 1)
        assert accident.service_level == round(2 / 3, 4)  # 10 s and 20 s of 10, 20 and 40 s
        assert accident.abandonment_rate == 0.25  # one of the four waits that ended today
        assert accident.average_handling == 90.0  # 60 and 120 s; the call still going has no handling time yet
        assert accident.agents == {"available": 1, "offered": 0, "on_call": 0, "wrap_up": 0, "break": 0, "offline": 0}
        consult = board["consult"]
        assert (consult.waiting, consult.longest_wait, consult.answered, consult.service_level) == (1, 90, 0, None)
        assert consult.abandonment_rate == 0.0 and consult.agents["on_call"] == 1
        assert board["complaint"].waiting == 0 and board["complaint"].average_handling is None
        assert wallboard.board_for(snapshot, None).queues == []  # a viewer whose unit is gone sees no queue

        # Each part of the organisation through the API: its queues and its agents only.
        async def queues_of(username: str) -> dict[str, dict[str, Any]]:
            answer = await client.get("/api/v1/desk/wallboard", headers=org.auth(username))
            assert answer.status == 200, await answer.text()
            return {q["queue"]: q for q in (await answer.json())["queues"]}

        gangnam = await queues_of("cm.gangnam")
        assert list(gangnam) == ["accident"]
        assert gangnam["accident"]["waiting"] == 2 and gangnam["accident"]["agents"]["available"] == 1
        busan = await queues_of("cm.busan")
        assert list(busan) == ["consult", "agent"]  # 상담원 연결 asks for consult too
        assert busan["consult"]["agents"]["on_call"] == 1 and busan["agent"]["waiting"] == 0
        head_office = await queues_of("admin")
        assert len(head_office) == len(queues)
        assert head_office["accident"]["agents"]["available"] == 1 and head_office["consult"]["agents"]["on_call"] == 1
        answer = await client.get("/api/v1/desk/wallboard", headers=org.auth("agent.seocho"))
        assert answer.status == 403

        # /metrics: today's figures of the board too, average handling time included.
        export(client.server.app[METRICS], snapshot)
        metrics = await (await client.get("/metrics")).text()
        assert 'hotline_desk_service_level{queue="accident"} 0.6667' in metrics
        assert 'hotline_desk_abandonment_rate{queue="accident"} 0.25' in metrics
        assert 'hotline_desk_average_handling_seconds{queue="accident"} 90.0' in metrics
        assert 'hotline_desk_average_handling_seconds{queue="complaint"} NaN' in metrics

        # /metrics: every queue with every agent, as the loop of this process read them (once more, now).
        await client.server.app[HUB].read()
        metrics = await (await client.get("/metrics")).text()
        assert 'hotline_desk_waiting_calls{queue="accident"} 2.0' in metrics
        assert 'hotline_desk_waiting_calls{queue="consult"} 1.0' in metrics
        assert 'hotline_desk_agents{queue="accident",state="available"} 1.0' in metrics
        assert 'hotline_desk_agents{queue="consult",state="on_call"} 1.0' in metrics

        # Another gateway process on the same database exports the same truth.
        settings = Settings.from_env(
            {"DATABASE_URL": postgres_url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp_path)}
        )
        other = await aiohttp_client(create_app(settings, embedded_worker=False))
        await other.server.app[HUB].read()
        other_metrics = await (await other.get("/metrics")).text()

        def counts(text: str) -> list[str]:
            return sorted(line for line in text.splitlines() if line.startswith(("hotline_desk_waiting_calls{",
                                                                                 "hotline_desk_agents{")))  # fmt: skip

        assert counts(other_metrics) == counts(metrics) and len(counts(metrics)) == 5 + 5 * 6


def _plan(postgres_url: str, statement: Any) -> str:
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    engine = make_engine(postgres_url)
    try:
        with Session(engine) as session:
            return plan_without_seqscan(session, sql)
    finally:
        engine.dispose()


def test_the_board_reads_through_indexes(postgres_url: str) -> None:
    plan = _plan(postgres_url, wallboard.waiting_now_query())
    assert "ix_desk_waiting_call_next" in plan and "Seq Scan" not in plan, plan
    plan = _plan(postgres_url, wallboard.today_query("postgresql", wallboard.day_start(NOW)))
    assert "ix_call_created_at" in plan and "Seq Scan" not in plan, plan
