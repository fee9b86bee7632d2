"""What a caller has open with us, for the agent's screen pop: complaints not closed and dispatch requests not done
or called off, newest first (each read through the customer's index of its table), an audited read."""

from __future__ import annotations

from pydantic import Field as PField
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_read
from crm_store.complaints.tables import Complaint
from crm_store.customers.records import visible_customer
from crm_store.dispatch.tables import DispatchRequest
from crm_store.org.scope import Viewer
from crm_store.types import Answer, Moment

SHOWN = 20
FINISHED_DISPATCHES = ("done", "cancelled")
OPEN_CASE_FIELDS = ("open_complaints", "open_dispatches")


class OpenComplaint(Answer):
    """A complaint of the customer that is not closed."""

    id: int = PField(description="the complaint")
    number: str = PField(description="its number (C-2026-000001)")
    state: str = PField(description="the last step done, or reopened")
    category: str = PField(description="disclosure class")
    topic: str | None = PField(description="the complaint topic of the taxonomy")
    received_at: Moment = PField(description="when it was received (UTC)")
    resolve_by: Moment = PField(description="its resolve limit (UTC)")


class OpenDispatch(Answer):
    """A dispatch request of the customer that is neither done nor called off."""

    id: int = PField(description="the request")
    kind: str = PField(description="survey, tow or rescue")
    state: str = PField(description="draft, open, assigned, accepted, en_route, on_site or reporting")
    address: str = PField(description="the scene as told")
    created_at: Moment = PField(description="when it was made (UTC)")
    due_at: Moment | None = PField(description="when it is promised by (UTC); null while a draft")


class OpenCases(Answer):
    """GET /api/v1/customers/{customer_id}/open-cases."""

    customer_id: int = PField(description="the customer")
    complaints: list[OpenComplaint] = PField(description=f"complaints not closed, newest first (at most {SHOWN})")
    dispatches: list[OpenDispatch] = PField(description=f"dispatch requests under way, newest first (at most {SHOWN})")


async def open_cases(session: AsyncSession, viewer: Viewer, customer_id: int, *, call_sid: str | None) -> OpenCases:
    """The customer's open complaints and dispatch requests (CustomerNotFound outside the viewer's scope)."""
    await visible_customer(session, viewer, customer_id)
    complaints = (
        await session.exec(
            select(Complaint)
            .where(col(Complaint.customer_id) == customer_id, col(Complaint.state) != "closed")
            .order_by(col(Complaint.id).desc())
            .limit(SHOWN)
        )
    ).all()
    dispatches = (
        await session.exec(
            select(DispatchRequest)
            .where(
                col(DispatchRequest.customer_id) == customer_id,
                col(DispatchRequest.state).not_in(FINISHED_DISPATCHES),
            )
            .order_by(col(DispatchRequest.id).desc())
            .limit(SHOWN)
        )
    ).all()
    record_read(session, viewer, customer_id=customer_id, fields=OPEN_CASE_FIELDS, call_sid=call_sid, purpose="desk")
    return OpenCases.model_validate(
        {
            "customer_id": customer_id,
            "complaints": [
                {
                    "id": c.id,
                    "number": c.number,
                    "state": c.state,
                    "category": c.category,
                    "topic": c.topic,
                    "received_at": c.received_at,
                    "resolve_by": c.resolve_by,
                }
                for c in complaints
            ],
            "dispatches": [
                {
                    "id": d.id,
                    "kind": d.kind,
                    "state": d.state,
                    "address": d.address,
                    "created_at": d.created_at,
                    "due_at": d.due_at,
                }
                for d in dispatches
            ],
        }
    )
