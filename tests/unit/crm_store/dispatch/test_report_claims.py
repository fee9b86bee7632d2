"""Filing a survey report shows on the claim: the customer's open claim gets the stage survey_reported and the
report's id (its status stays open); a customer with no open claim gets one opened for the request, on its policy.
The customer's picture (the desk's screen pop) reads the stage back; paying the claim keeps it; PATCH cannot set it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.picture import customer_picture
from crm_store.customers.records import SURVEY_REPORTED, ClaimCreate, add_claim
from crm_store.customers.tables import Claim, Policy
from crm_store.customers.updates import ClaimUpdate, update_claim
from crm_store.dispatch.assignment import accept, advance, assign
from crm_store.dispatch.reports import SurveyFindings, file_report, report_of
from crm_store.dispatch.requests import open_dispatch_request
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role, Staff
from gateway.customers_api import _claim_answer
from tests.dispatch_helpers import BUSINESS_DAY, CONFIG, RULES, World, add_surveyor, kst, survey_at

NOW = kst()
Sessions = async_sessionmaker[AsyncSession]
FINDINGS = SurveyFindings(damage="앞 범퍼 파손", liability_percent=30, estimate_won=1_200_000)


def _agent(engine: Any, world: World) -> Viewer:
    with Session(engine) as session:
        staff = session.exec(select(Staff).where(Staff.username == "agent.gangnam")).one()
        assert staff.role == Role.AGENT.value
        return Viewer.of(staff)


async def _surveyed(sessions: Sessions, world: World, customer_id: int) -> tuple[int, int]:
    """A survey for the customer taken on site by kim, the report filed; the report's and the request's ids."""
    async with sessions() as session:
        request = await open_dispatch_request(
            session, world.viewer("disp.gangnam"), survey_at(customer_id=customer_id), config=CONFIG, rules=RULES,
            unit_id=world.units["GANGNAM"], now=NOW,
        )  # fmt: skip
        request_id = int(request.id or 0)
        await assign(session, world.viewer("disp.gangnam"), request_id, username="kim", config=CONFIG, now=NOW)
        await accept(session, world.viewer("kim"), request_id, now=NOW)
        await advance(session, world.viewer("kim"), request_id, "en_route", now=NOW)
        await advance(session, world.viewer("kim"), request_id, "on_site", now=NOW)
        report = await file_report(
            session, world.viewer("kim"), request_id, FINDINGS, photos=[], signature=None, rules=RULES, now=NOW
        )
        await session.commit()
        return int(report.id or 0), request_id


def _claims(engine: Any, customer_id: int) -> list[Claim]:
    with Session(engine) as session:
        return list(session.exec(select(Claim).where(col(Claim.customer_id) == customer_id).order_by(col(Claim.id))))


async def test_the_open_claim_shows_the_survey_report(engine: Any, world: World, sessions: Sessions) -> None:
    add_surveyor(engine, world, "kim")
    customer_id = world.customers["quality"]
    agent = _agent(engine, world)
    with Session(engine) as session:
        policy_id = int(session.exec(select(Policy.id).where(Policy.customer_id == customer_id)).one() or 0)
    async with sessions() as session:
        claim, _segment, _alerts = await add_claim(
            session, agent, customer_id, ClaimCreate(policy_id=policy_id, occurred_on=BUSINESS_DAY), rules=RULES,
            as_of=BUSINESS_DAY,
        )  # fmt: skip
        await session.commit()
    report_id, request_id = await _surveyed(sessions, world, customer_id)
    [shown] = _claims(engine, customer_id)
    assert (shown.id, shown.status, shown.stage, shown.survey_report_id) == (
        claim.id,
        "open",
        SURVEY_REPORTED,
        report_id,
    )
    async with sessions() as session:
        filed = await report_of(session, request_id)
        picture = await customer_picture(session, agent, rules=RULES, as_of=BUSINESS_DAY, customer_id=customer_id)
    assert filed is not None and filed.claim_number == claim.claim_number
    assert (filed.claim_status, filed.claim_stage) == ("open", SURVEY_REPORTED)
    [pictured] = picture["claims"]
    assert (pictured["stage"], pictured["survey_report_id"]) == (SURVEY_REPORTED, report_id)


async def test_a_customer_without_an_open_claim_gets_one_for_the_survey(
    engine: Any, world: World, sessions: Sessions
) -> None:
    add_surveyor(engine, world, "kim")
    customer_id = world.customers["ordinary"]
    with Session(engine) as session:
        policy_id = int(session.exec(select(Policy.id).where(Policy.customer_id == customer_id)).one() or 0)
    assert _claims(engine, customer_id) == []
    report_id, request_id = await _surveyed(sessions, world, customer_id)
    [opened] = _claims(engine, customer_id)
    assert (opened.policy_id, opened.occurred_on, opened.status) == (policy_id, date(2026, 12, 7), "open")
    assert (opened.stage, opened.survey_report_id) == (SURVEY_REPORTED, report_id)
    async with sessions() as session:
        filed = await report_of(session, request_id)
    assert filed is not None and (filed.claim_id, filed.claim_number) == (opened.id, opened.claim_number)


async def test_without_a_policy_in_force_the_report_stays_without_a_claim(
    engine: Any, world: World, sessions: Sessions
) -> None:
    add_surveyor(engine, world, "kim")
    customer_id = world.customers["lapsed"]  # its only policy ended in June 2026
    _report_id, request_id = await _surveyed(sessions, world, customer_id)
    assert _claims(engine, customer_id) == []
    async with sessions() as session:
        filed = await report_of(session, request_id)
    assert filed is not None and filed.claim_id is None
    assert (filed.claim_status, filed.claim_stage) == (None, None)


async def test_paying_the_claim_keeps_its_survey_and_patch_cannot_set_it(
    engine: Any, world: World, sessions: Sessions
) -> None:
    add_surveyor(engine, world, "kim")
    customer_id = world.customers["ordinary"]
    report_id, _request_id = await _surveyed(sessions, world, customer_id)
    [opened] = _claims(engine, customer_id)
    async with sessions() as session:
        claim, segment, alerts = await update_claim(
            session, _agent(engine, world), int(opened.id or 0), ClaimUpdate(status="paid", paid_amount=1_200_000),
            rules=RULES, as_of=BUSINESS_DAY,
        )  # fmt: skip
        await session.commit()
    answer = _claim_answer(claim, segment, alerts)  # PATCH /api/v1/claims/{id}'s answer
    assert (answer.status, answer.stage, answer.survey_report_id) == ("paid", SURVEY_REPORTED, report_id)
    with pytest.raises(ValidationError):
        ClaimUpdate.model_validate({"stage": None})  # the survey sets it, not a PATCH
