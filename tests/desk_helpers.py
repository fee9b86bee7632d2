"""The desk in tests: the default menu installed on a hotline number, callers of each segment, TwiML parsed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

from crm_store.calendar import KST
from crm_store.customers.tables import Customer, CustomerPhone
from crm_store.desk.seed import default_desk, install_menu
from crm_store.desk.tables import CallbackTask, DeskQueue, WaitingCall
from crm_store.org.tables import OrgUnit

HOTLINE = "+8215881234"
# Monday 7 December 2026, a business day; Friday 25 December 2026 is Christmas (성탄절), a public holiday.
BUSINESS_DAY = date(2026, 12, 7)
HOLIDAY = date(2026, 12, 25)


def kst(day: date, at: time = time(10)) -> datetime:
    """An aware moment in Korea."""
    return datetime.combine(day, at, tzinfo=KST)


def install_default_menu(engine: Any, number: str = HOTLINE) -> None:
    """The packaged default queues and menu on one hotline number."""
    desk = default_desk()
    with Session(engine) as session:
        install_menu(session, number, desk["menu"], desk["queues"])
        session.commit()


def install_desk(engine: Any) -> dict[str, int]:
    """The default menu on HOTLINE and a caller of each segment (`add_callers`); the callers' customer ids."""
    install_default_menu(engine)
    return add_callers(engine)


def add_callers(engine: Any) -> dict[str, int]:
    """Customers of each segment with their phones: +82101000000N; returns customer ids by segment."""
    with Session(engine) as session:
        unit = session.exec(select(OrgUnit).where(col(OrgUnit.code) == "HQ")).first()
        if unit is None:
            unit = OrgUnit(code="HQ", name="본사", level=0, path="/1/")
            session.add(unit)
            session.flush()
        ids = {}
        for segment in ("ordinary", "quality", "key", "inferior"):
            customer = Customer(
                kind="corporate" if segment == "key" else "individual",
                name=f"{segment} 고객",
                org_unit_id=unit.id,
                segment=segment,
                blacklisted=segment == "inferior",
            )
            session.add(customer)
            session.flush()
            session.add(CustomerPhone(customer_id=customer.id, e164=caller_number(segment)))
            ids[segment] = int(customer.id)  # type: ignore[arg-type]
        session.commit()
        return ids


def caller_number(segment: str) -> str:
    """The phone number of the test caller of a segment."""
    return "+8210100000" + str(("ordinary", "quality", "key", "inferior").index(segment) + 1).zfill(2)


def twiml(body: str) -> ET.Element:
    """The <Response> element of a TwiML answer (fails on anything else)."""
    assert body.startswith("<?xml"), body[:80]
    root = ET.fromstring(body.encode())
    assert root.tag == "Response"
    return root


def says(root: ET.Element) -> list[str]:
    """Every <Say> text, in order, nested ones included."""
    return [element.text or "" for element in root.iter("Say")]


def waiting_calls(engine: Any) -> dict[str, WaitingCall]:
    with Session(engine) as session:
        return {row.call_sid: row for row in session.exec(select(WaitingCall)).all()}


def callbacks(engine: Any) -> list[CallbackTask]:
    with Session(engine) as session:
        return list(session.exec(select(CallbackTask).order_by(col(CallbackTask.id))).all())


def queue_id(engine: Any, name: str) -> int:
    with Session(engine) as session:
        return int(session.exec(select(DeskQueue.id).where(col(DeskQueue.name) == name)).one())  # type: ignore[arg-type]
