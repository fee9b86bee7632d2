"""After classification, a call asking for roadside help leaves one draft dispatch request for the dispatcher;
an inquiry leaves none; classifying again adds nothing."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from crm_store.calls.tables import Call
from crm_store.dispatch.tables import DispatchRequest
from tests.twilio_helpers import call_sid
from workers import jobs


def _transcribed(ctx: Any, text: str) -> str:
    sid = call_sid()
    with Session(ctx.engine) as session:
        session.add(Call(call_sid=sid, from_number="+821012345678", transcript=text, pipeline_state="transcribed"))
        session.commit()
    return sid


def _drafts(ctx: Any, sid: str) -> list[DispatchRequest]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(DispatchRequest).where(col(DispatchRequest.call_sid) == sid)).all())


def test_a_dispatch_call_leaves_one_draft_and_an_inquiry_none(context: Any) -> None:
    rescue = _transcribed(context, "차 배터리가 방전돼서 시동이 안 걸려요. 지금 긴급출동 배터리 충전 좀 보내주세요.")
    inquiry = _transcribed(context, "자동차보험 갱신하려고 하는데 보험료가 얼마나 나오는지 궁금해서 전화했어요.")
    first = jobs.classify_call(rescue)
    jobs.classify_call(rescue)
    assert jobs.classify_call(inquiry)["type"] == "inquiry"
    assert first["type"] == "dispatch"
    drafts = _drafts(context, rescue)
    assert [(d.state, d.kind, d.source) for d in drafts] == [("draft", "rescue", "call")]
    assert drafts[0].rescue_kind == "battery" and drafts[0].contact_phone == "+821012345678"
    assert _drafts(context, inquiry) == []


def test_a_call_whose_dispatch_the_agent_opened_at_the_desk_gets_no_second_draft(context: Any) -> None:
    sid = _transcribed(context, "차 배터리가 방전돼서 시동이 안 걸려요. 지금 긴급출동 배터리 충전 좀 보내주세요.")
    with Session(context.engine) as session:
        session.add(DispatchRequest(kind="rescue", rescue_kind="battery", skill="auto", state="open",
                                    address="서울시 강남구 테헤란로 152", call_sid=sid, source="desk"))  # fmt: skip
        session.commit()
    assert jobs.classify_call(sid)["type"] == "dispatch"
    assert [(d.state, d.source) for d in _drafts(context, sid)] == [("open", "desk")]
