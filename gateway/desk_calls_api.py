"""The forms of a live call under /api/v1/desk/calls/{call_sid}/: each makes its record at once and an entry on the
call (`crm_store.desk.call_work`). Only the agent holding the call or a desk supervisor who sees it may write (403
for another agent who sees it, 404 for an unknown or unseen call), and that is checked before the body (422 with
the fields). Thin handlers: parse, run the store with the viewer, answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_change
from crm_store.calls.store import TERMINAL_STATUSES
from crm_store.calls.tables import Call
from crm_store.complaints import store as complaints
from crm_store.complaints.wire import ComplaintCreate
from crm_store.customers import records as customers
from crm_store.db import async_session_scope, run_async
from crm_store.desk import agents, call_work
from crm_store.desk.agent_tables import AgentState, DeskAgent
from crm_store.desk.call_work import CallWork, CallWorkAnswer
from crm_store.desk.tables import DeskQueue, WaitingCall
from crm_store.dispatch.requests import open_dispatch_request
from crm_store.dispatch.wire import DispatchCreate
from crm_store.org.scope import Viewer
from crm_store.org.tables import OrgUnit
from crm_store.types import utcnow
from crm_store.validation import BUSINESS_TZ, Conflict, InvalidInput, business_today
from gateway.contract import Answered, Reply
from gateway.desk import CLOCK, TWILIO_REST
from gateway.desk_socket import publish_state
from gateway.inputs import request_viewer
from gateway.keys import DISPATCH, RULES, SESSIONS, SETTINGS
from telephony import ivr
from telephony.twilio_rest import TwilioRestError
from workers.understanding.redaction import redact_typed

log = logging.getLogger(__name__)
Form = TypeVar("Form", bound=BaseModel)
NOT_LINKED = {"customer": "link the caller to a customer first (customer search)"}


def _now(request: web.Request) -> datetime:
    return request.config_dict.get(CLOCK, utcnow)()


@dataclass
class Writing:
    """One form being written: the request's viewer, its transaction, the call and the agent holding it."""

    request: web.Request
    viewer: Viewer
    session: AsyncSession
    call: Call
    holder: DeskAgent | None
    now: datetime
    moved: bool = False

    def customer(self) -> int:
        """The customer the caller is linked to; 422 while unknown."""
        if self.call.customer_id is None:
            raise InvalidInput(NOT_LINKED, "the caller is not linked to a customer")
        return self.call.customer_id

    async def entry(self, kind: str, form: BaseModel, records: dict[str, Any] | None = None) -> CallWork:
        return await call_work.add_entry(
            self.session, self.viewer, self.call, kind, detail=form.model_dump(mode="json"), records=records,
            now=self.now,
        )  # fmt: skip


async def _write(
    request: web.Request, model: type[Form], writer: Callable[[Writing, Form], Awaitable[CallWork]]
) -> Reply:
    """The form's common course: the body read, the writer checked, the body validated, the record and the entry
    made in one transaction; 201 with the entry. An agent the form moved hears their new state after it."""
    raw = await request.read()
    viewer = request_viewer(request)
    sid = request.match_info["call_sid"]
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        call, holder = await call_work.call_writer(session, viewer, sid)
        form = numbers_masked(model.model_validate_json(raw or b"null"))
        writing = Writing(request, viewer, session, call, holder, _now(request))
        entry = await writer(writing, form)
        reply = _answer(writing, entry)
    if writing.moved and writing.holder is not None:
        await publish_state(request.config_dict, writing.holder)
    return reply


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact_typed(value)
    if isinstance(value, dict):
        return {name: _masked(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def numbers_masked(form: Form) -> Form:
    """The form with the registration, card and account numbers typed in its text masked before anything is made of
    it: the entry, the claim, the complaint, the dispatch request never hold them, so no answer shows them back."""
    typed = form.model_dump()
    masked = _masked(typed)
    return form if masked == typed else type(form).model_validate(masked)


def _answer(writing: Writing, entry: CallWork) -> Reply:
    body = CallWorkAnswer(
        call_sid=writing.call.call_sid,
        entry=call_work.entry_public(entry, writing.viewer.username),
        agent_state=writing.holder.state if writing.holder is not None else None,
    )
    return Reply(body, status=201)


# -- the forms ------------------------------------------------------------------------------------------------


async def _link(w: Writing, form: call_work.CallerLink) -> CallWork:
    await customers.visible_customer(w.session, w.viewer, form.customer_id)
    before = w.call.customer_id
    w.call.customer_id = form.customer_id
    w.session.add(w.call)
    record_change(
        w.session,
        w.viewer,
        action="desk.caller_linked",
        target=f"call:{w.call.call_sid}",
        org_unit_id=w.viewer.org_unit_id,
        detail={"customer_id": [before, form.customer_id]},
        now=w.now,
        customer_id=form.customer_id,
    )
    return await w.entry("link", form, {"customer_id": form.customer_id, "previous_customer_id": before})


async def link_caller(request: web.Request) -> Answered:
    """POST /api/v1/desk/calls/{call_sid}/customer"""
    return await _write(request, call_work.CallerLink, _link)


def _renamed(err: InvalidInput, names: dict[str, str]) -> InvalidInput:
    """The store's refusal in the form's own field names."""
    err.fields = {names.get(name, name): text for name, text in err.fields.items()}
    return err


async def _accident(w: Writing, form: call_work.AccidentReport) -> CallWork:
    customer_id = w.customer()
    occurred_on = form.occurred_at.astimezone(BUSINESS_TZ).date()
    claim_form = customers.ClaimCreate(policy_id=form.policy_id, occurred_on=occurred_on)
    try:
        claim, _segment, _alerts = await customers.add_claim(
            w.session, w.viewer, customer_id, claim_form, rules=w.request.config_dict[RULES], as_of=business_today()
        )
    except InvalidInput as err:
        raise _renamed(err, {"occurred_on": "occurred_at"}) from err
    records: dict[str, Any] = {"claim_id": claim.id, "claim_number": claim.claim_number}
    if form.dispatch is not None:
        wanted = form.dispatch
        request = await open_dispatch_request(
            w.session,
            w.viewer,
            DispatchCreate.model_validate(
                {
                    "kind": wanted.kind,
                    "rescue_kind": wanted.rescue_kind,
                    "location": {"lat": wanted.lat, "lon": wanted.lon, "address": form.place},
                    "what_happened": form.what_happened,
                    "vehicles": [v.model_dump() for v in form.vehicles],
                    "injured": [p.model_dump() for p in form.injured],
                    "customer_id": customer_id,
                    "policy_id": form.policy_id,
                    "call_sid": w.call.call_sid,
                    "contact_phone": w.call.from_number,
                }
            ),
            config=w.request.config_dict[DISPATCH],
            rules=w.request.config_dict[RULES],
            unit_id=w.viewer.org_unit_id,
            now=w.now,
        )
        records["dispatch_id"] = request.id
    return await w.entry("accident_report", form, records)


async def accident_report(request: web.Request) -> Answered:
    """POST /api/v1/desk/calls/{call_sid}/accident-report"""
    return await _write(request, call_work.AccidentReport, _accident)


async def _complaint(w: Writing, form: call_work.ComplaintIntake) -> CallWork:
    data = ComplaintCreate.model_validate(
        {
            "customer_id": w.customer(),
            "channel": "call",
            "category": form.category,
            "summary": form.summary,
            "call_sid": w.call.call_sid,
            "topic": form.topic,
            "severity": form.severity,
            "received_at": w.now,
        }
    )
    opened = await run_async(w.session, complaints.open_complaint, w.viewer, data, now=w.now)
    records = {
        "complaint_id": opened.complaint.id,
        "complaint_number": opened.complaint.number,
        "repeat": opened.repeat,
    }
    return await w.entry("complaint", form, records)


async def complaint_intake(request: web.Request) -> Answered:
    """POST /api/v1/desk/calls/{call_sid}/complaint"""
    return await _write(request, call_work.ComplaintIntake, _complaint)


async def _change(w: Writing, form: call_work.ChangeNotice) -> CallWork:
    w.customer()
    records = call_work.propose_change(w.call, form, w.viewer, now=w.now)
    w.session.add(w.call)
    return await w.entry("change", form, records)


async def change_notice(request: web.Request) -> Answered:
    """POST /api/v1/desk/calls/{call_sid}/change"""
    return await _write(request, call_work.ChangeNotice, _change)


async def _inquiry(w: Writing, form: call_work.InquiryAnswered) -> CallWork:
    return await w.entry("inquiry", form)


async def inquiry_answered(request: web.Request) -> Answered:
    """POST /api/v1/desk/calls/{call_sid}/inquiry"""
    return await _write(request, call_work.InquiryAnswered, _inquiry)


async def _note(w: Writing, form: call_work.CallNote) -> CallWork:
    return await w.entry("note", form)


async def call_note(request: web.Request) -> Answered:
    """POST /api/v1/desk/calls/{call_sid}/notes"""
    return await _write(request, call_work.CallNote, _note)


async def _moved(w: Writing, state: AgentState) -> None:
    """Move the agent holding the call (and tell their desks once the transaction is done)."""
    assert w.holder is not None
    w.holder = await agents.move_agent(w.session, w.holder.staff_id, state, now=w.now)
    w.moved = True


async def _queue_named(session: AsyncSession, name: str) -> DeskQueue:
    queue = (await session.exec(select(DeskQueue).where(col(DeskQueue.name) == name))).first()
    if queue is None:
        raise InvalidInput({"queue": f"no desk queue named {name}"})
    return queue


async def _unit_coded(session: AsyncSession, code: str | None) -> OrgUnit | None:
    if code is None:
        return None
    unit = (await session.exec(select(OrgUnit).where(col(OrgUnit.code) == code))).first()
    if unit is None:
        raise InvalidInput({"unit": f"no organisation unit with code {code}"})
    return unit


async def _transfer(w: Writing, form: call_work.CallTransfer) -> CallWork:
    queue = await _queue_named(w.session, form.queue)
    unit = await _unit_coded(w.session, form.unit)
    waiting = (await w.session.exec(select(WaitingCall).where(col(WaitingCall.call_sid) == w.call.call_sid))).first()
    if waiting is not None:
        # Waiting again, in the new queue, with the priority it had (the green channel stays green), for the agents
        # of the level it was transferred to, if one was named.
        waiting.queue_id, waiting.state, waiting.enqueued_at = queue.id or waiting.queue_id, "waiting", w.now
        waiting.unit_id = None if unit is None else unit.id
        waiting.left_at, waiting.wait_seconds, waiting.queue_result = None, None, None
        w.session.add(waiting)
    if w.holder is not None and w.holder.state == AgentState.ON_CALL.value:
        await _moved(w, AgentState.WRAP_UP)
    records: dict[str, Any] = {"queue_id": queue.id, "queue_label": queue.label}
    if unit is not None:
        records |= {"unit_id": unit.id, "unit_name": unit.name}
    return await w.entry("transfer", form, records)


async def transfer_call(request: web.Request) -> Answered:
    """POST /api/v1/desk/calls/{call_sid}/transfer: the writer and the queue checked, then the live call redirected
    to the queue's <Enqueue> through Twilio's REST API (aiohttp underneath: the loop is never blocked, and no
    transaction waits on Twilio), then the transfer recorded."""
    raw = await request.read()
    sid = request.match_info["call_sid"]
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        call, _holder = await call_work.call_writer(session, request_viewer(request), sid)
        form = call_work.CallTransfer.model_validate_json(raw or b"null")
        if call.ended_at is not None or call.status in TERMINAL_STATUSES:
            # Nobody is on the line: redirecting it would put a call nobody waits on back in a queue.
            raise Conflict({"call_sid": "the call has ended: there is nobody to transfer"}, "call ended")
        queue = await _queue_named(session, form.queue)
        await _unit_coded(session, form.unit)
    twiml = ivr.enqueue(request.config_dict[SETTINGS].base_url, queue_name=queue.name, label=queue.label)
    try:
        await request.config_dict[TWILIO_REST].redirect_call_async(sid, twiml)
    except TwilioRestError as err:
        raise Conflict({"call_sid": f"the call could not be transferred: {err}"}, "transfer failed") from err
    return await _write(request, call_work.CallTransfer, _transfer)


async def _wrap_up(w: Writing, form: call_work.WrapUp) -> CallWork:
    if w.holder is not None and w.holder.state == AgentState.ON_CALL.value:
        raise Conflict({"call_sid": "the call is still connected: wrap up once it has ended"}, "call connected")
    entry = await w.entry("wrap_up", form, {"disposition": form.disposition})
    if w.holder is not None:
        await _moved(w, AgentState.AVAILABLE)
    return entry


async def wrap_up(request: web.Request) -> Answered:
    """POST /api/v1/desk/calls/{call_sid}/wrap-up"""
    return await _write(request, call_work.WrapUp, _wrap_up)
