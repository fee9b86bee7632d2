"""The dispatch timers as a periodic duty: assignments not accepted in time go back to the board, and requests whose
promise ran out with nobody on site are flagged and escalated to the center manager (crm_store.dispatch.duties);
the open dispatch boards are told of each (workers.dispatch_channel), so a late request turns red there at once.
Each run also sends the dispatch messages whose next attempt is due (`workers.dispatch_messages`: those put off
after a failure, and any whose own job was lost).

`workers.periodic.dispatch_timers_duty` runs it every maintenance interval (`dispatch-timers-<slot start>`); each run
is one transaction and safe to repeat (an assignment ends once, a request is escalated once)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlmodel import col, select

from crm_store.db import session_scope
from crm_store.dispatch.duties import escalate_late, return_unaccepted
from crm_store.dispatch.tables import DispatchRequest
from crm_store.org.tables import OrgUnit
from workers.context import current
from workers.dispatch_channel import board_frame, send_to_boards
from workers.dispatch_messages import TwilioSender, send_due_messages

log = logging.getLogger(__name__)


def dispatch_timers(as_of: str) -> dict[str, Any]:
    """The job: at `as_of` (ISO), the requests back on the board and the late ones escalated (with their manager)."""
    now = datetime.fromisoformat(as_of)
    with session_scope(current().engine) as session:
        returned = return_unaccepted(session, now=now)
        escalated = escalate_late(session, now=now)
        changed = sorted({*returned, *(e.request_id for e in escalated)})
        frames = [
            board_frame("request", int(request_id or 0), unit_path=path or "/", state=state)
            for request_id, state, path in session.exec(
                select(DispatchRequest.id, DispatchRequest.state, OrgUnit.path)
                .outerjoin(OrgUnit, col(OrgUnit.id) == col(DispatchRequest.org_unit_id))
                .where(col(DispatchRequest.id).in_(changed))
            ).all()
        ]
    # Committed: the open boards read the requests again (a frame lost leaves them as they were until the next).
    for frame in frames:
        try:
            send_to_boards(current().redis, frame)
        except RedisError:
            log.warning("board frame for request %s not published", frame["id"], exc_info=True)
    if returned:
        log.info("dispatch requests not accepted in time, back on the board: %s", returned)
    for escalation in escalated:
        log.warning("dispatch request %s is late; escalated to %s", escalation.request_id, escalation.manager)
    sender = TwilioSender(current().settings)
    try:
        messages = send_due_messages(current().engine, sender, now=now)
    finally:
        sender.close()
    return {"returned": returned, "escalated": [[e.request_id, e.manager] for e in escalated], "messages": messages}
