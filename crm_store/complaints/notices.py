"""Text messages to complaining customers: the receipt acknowledgement (with the handler's name and number), the
extension notice (with its reason) and the feedback message (the outcome). A step told "by text" writes its notice
in its own transaction; the workers send the notices through Twilio's REST API (`send_pending_notices`), retrying
with back-off, and record each sent or given-up notice in the dossier. A handler never waits on Twilio.

The message goes from the hotline number of the complaint's unit (the nearest unit at or above it with one, from
`crm_store/review/routing.json`) to the customer's first mobile number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, col, select

from crm_store.calendar import KST
from crm_store.complaints.tables import Complaint, ComplaintNotice
from crm_store.customers.phones import mask_phone
from crm_store.customers.tables import CustomerPhone
from crm_store.org.chain import path_ids
from crm_store.org.tables import OrgUnit
from crm_store.review.routing import load_routing_rules
from crm_store.upsert import insert_ignoring_conflict

# Seconds before the 2nd, 3rd, ... attempt; after the last the notice is given up (and the dossier says so).
BACK_OFF = (60, 300, 1800, 7200)
# Which step's form asks for a text, and by which field and value.
BY_TEXT = {"acknowledgement": ("via", "sms"), "extension": ("notice_via", "sms"), "feedback": ("method", "message")}
KINDS = {"acknowledgement": "receipt", "receipt": "receipt", "extension": "extension", "feedback": "feedback"}


class Sender(Protocol):
    """What sends a text (telephony.twilio_rest.TwilioRest)."""

    def send_message(self, *, to: str, from_: str, body: str, status_callback: str | None = None) -> Any: ...


def wants_text(action: str, form: dict[str, Any]) -> bool:
    """Whether the step's form tells the customer by text message."""
    field, value = BY_TEXT.get(action, ("", None))
    return field != "" and form.get(field) == value


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(KST):%Y-%m-%d}"


def notice_body(kind: str, complaint: Complaint, form: dict[str, Any], *, extra: str = "") -> str:
    """The Korean text of a notice."""
    if kind == "receipt":
        return (f"[민원 접수] 고객님의 민원({complaint.number})이 접수되었습니다. 담당자 {form.get('handler_name', '')}"
                f" ({form.get('handler_phone', '')}). 처리 기한 {_day(complaint.resolve_by)}.")  # fmt: skip
    if kind == "extension":
        until = _day(complaint.resolve_by)
        reason = form.get("reason", "")
        return f"[처리 기한 연장] 민원({complaint.number})의 처리 기한이 {until}까지 연장되었습니다. 사유: {reason}"
    return f"[민원 처리 결과] 민원({complaint.number}): {extra or '처리가 완료되었습니다.'}"[:1000]


def sender_number(session: Session, unit_id: int) -> str | None:
    """The hotline number of the unit or the nearest unit above it that has one."""
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        return None
    chain = session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(path_ids(unit.path) or [unit_id]))).all()
    return _nearest_number([u.code for u in sorted(chain, key=lambda u: -u.level)])


def _nearest_number(codes_upward: list[str]) -> str | None:
    """The hotline number of the first of these units (a unit, then those above it) that has one."""
    by_code = {code: number for number, code in sorted(load_routing_rules().hotline_numbers.items())}
    return next((by_code[code] for code in codes_upward if code in by_code), None)


def customer_mobile(session: Session, customer_id: int) -> str | None:
    """The customer's first mobile number (else first number)."""
    phones = session.exec(
        select(CustomerPhone).where(col(CustomerPhone.customer_id) == customer_id).order_by(col(CustomerPhone.id))
    ).all()
    mobiles = [p for p in phones if p.label == "mobile"] or list(phones)
    return mobiles[0].e164 if mobiles else None


def queue_notice(
    session: Session,
    complaint: Complaint,
    action: str,
    step_id: int,
    form: dict[str, Any],
    *,
    now: datetime,
    extra: str = "",
) -> bool:
    """Write the step's notice to be sent, once per dossier entry; False when the customer has no number."""
    assert complaint.id is not None
    to = customer_mobile(session, complaint.customer_id)
    if to is None:
        return False
    kind = KINDS[action]
    values = {
        "complaint_id": complaint.id, "step_id": step_id, "kind": kind, "to_phone": to,
        "body": notice_body(kind, complaint, form, extra=extra), "status": "pending", "attempts": 0,
        "next_attempt_at": now, "created_at": now,
    }  # fmt: skip
    session.exec(insert_ignoring_conflict(session.bind.dialect.name, ComplaintNotice, values))  # type: ignore[union-attr]
    return True


def _due(session: Session, now: datetime, limit: int) -> list[ComplaintNotice]:
    query = (
        select(ComplaintNotice)
        .where(col(ComplaintNotice.status) == "pending", col(ComplaintNotice.next_attempt_at) <= now)
        .order_by(col(ComplaintNotice.next_attempt_at), col(ComplaintNotice.id))
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        query = query.with_for_update(skip_locked=True)
    return list(session.exec(query).all())


def due_notices(session: Session, *, now: datetime, limit: int) -> list[int]:
    """The ids of the notices to send at `now`, the longest waiting first."""
    return [int(n.id) for n in _due(session, now, limit) if n.id is not None]


def notice_entry(notice: ComplaintNotice, sent_from: str | None) -> dict[str, Any]:
    """The dossier entry's form of a notice sent or given up (the number masked)."""
    form = {"kind": notice.kind, "to": mask_phone(notice.to_phone), "from": sent_from, "status": notice.status,
            "attempts": notice.attempts, "message_sid": notice.message_sid, "error": notice.error}  # fmt: skip
    return {k: v for k, v in form.items() if v is not None}


def site_numbers(session: Session) -> list[tuple[str, int, str | None]]:
    """Every active business site (org unit) with the complaint number published there: its own hotline number,
    else that of the nearest unit above it; head office first, then by the organisation's tree."""
    units = session.exec(select(OrgUnit).order_by(col(OrgUnit.path))).all()
    code_of = {unit.id: unit.code for unit in units}
    return [
        (unit.name, unit.level, _nearest_number([code_of[i] for i in reversed(path_ids(unit.path)) if i in code_of]))
        for unit in units
        if unit.active
    ]
