"""Alerts a call raises, kept as customer events for the account manager (sync: they are written by worker jobs).

- A blacklist hit or a key customer calling: the incoming-call statement (`crm_store.calls.incoming`) promises a
  `call-alerts` job for such calls only, in the same statement and commit as the call; the job writes the events,
  so the live call waits for nothing more than that one row. The facts are read again when the job runs (seconds
  later): a listing revoked in between raises nothing.
- A repeat complainant: when the call is classified as a complaint (`workers.jobs.classify_call`), in the same
  transaction as the classification.

Each event carries the call's CallSid, and is written once per call, kind and customer: a redelivered webhook, a
retried job or a re-classification writes nothing more. The blacklist event names the entry and what matched, never
the entry's graded reason (that stays on the entry, masked by clearance wherever it is shown).

Addressee: the customer's current account manager (`crm_store.customers.events.customer_event`). A customer without one
gets the event with no addressee; it is not lost: center managers, executives and administrators list such events of
their part of the organisation (`GET /api/v1/customer-events?unaddressed=true`). An unknown caller dialling from a
number a listing names gets the event on the listed customer's record, for that customer's manager.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_store.calls.tables import Call, CallType
from crm_store.customers.alerts import MATCHED_ON
from crm_store.customers.blacklist import blacklist_hits_query, hits_from_rows
from crm_store.customers.events import customer_event
from crm_store.customers.phones import mask_phone, normalise_phone
from crm_store.customers.rules import Rules
from crm_store.customers.segment_rules import months_before
from crm_store.customers.tables import AlertKind, AlertLevel, Customer, CustomerEvent, Segment
from crm_store.errors import CallNotFound


@dataclass(frozen=True)
class CallAlert:
    """One event to write for a call."""

    customer_id: int
    kind: AlertKind
    level: AlertLevel
    reason: str


def _locked_call(session: Session, call_sid: str) -> Call:
    # The call row serialises the writers of one call's events (a retried job racing its first run).
    call = session.exec(select(Call).where(col(Call.call_sid) == call_sid).with_for_update()).first()
    if call is None:
        raise CallNotFound(call_sid)
    return call


def incoming_alerts(session: Session, call: Call, *, rules: Rules) -> list[CallAlert]:
    """What the caller of this call is, now: a blacklist match anywhere in the company, a key customer."""
    caller = normalise_phone(call.from_number) if call.from_number else None
    alerts: list[CallAlert] = []
    if call.customer_id is not None or caller is not None:
        hits = hits_from_rows(session.exec(blacklist_hits_query(call.customer_id, caller)).all(), call.customer_id)
        if hits:
            hit = hits[0]
            matched = MATCHED_ON.get(hit.matched_on, hit.matched_on)
            where = f"{hit.org_unit_name} 등재 건 #{hit.entry_id}, {matched} 일치"
            if call.customer_id is not None:
                reason = f"블랙리스트 {'등재' if hit.own else '일치'} 고객 전화 ({where})"
                alerts.append(CallAlert(call.customer_id, AlertKind.BLACKLIST, rules.alerts.blacklist.level, reason))
            else:
                reason = f"블랙리스트 등재 번호에서 미등록 발신 ({mask_phone(caller)}; {where})"
                alerts.append(
                    CallAlert(hit.listed_customer_id, AlertKind.BLACKLIST, rules.alerts.blacklist.level, reason)
                )
    if call.customer_id is not None:
        segment = session.exec(select(col(Customer.segment)).where(col(Customer.id) == call.customer_id)).first()
        if segment == Segment.KEY:
            level = rules.alerts.key_customer.level
            reason = "중점/대형 고객 전화 수신: 우선 응대 (녹색 채널)"
            alerts.append(CallAlert(call.customer_id, AlertKind.KEY_CUSTOMER, level, reason))
    return alerts


def report_incoming_alerts(session: Session, call_sid: str, *, rules: Rules) -> list[str]:
    """Write the blacklist and key-customer events of an incoming call (once); the kinds written now."""
    call = _locked_call(session, call_sid)
    return _write_once(session, call_sid, incoming_alerts(session, call, rules=rules))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def report_repeat_complainant(session: Session, call_sid: str, *, rules: Rules, as_of: date) -> list[str]:
    """After a call is classified as a complaint: a repeat-complainant event if the customer has made at least the
    configured number of complaint calls within the configured months (this one included), once per call."""
    call = _locked_call(session, call_sid)
    if call.type != CallType.COMPLAINT or call.customer_id is None:
        return []
    rule = rules.alerts.repeat_complainant
    # As the customer picture counts them: complaint calls on days after the day `months` months ago.
    since = _midnight(months_before(as_of, rule.months) + timedelta(days=1))
    complaints = session.exec(
        select(func.count())
        .select_from(Call)
        .where(
            col(Call.customer_id) == call.customer_id,
            col(Call.type) == CallType.COMPLAINT.value,
            col(Call.created_at) >= since,
        )
    ).one()
    if complaints < rule.complaints:
        return []
    reason = f"최근 {rule.months}개월 민원 {complaints}건 (기준 {rule.complaints}건 이상)"
    alert = CallAlert(call.customer_id, AlertKind.REPEAT_COMPLAINANT, rule.level, reason)
    return _write_once(session, call_sid, [alert])


def _write_once(session: Session, call_sid: str, alerts: Sequence[CallAlert]) -> list[str]:
    of_call = col(CustomerEvent.call_sid) == call_sid
    have = set(session.exec(select(col(CustomerEvent.customer_id), col(CustomerEvent.kind)).where(of_call)).all())
    written = []
    for alert in alerts:
        if (alert.customer_id, alert.kind.value) in have:
            continue
        session.exec(  # type: ignore[call-overload]
            customer_event(
                alert.customer_id, kind=alert.kind.value, level=alert.level, reason=alert.reason, call_sid=call_sid
            )
        )
        written.append(alert.kind.value)
    return written
