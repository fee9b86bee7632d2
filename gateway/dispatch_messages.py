"""Text messages of dispatch through Twilio's REST API (TWILIO_API_BASE): the surveyor told at once of an
assignment with the link to their page, a vendor offered a tow or rescue, the customer given an arrival estimate
once the surveyor accepts.

Each message is written in the step's own transaction (`crm_store.dispatch.messages`) with the outbox job that sends
it (`workers.dispatch_messages`); once committed, the outbox relay is woken, so the message leaves at once, and a
gateway that crashes or restarts after the step loses none. The workers retry what Twilio may recover from with
back-off. The message text is built by the store (`crm_store.dispatch.requests`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calls.outbox import promise_job
from crm_store.customers.tables import CustomerPhone
from crm_store.db import run_async
from crm_store.dispatch.board_view import contact_of_surveyor
from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.messages import write_message
from crm_store.dispatch.requests import arrival_notice, assignment_notice
from crm_store.dispatch.suggest import distance_km, eta_minutes
from crm_store.dispatch.tables import DispatchRequest, SurveyorProfile, Vendor
from crm_store.org.tables import Staff
from gateway.desk_socket import Config
from gateway.dispatch_live import tell_boards, unit_path
from gateway.keys import DISPATCH, RELAY_WAKE, SETTINGS
from workers.dispatch_messages import DISPATCH_MESSAGE


def page_link(app: Config, request_id: int) -> str:
    """The surveyor's page of a request, as a link in a message."""
    return f"{app[SETTINGS].base_url.rstrip('/')}/console/field/{request_id}"


async def tell_surveyor(
    session: AsyncSession, app: Config, request: DispatchRequest, *, accept_by: datetime
) -> tuple[str | None, str]:
    """The number and text of the message telling the assigned surveyor (None: they have no number)."""
    phone = await contact_of_surveyor(session, request.surveyor_id) if request.surveyor_id is not None else None
    return phone, assignment_notice(request, link=page_link(app, int(request.id or 0)), accept_by=accept_by)


async def tell_vendor(
    session: AsyncSession, app: Config, request: DispatchRequest, *, accept_by: datetime
) -> tuple[str | None, str]:
    """The number and text of the message offering a tow or rescue to its vendor, who answers the board by phone."""
    vendor = await session.get(Vendor, request.vendor_id)
    answer = f"회신: {app[DISPATCH].message_from}"
    return (vendor.phone if vendor is not None else None), assignment_notice(request, link=answer, accept_by=accept_by)


async def _customer_phone(session: AsyncSession, request: DispatchRequest) -> str | None:
    if request.contact_phone:
        return request.contact_phone
    if request.customer_id is None:
        return None
    query = select(col(CustomerPhone.e164)).where(col(CustomerPhone.customer_id) == request.customer_id)
    return (await session.exec(query.order_by(col(CustomerPhone.id)))).first()


async def tell_customer(
    session: AsyncSession, config: DispatchConfig, request: DispatchRequest, *, now: datetime
) -> tuple[str | None, str]:
    """The number and text of the customer's arrival estimate, from where the surveyor last was (the promise when
    their position is unknown)."""
    minutes = request.promise_minutes or 30
    profile = await session.get(SurveyorProfile, request.surveyor_id) if request.surveyor_id is not None else None
    if profile is not None and None not in (profile.lat, profile.lon, request.lat, request.lon):
        km = distance_km(profile.lat, profile.lon, request.lat, request.lon)  # type: ignore[arg-type]
        minutes = eta_minutes(km, region=request.region, config=config)
    return await _customer_phone(session, request), arrival_notice(request, eta_minutes=minutes, now=now)


class Aftermath:
    """What follows a committed step of a request: the boards told, and the messages it calls for."""

    def __init__(self, request: DispatchRequest, path: str, surveyor: str | None, messages: int) -> None:
        self.request_id, self.state, self.path, self.messages = int(request.id or 0), request.state, path, messages
        self.surveyor, self.vendor = surveyor, request.vendor_id

    async def follow(self, app: Config) -> None:
        """Tell the boards (the request, with its surveyor or vendor) and wake the outbox relay for the messages
        (call once the transaction is committed)."""
        await tell_boards(
            app, "request", self.request_id, path=self.path, state=self.state, surveyor=self.surveyor,
            vendor=self.vendor,
        )  # fmt: skip
        if self.messages:
            app[RELAY_WAKE].set()


async def aftermath(
    session: AsyncSession,
    app: Config,
    request: DispatchRequest,
    *,
    now: datetime,
    accept_by: datetime | None = None,
) -> Aftermath:
    """What a step that left `request` as it is calls for, its messages written in the step's transaction: the
    surveyor told of a new assignment (`accept_by` given) or the vendor offered it, the customer told when to expect
    the surveyor once accepted."""
    messages: list[tuple[str, tuple[str | None, str]]] = []
    if accept_by is not None and request.kind == "survey":
        messages.append(("assignment", await tell_surveyor(session, app, request, accept_by=accept_by)))
    elif accept_by is not None and request.vendor_id is not None:
        messages.append(("vendor", await tell_vendor(session, app, request, accept_by=accept_by)))
    if request.state == "accepted":
        messages.append(("arrival", await tell_customer(session, app[DISPATCH], request, now=now)))
    written = 0
    for purpose, (to, body) in messages:
        if to:
            await run_async(session, _promise, int(request.id or 0), purpose, to, app[DISPATCH].message_from, body, now)
            written += 1
    path = await unit_path(session, request.org_unit_id)
    surveyor = None
    if request.surveyor_id is not None:
        surveyor = (await session.exec(select(col(Staff.username)).where(col(Staff.id) == request.surveyor_id))).first()
    return Aftermath(request, path, surveyor, written)


def _promise(session: Session, request_id: int, purpose: str, to: str, sender: str, body: str, now: datetime) -> None:
    message = write_message(session, request_id=request_id, purpose=purpose, to=to, sender=sender, body=body, now=now)
    promise_job(session, DISPATCH_MESSAGE.promise(str(message.id)))
