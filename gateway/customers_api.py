"""The customer API under /api/v1/: customers and their 360 picture, policies, claims, blacklist, organisation,
account managers and the audit trail. Thin handlers: parse, call the store with the viewer, answer."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import date
from typing import Any, Protocol, TypeVar

from aiohttp import web
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store import audit
from crm_store.customers import blacklist, blacklist_decisions, events
from crm_store.customers import records as customers
from crm_store.customers import updates as customer_updates
from crm_store.customers.alerts import Alert
from crm_store.customers.phones import normalise_phone
from crm_store.customers.picture import customer_picture
from crm_store.customers.rules import Rules
from crm_store.customers.segments import changes_of
from crm_store.customers.tables import Claim, Segment
from crm_store.db import async_session_scope
from crm_store.managers import account_managers, service_tasks, transfers
from crm_store.org import directory as org
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role
from crm_store.validation import business_today
from gateway.contract import Answered, Reply
from gateway.inputs import (
    MAX_PAGE,
    bad_param,
    choice_param,
    int_param,
    json_body,
    month_param,
    path_id,
    request_viewer,
)
from gateway.keys import PICTURES, RULES, SESSIONS, SETTINGS

Body = TypeVar("Body", bound=BaseModel, contravariant=True)
Changed = TypeVar("Changed", covariant=True)
CALL_SID = re.compile(r"CA[0-9a-f]{32}")


def _call_sid(request: web.Request) -> str | None:
    raw = request.query.get("call_sid") or None
    if raw is not None and not CALL_SID.fullmatch(raw):
        raise bad_param("call_sid", "a Twilio CallSid (CA followed by 32 hex digits)")
    return raw


def _customer_id(request: web.Request) -> int:
    return path_id(request, "customer_id")


def _picture(picture: dict[str, Any]) -> customers.CustomerPicture:
    # The picture (up to 100 claims) is the largest answer on the agent's hot path: taken as built, not re-validated.
    return customers.CustomerPicture.of_document(picture)


class RuledChange(Protocol[Body, Changed]):
    """A change of the store after which a customer's aggregates and segment are decided again by the rules."""

    def __call__(
        self, session: AsyncSession, viewer: Viewer, record_id: int, data: Body, /, *, rules: Rules, as_of: date
    ) -> Awaitable[Changed]: ...


async def _ruled_change(
    request: web.Request, change: RuledChange[Body, Changed], record_id: int, body: type[Body]
) -> Changed:
    """The JSON body validated against `body`, then `change` made to the record by the viewer, in one transaction,
    with the rules as of today."""
    data = await json_body(request, body)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        return await change(
            session, request_viewer(request), record_id, data, rules=request.config_dict[RULES], as_of=business_today()
        )


def _claim_answer(claim: Claim, segment: Segment, alerts: list[Alert]) -> customers.ClaimAnswer:
    return customers.ClaimAnswer.model_validate(
        {
            **customers.ClaimPublic.model_validate(claim).model_dump(mode="json"),
            "customer_id": claim.customer_id,
            "segment": segment.value,
            "alerts": [a.as_dict() for a in alerts],
        }
    )


# -- customers -------------------------------------------------------------------------------------


async def create_customer(request: web.Request) -> Answered:
    """POST /api/v1/customers"""
    data = await json_body(request, customers.CustomerCreate)
    viewer, today = request_viewer(request), business_today()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        customer_id = await customers.create_customer(
            session,
            viewer,
            data,
            secret_key=request.config_dict[SETTINGS].secret_key,
            rules=request.config_dict[RULES],
            as_of=today,
        )
        picture = await customer_picture(
            session, viewer, rules=request.config_dict[RULES], as_of=today, customer_id=customer_id
        )
    return Reply(_picture(picture), {"Location": f"/api/v1/customers/{customer_id}"})


async def get_customer(request: web.Request) -> Answered:
    """GET /api/v1/customers/{id}"""
    picture = await request.config_dict[PICTURES].picture(
        request_viewer(request),
        rules=request.config_dict[RULES],
        as_of=business_today(),
        customer_id=_customer_id(request),
        call_sid=_call_sid(request),
    )
    return _picture(picture)


async def lookup_customer(request: web.Request) -> Answered:
    """GET /api/v1/customers/lookup?phone=...: the screen-pop."""
    raw = request.query.get("phone", "")
    phone = normalise_phone(raw)
    if phone is None:
        raise bad_param("phone", "a Korean phone number (010-1234-5678, 02-123-4567, +82 10 ...)")
    picture = await request.config_dict[PICTURES].picture(
        request_viewer(request),
        rules=request.config_dict[RULES],
        as_of=business_today(),
        phone=phone,
        call_sid=_call_sid(request),
    )
    return _picture(picture)


async def add_policy(request: web.Request) -> Answered:
    """POST /api/v1/customers/{id}/policies"""
    customer_id = _customer_id(request)
    policy, segment = await _ruled_change(request, customers.add_policy, customer_id, customers.PolicyCreate)
    return customers.PolicyAnswer.model_validate(
        {
            **customers.PolicyPublic.model_validate(policy).model_dump(mode="json"),
            "customer_id": customer_id,
            "segment": segment.value,
        }
    )


async def add_claim(request: web.Request) -> Answered:
    """POST /api/v1/customers/{id}/claims"""
    claim, segment, alerts = await _ruled_change(
        request, customers.add_claim, _customer_id(request), customers.ClaimCreate
    )
    return _claim_answer(claim, segment, alerts)


async def segment_history(request: web.Request) -> Answered:
    """GET /api/v1/customers/{id}/segment-history"""
    customer_id = _customer_id(request)
    viewer = request_viewer(request)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await account_managers.assignment_history(session, viewer, customer_id)  # scope check (404 outside)
        changes = (await session.exec(changes_of([customer_id]))).all()
        audit.record_read(session, viewer, customer_id=customer_id, fields=["segment_history"])
    items = [
        {
            "from": c.old_segment,
            "to": c.new_segment,
            "reason": c.reason,
            "at": c.changed_at.isoformat(),
            "by": c.changed_by,
        }
        for c in changes
    ]
    return customers.SegmentHistory.model_validate({"items": items})


# -- account managers ------------------------------------------------------------------------------


async def assign_manager(request: web.Request) -> Answered:
    """PUT /api/v1/customers/{id}/account-manager"""
    data = await json_body(request, account_managers.AssignmentCreate)
    customer_id = _customer_id(request)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await account_managers.assign(session, request_viewer(request), customer_id, data, as_of=business_today())
        history = await account_managers.assignment_history(session, request_viewer(request), customer_id)
    return account_managers.AssignmentPublic.model_validate(history[0])


async def manager_history(request: web.Request) -> Answered:
    """GET /api/v1/customers/{id}/account-manager/history (audited)"""
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        items = await account_managers.assignment_history(session, request_viewer(request), _customer_id(request))
    return account_managers.AssignmentList.model_validate({"items": items})


async def manager_profile(request: web.Request) -> Answered:
    """GET /api/v1/account-managers/{username}"""
    async with request.config_dict[SESSIONS]() as session:
        body = await account_managers.manager_profile(session, request_viewer(request), request.match_info["username"])
    return account_managers.ManagerProfile.model_validate(body)


async def certify_manager(request: web.Request) -> Answered:
    """POST /api/v1/account-managers/{username}/certifications"""
    data = await json_body(request, account_managers.CertificationCreate)
    username = request.match_info["username"]
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await account_managers.certify(session, request_viewer(request), username, data)
        body = await account_managers.manager_profile(session, request_viewer(request), username)
    return account_managers.ManagerProfile.model_validate(body)


async def manager_report(request: web.Request) -> Answered:
    """GET /api/v1/account-managers/{username}/report?month=YYYY-MM"""
    month = month_param(request)
    async with request.config_dict[SESSIONS]() as session:
        body = await account_managers.monthly_report(
            session, request_viewer(request), request.match_info["username"], month=month
        )
    return account_managers.ManagerReport.model_validate(body)


async def manager_events(request: web.Request) -> Answered:
    """GET /api/v1/account-managers/{username}/events (graded text masked, audited)"""
    limit = int_param(request, "limit", default=100, high=MAX_PAGE) or 100
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        items = await account_managers.manager_events(
            session, request_viewer(request), request.match_info["username"], limit=limit
        )
    return events.CustomerEventList.model_validate({"items": items})


# -- changes after creation: rule inputs, contacts and profile; claims; service duties ----------------------------


async def update_customer(request: web.Request) -> Answered:
    """PATCH /api/v1/customers/{id}: answers the picture after the change (segment decided again)."""
    data = await json_body(request, customer_updates.CustomerUpdate)
    customer_id, viewer, today = _customer_id(request), request_viewer(request), business_today()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await customer_updates.update_customer(
            session, viewer, customer_id, data, rules=request.config_dict[RULES], as_of=today
        )
        picture = await customer_picture(
            session, viewer, rules=request.config_dict[RULES], as_of=today, customer_id=customer_id
        )
    return _picture(picture)


async def transfer_customer(request: web.Request) -> Answered:
    """POST /api/v1/customers/{id}/transfer: move a customer to another branch (center managers, administrators)."""
    body = await _ruled_change(request, transfers.transfer_customer, _customer_id(request), transfers.CustomerTransfer)
    return transfers.TransferPublic.model_validate(body)


async def update_claim(request: web.Request) -> Answered:
    """PATCH /api/v1/claims/{id}"""
    claim, segment, alerts = await _ruled_change(
        request, customer_updates.update_claim, path_id(request, "claim_id"), customer_updates.ClaimUpdate
    )
    return _claim_answer(claim, segment, alerts)


async def manager_tasks(request: web.Request) -> Answered:
    """GET /api/v1/account-managers/{username}/tasks?state=open|done|all&kind=&limit="""
    state = choice_param(request, "state", service_tasks.TASK_STATES) or "open"
    kind = choice_param(request, "kind", service_tasks.DUTY_NAMES)
    limit = int_param(request, "limit", default=100, high=MAX_PAGE) or 100
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        items = await service_tasks.manager_tasks(
            session,
            request_viewer(request),
            request.match_info["username"],
            as_of=business_today(),
            state=state,
            kind=kind,
            limit=limit,
        )
    return service_tasks.TaskList.model_validate({"items": items})


async def complete_task(request: web.Request) -> Answered:
    """POST /api/v1/service-tasks/{id}/done"""
    data = await json_body(request, service_tasks.TaskCompletion)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        return await service_tasks.complete_task(
            session, request_viewer(request), path_id(request, "task_id"), data, as_of=business_today()
        )


# -- blacklist, organisation, audit ----------------------------------------------------------------


async def add_blacklist_entry(request: web.Request) -> Answered:
    """POST /api/v1/blacklist"""
    data = await json_body(request, blacklist.BlacklistCreate)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        entry = await blacklist_decisions.list_customer(
            session, request_viewer(request), data, rules=request.config_dict[RULES], as_of=business_today()
        )
    return blacklist_decisions.entry_public(entry, request_viewer(request), as_of=business_today())


async def approve_blacklist_entry(request: web.Request) -> Answered:
    """POST /api/v1/blacklist/{entry_id}/approve"""
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        entry = await blacklist_decisions.approve_entry(
            session,
            request_viewer(request),
            path_id(request, "entry_id"),
            rules=request.config_dict[RULES],
            as_of=business_today(),
        )
    return blacklist_decisions.entry_public(entry, request_viewer(request), as_of=business_today())


async def org_units(request: web.Request) -> Answered:
    """GET /api/v1/org-units"""
    async with request.config_dict[SESSIONS]() as session:
        items = await org.list_org_units(session)
    return org.OrgUnitList.model_validate({"items": items})


async def staff(request: web.Request) -> Answered:
    """GET /api/v1/staff?role=&org_unit_id="""
    unit = int_param(request, "org_unit_id")
    role = choice_param(request, "role", Role)
    async with request.config_dict[SESSIONS]() as session:
        items = await org.list_staff(session, request_viewer(request), role=role, org_unit_id=unit)
    return org.StaffList.model_validate({"items": items})
