"""The dispatch timers as a periodic duty: assignments not accepted in time go back to the board, and requests whose
promise ran out with nobody on site are flagged and escalated to the center manager (crm_store.dispatch.duties).

`workers.periodic.dispatch_timers_duty` runs it every maintenance interval (`dispatch-timers-<slot start>`); each run
is one transaction and safe to repeat (an assignment ends once, a request is escalated once)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from crm_store.db import session_scope
from crm_store.dispatch.duties import escalate_late, return_unaccepted
from workers.context import current

log = logging.getLogger(__name__)


def dispatch_timers(as_of: str) -> dict[str, Any]:
    """The job: at `as_of` (ISO), the requests back on the board and the late ones escalated (with their manager)."""
    now = datetime.fromisoformat(as_of)
    with session_scope(current().engine) as session:
        returned = return_unaccepted(session, now=now)
        escalated = escalate_late(session, now=now)
    if returned:
        log.info("dispatch requests not accepted in time, back on the board: %s", returned)
    for escalation in escalated:
        log.warning("dispatch request %s is late; escalated to %s", escalation.request_id, escalation.manager)
    return {"returned": returned, "escalated": [[e.request_id, e.manager] for e in escalated]}
