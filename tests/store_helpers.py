"""Small store fixtures shared by tests: an org unit and a customer reachable by phone."""

from __future__ import annotations

from sqlmodel import Session, select

from crm_store.customers.tables import Customer, CustomerPhone
from crm_store.db import make_engine, session_scope
from crm_store.org.tables import OrgUnit


def add_unit(session: Session, code: str, name: str, level: int, parent: OrgUnit | None = None) -> OrgUnit:
    """An org unit under `parent` (none: a root), with its materialised path."""
    unit = OrgUnit(code=code, name=name, level=level, parent_id=parent.id if parent else None)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.add(unit)
    return unit


def head_office(session: Session) -> OrgUnit:
    """The head office, with its materialised path."""
    return add_unit(session, "HQ", "본사", 0)


def existing_head_office(session: Session) -> OrgUnit:
    """The head office, created if the database has none yet."""
    return session.exec(select(OrgUnit).where(OrgUnit.code == "HQ")).first() or head_office(session)


def add_customer(
    database_url: str, *, phone: str = "+821012345678", name: str = "김민준", segment: str = "quality"
) -> int:
    """A customer with one phone number (and the head office if the database has none)."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            unit = existing_head_office(session)
            customer = Customer(kind="individual", name=name, org_unit_id=unit.id, segment=segment)
            session.add(customer)
            session.flush()
            session.add(CustomerPhone(customer_id=customer.id, e164=phone))
            return int(customer.id)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def add_admin(database_url: str) -> None:
    """The head-office administrator `admin`, whose token the simulator uses."""
    from crm_store.org.tables import Staff

    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            unit = existing_head_office(session)
            if session.exec(select(Staff).where(Staff.username == "admin")).first() is None:
                session.add(Staff(username="admin", full_name="관리자", role="admin", org_unit_id=unit.id, clearance=5))
    finally:
        engine.dispose()
