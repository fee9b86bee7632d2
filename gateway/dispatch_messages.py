"""Text messages of dispatch through Twilio's REST API (TWILIO_API_BASE): the surveyor told at once of an
assignment with the link to their page, the customer given an arrival estimate once the surveyor accepts.

Sent after the change is committed, as a task of the gateway (never awaited by the handler): a failure Twilio may
recover from (no answer, 429, 5xx) is tried again after 1, 4 and 16 seconds; a refusal is logged and given up.
The message text is built by the store (`crm_store.dispatch.requests`); the number is never logged whole."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.tables import CustomerPhone
from crm_store.dispatch.board_view import contact_of_surveyor
from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.requests import arrival_notice, assignment_notice
from crm_store.dispatch.suggest import distance_km, eta_minutes
from crm_store.dispatch.tables import DispatchRequest, SurveyorProfile, Vendor
from crm_store.org.tables import Staff
from gateway.desk import TWILIO_REST
from gateway.desk_socket import Config
from gateway.dispatch_live import tell_boards, unit_path
from gateway.keys import DISPATCH, SETTINGS
from telephony.twilio_rest import TwilioRestError

log = logging.getLogger(__name__)

RETRY_DELAYS = (1.0, 4.0, 16.0)


class Pending:
    """The messages under way in this process (kept so that none is collected before it is sent)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()


PENDING = web.AppKey("dispatch_messages", Pending)


def _masked(number: str) -> str:
    return number[:-4] + "****" if len(number) > 6 else "****"


async def _send(app: Config, to: str, body: str) -> None:
    rest, sender = app[TWILIO_REST], app[DISPATCH].message_from
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
        await asyncio.sleep(delay)
        try:
            sent = await rest.send_message_async(to=to, from_=sender, body=body)
        except TwilioRestError as err:
            if not err.retryable or attempt == len(RETRY_DELAYS):
                log.warning("dispatch message to %s not sent: %s", _masked(to), err)
                return
            continue
        log.info("dispatch message %s sent to %s", sent.sid, _masked(to))
        return


def send_soon(app: Config, to: str | None, body: str) -> None:
    """Send a text message in the background (nothing when there is no number to send to)."""
    if not to:
        return
    pending = app[PENDING].tasks
    task = asyncio.get_running_loop().create_task(_send(app, to, body), name="dispatch-message")
    pending.add(task)
    task.add_done_callback(pending.discard)


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


async def _drain(app: web.Application) -> None:
    pending = list(app[PENDING].tasks)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def setup_dispatch_messages(app: web.Application) -> None:
    """The set of messages under way, cancelled at shutdown."""
    app[PENDING] = Pending()
    app.on_cleanup.append(_drain)


class Aftermath:
    """What follows a committed step of a request: the boards told, and the messages it calls for."""

    def __init__(
        self, request: DispatchRequest, path: str, surveyor: str | None, messages: list[tuple[str | None, str]]
    ) -> None:
        self.request_id, self.state, self.path, self.messages = int(request.id or 0), request.state, path, messages
        self.surveyor, self.vendor = surveyor, request.vendor_id

    async def follow(self, app: Config) -> None:
        """Tell the boards (the request, with its surveyor or vendor) and send the messages (call once the
        transaction is committed)."""
        await tell_boards(
            app, "request", self.request_id, path=self.path, state=self.state, surveyor=self.surveyor,
            vendor=self.vendor,
        )  # fmt: skip
        for to, body in self.messages:
            send_soon(app, to, body)


async def aftermath(
    session: AsyncSession,
    app: Config,
    request: DispatchRequest,
    *,
    now: datetime,
    accept_by: datetime | None = None,
) -> Aftermath:
    """What a step that left `request` as it is calls for: the surveyor told of a new assignment (`accept_by`
    given), the customer told when to expect the surveyor once accepted."""
    messages = []
    if accept_by is not None and request.kind == "survey":
        messages.append(await tell_surveyor(session, app, request, accept_by=accept_by))
    elif accept_by is not None and request.vendor_id is not None:
        messages.append(await tell_vendor(session, app, request, accept_by=accept_by))
    if request.state == "accepted":
        messages.append(await tell_customer(session, app[DISPATCH], request, now=now))
    path = await unit_path(session, request.org_unit_id)
    surveyor = None
    if request.surveyor_id is not None:
        surveyor = (await session.exec(select(col(Staff.username)).where(col(Staff.id) == request.surveyor_id))).first()
    return Aftermath(request, path, surveyor, messages)
