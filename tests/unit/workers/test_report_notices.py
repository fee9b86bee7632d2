"""The month's reports announced (SQLite): once the workers store a month's reports, each center manager, executive
and administrator gets a notice of their own unit's report (agents and account managers none), read when they open
it; a text message goes to those who asked for one, from their unit's hotline number, tried again after a passing
refusal and given up after a lasting one; announcing again adds nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from crm_store.org.scope import Viewer
from crm_store.org.tables import Role
from crm_store.reports import notices
from crm_store.reports.stored import generate_reports
from crm_store.reports.tables import ReportNotice, StoredReport
from crm_store.validation import InvalidInput
from telephony.twilio_rest import SentMessage, TwilioRestError
from tests.customer_helpers import build_org
from tests.report_helpers import kst, september
from workers import report_jobs
from workers.report_jobs import roll_up_last_month, send_report_messages

OCTOBER_FIRST = kst("2026-10-01", "00:05")


@dataclass
class FakeTwilio:
    """Twilio's REST API as far as messages go: refuses a number with its `refusals` first, then accepts."""

    refusals: dict[str, list[TwilioRestError]] = field(default_factory=dict)
    sent: list[dict[str, str]] = field(default_factory=list)

    def send_message(self, *, to: str, from_: str, body: str, status_callback: str | None = None) -> SentMessage:
        if self.refusals.get(to):
            raise self.refusals[to].pop(0)
        self.sent.append({"to": to, "from": from_, "body": body})
        return SentMessage(sid=f"SM{len(self.sent):032x}", status="queued")

    def close(self) -> None:
        pass


def _viewer(org: Any, username: str, role: Role, unit: str) -> Viewer:
    return Viewer(staff_id=org.staff[username], username=username, role=role, org_unit_id=org.units[unit])


def _notices(engine: Any) -> dict[tuple[int, int], ReportNotice]:
    with Session(engine) as session:
        return {(n.staff_id, n.report_id): n for n in session.exec(select(ReportNotice)).all()}


def test_the_month_s_reports_are_announced_to_each_unit_s_supervisors(
    context: Any, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = build_org(engine)
    september(engine, org.units)
    gangnam = _viewer(org, "cm.gangnam", Role.CENTER_MANAGER, "SEOUL-GANGNAM")
    with Session(engine) as session:
        notices.set_message_number(session, gangnam, "010-2345-6789", now=OCTOBER_FIRST)
        with pytest.raises(InvalidInput):
            notices.set_message_number(session, gangnam, "no number", now=OCTOBER_FIRST)
        assert notices.message_number(session, gangnam) == "+8210****6789"
        session.commit()
    twilio = FakeTwilio()
    monkeypatch.setattr(report_jobs, "twilio_rest", lambda: twilio)
    assert roll_up_last_month("2026-10-01", now=OCTOBER_FIRST) == 5
    with Session(engine) as session:
        report_of = {r.org_unit_id: r.id for r in session.exec(select(StoredReport)).all()}
    expected = {
        (org.staff[user], report_of[org.units[unit]])
        for user, unit in (
            ("admin", "HQ"),
            ("cm.seoul", "SEOUL"),
            ("cm.gangnam", "SEOUL-GANGNAM"),
            ("cm.busan", "BUSAN"),
        )
    }
    found = _notices(engine)
    assert set(found) == expected  # no agent, no account manager; each their own unit's report
    gangnam_notice = found[(org.staff["cm.gangnam"], report_of[org.units["SEOUL-GANGNAM"]])]
    assert (gangnam_notice.message_status, gangnam_notice.message_to) == ("sent", "+821023456789")
    assert {n.message_status for key, n in found.items() if n is not gangnam_notice} == {None}
    assert twilio.sent == [
        {
            "to": "+821023456789",
            "from": "+8225551000",  # the Gangnam branch's hotline number
            "body": "[월간 보고서] 2026-09 서울강남지점 월간 고객센터 보고서가 생성되었습니다. "
            "콘솔의 '월간 보고서'에서 확인하세요.",
        }
    ]
    with Session(engine) as session:
        assert notices.announce_reports(session, date(2026, 9, 1), now=OCTOBER_FIRST) == 0  # once per report
        [mine] = notices.my_notices(session, gangnam, unread_only=True)
        assert (mine.month, mine.org_unit_name, mine.read_at) == ("2026-09", "서울강남지점", None)
        notices.report_opened(session, gangnam, mine.report_id, now=OCTOBER_FIRST)
        assert notices.my_notices(session, gangnam, unread_only=True) == []
        busan = _viewer(org, "cm.busan", Role.CENTER_MANAGER, "BUSAN")
        with pytest.raises(notices.NoticeNotFound):
            notices.mark_read(session, busan, mine.id, now=OCTOBER_FIRST)  # not theirs
        [theirs] = notices.my_notices(session, busan)
        notices.mark_read(session, busan, theirs.id, now=OCTOBER_FIRST)
        assert notices.my_notices(session, busan)[0].read_at is not None


def test_a_message_twilio_refuses_for_a_passing_reason_is_tried_again_a_lasting_refusal_given_up(
    context: Any, engine: Any
) -> None:
    org = build_org(engine)
    september(engine, org.units)
    numbers = {"cm.seoul": ("SEOUL", "+821011112222"), "cm.busan": ("BUSAN", "+821033334444")}
    with Session(engine) as session:
        for user, (unit, number) in numbers.items():
            notices.set_message_number(
                session, _viewer(org, user, Role.CENTER_MANAGER, unit), number, now=OCTOBER_FIRST
            )
        generate_reports(session, date(2026, 9, 1), now=OCTOBER_FIRST, by="workers")
        assert notices.announce_reports(session, date(2026, 9, 1), now=OCTOBER_FIRST) == 4
        session.commit()
        waiting = notices.pending_messages(session)
    assert len(waiting) == 2
    lasting = TwilioRestError("not a mobile number", status=400, code=21614)
    twilio = FakeTwilio(
        refusals={"+821011112222": [TwilioRestError("busy", status=503)] * 2, "+821033334444": [lasting]}
    )
    assert send_report_messages(engine, twilio, waiting) == {"sent": 0, "pending": 1, "failed": 1}
    assert send_report_messages(engine, twilio, waiting) == {"sent": 0, "pending": 1, "failed": 0}  # busy again
    assert send_report_messages(engine, twilio, waiting) == {"sent": 1, "pending": 0, "failed": 0}
    assert send_report_messages(engine, twilio, waiting) == {"sent": 0, "pending": 0, "failed": 0}  # nothing left
    with Session(engine) as session:
        states = {n.message_to: (n.message_status, n.attempts) for n in session.exec(select(ReportNotice)).all()}
    assert states == {"+821011112222": ("sent", 3), "+821033334444": ("failed", 1), None: (None, 0)}
    assert [m["to"] for m in twilio.sent] == ["+821011112222"]


def test_a_message_busy_every_time_is_given_up_after_its_attempts(context: Any, engine: Any) -> None:
    org = build_org(engine)
    september(engine, org.units)
    with Session(engine) as session:
        notices.set_message_number(session, _viewer(org, "admin", Role.ADMIN, "HQ"), "+821055556666", now=OCTOBER_FIRST)
        generate_reports(session, date(2026, 9, 1), now=OCTOBER_FIRST, by="workers")
        notices.announce_reports(session, date(2026, 9, 1), now=OCTOBER_FIRST)
        session.commit()
        waiting = notices.pending_messages(session)
    twilio = FakeTwilio(refusals={"+821055556666": [TwilioRestError("timeout")] * 10})
    outcomes = [send_report_messages(engine, twilio, waiting) for _ in range(notices.MAX_ATTEMPTS)]
    assert [o["failed"] for o in outcomes] == [0] * (notices.MAX_ATTEMPTS - 1) + [1]
    assert twilio.sent == []
