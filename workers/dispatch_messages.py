"""Sending the text messages of dispatch (`crm_store.dispatch.messages`) through Twilio's REST API
(TWILIO_API_BASE): the job `dispatch-message-<id>` sends one at once, promised through the outbox in the step's
transaction; `send_due_messages`, run with the dispatch timers, sends again those put off (and any whose job was
lost). A gateway that crashes or restarts after the step loses none: the row and its job were committed with it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from crm_store.db import session_scope
from crm_store.dispatch.messages import Sender, SendFailed, due_messages, send_one
from telephony.twilio_rest import TwilioRest, TwilioRestError
from workers.context import current
from workers.queueing import QUEUE_DEFAULT, Step
from workers.settings import Settings

log = logging.getLogger(__name__)

DISPATCH_MESSAGE = Step("dispatch-message", "workers.dispatch_messages.send_dispatch_message", QUEUE_DEFAULT)


class TwilioSender:
    """A Sender over Twilio's REST API, its refusals and failures turned into SendFailed."""

    def __init__(self, settings: Settings) -> None:
        self.rest = TwilioRest(account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                               base_url=settings.twilio_api_base)  # fmt: skip

    def __call__(self, *, to: str, from_: str, body: str) -> str:
        try:
            return self.rest.send_message(to=to, from_=from_, body=body).sid
        except TwilioRestError as err:
            raise SendFailed(str(err), retryable=err.retryable) from err

    def close(self) -> None:
        self.rest.close()


def send_messages(engine: Engine, sender: Sender, message_ids: Iterable[int], *, now: datetime) -> dict[str, int]:
    """Send these messages, one transaction each; how many were sent, put off and given up."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for message_id in message_ids:
        with session_scope(engine) as session:
            outcome = send_one(session, message_id, sender, now=now)
        if outcome is not None:
            counts[outcome] += 1
    if counts["retry"] or counts["failed"]:
        log.warning("dispatch messages: %s", counts)
    return counts


def send_due_messages(engine: Engine, sender: Sender, *, now: datetime) -> dict[str, int]:
    """Send every pending message whose attempt is due at `now`."""
    with session_scope(engine) as session:
        due = due_messages(session, now=now)
    return send_messages(engine, sender, due, now=now)


def send_dispatch_message(message_id: str) -> dict[str, int]:
    """The job: send the message `message_id` now (nothing when it was sent already)."""
    sender = TwilioSender(current().settings)
    try:
        return send_messages(current().engine, sender, [int(message_id)], now=datetime.now(tz=UTC))
    finally:
        sender.close()
