"""The live call's forms in tests: a call of an unknown caller, an agent made to hold a call as the distributor would
(offered, then connected, then in wrap-up), and the forms' bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from crm_store.calls.tables import Call
from crm_store.customers.tables import Policy
from crm_store.desk.agent_tables import DeskAgent
from tests.review_helpers import PASSWORD, call_sid

CALLER = "+821055556666"


def unknown_call(engine: Any, *, caller: str = CALLER) -> str:
    """A live call from a number no customer has (as the incoming-call webhook stores it)."""
    sid = call_sid()
    with Session(engine) as session:
        session.add(
            Call(call_sid=sid, status="in-progress", from_number=caller, to_number="+8215881234",
                 started_at=datetime.now(UTC), pipeline_state="received")
        )  # fmt: skip
        session.commit()
    return sid


def hold(engine: Any, staff_id: int, sid: str | None, state: str = "on_call") -> None:
    """The agent's desk state as the distributor leaves it (offered, on_call or wrap_up with the call; available)."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        agent = session.get(DeskAgent, staff_id) or DeskAgent(staff_id=staff_id, skills=["accident"])
        agent.state, agent.call_sid, agent.state_since, agent.heartbeat_at = state, sid, now, now
        session.add(agent)
        session.commit()


async def watched_page(browser: Any) -> tuple[Any, list[str]]:
    """A fresh browser page and the script errors it raises (a test ends asserting there were none)."""
    page = await (await browser.new_context()).new_page()
    failures: list[str] = []
    page.on("pageerror", lambda err: failures.append(str(err)))
    return page, failures


async def sign_in_at_desk(page: Any, base: str, username: str = "agent.seocho") -> None:
    """Sign in on the console in the browser: an agent lands on the desk, whose socket opens."""
    await page.goto(f"{base}/console/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/console/desk")
    await page.wait_for_selector("#connection.connected")


def agent_state(engine: Any, staff_id: int) -> tuple[str, str | None]:
    with Session(engine) as session:
        agent = session.get(DeskAgent, staff_id, populate_existing=True)
        assert agent is not None
        return agent.state, agent.call_sid


def policy_of(engine: Any, customer_id: int) -> tuple[int, date]:
    """A policy of the customer and a day inside its period, in the past."""
    with Session(engine) as session:
        policy = session.exec(select(Policy).where(col(Policy.customer_id) == customer_id)).first()
        assert policy is not None and policy.id is not None
        return policy.id, policy.start_date + timedelta(days=10)


def accident(policy_id: int, day: date, **extra: Any) -> dict[str, Any]:
    """An accident report of a crash at a crossing, one driver hurt, our car and the other party's."""
    return {
        "occurred_at": f"{day.isoformat()}T08:30:00+09:00",
        "place": "서울시 서초구 반포대로 58 교차로",
        "what_happened": "신호 대기 중 뒤차가 추돌",
        "injured": [{"role": "driver", "condition": "목 통증", "hospital": True}],
        "vehicles": [{"plate": "12가3456", "model": "소나타", "ours": True}, {"plate": "34나5678", "ours": False}],
        "policy_id": policy_id,
        **extra,
    }
