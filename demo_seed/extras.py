"""The demo's customer care: aggregates, blacklist keys and cross-branch matches, segments by the configured
rules (with history), account managers of all five grades with one manager per customer, complaint calls, the
scheduled service duties, and customer profiles (family, occupation, contact preferences; industry, size,
business situation, contacts). Runs once, right after the base demo seed."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from crm_store.calls.tables import Call, CallType
from crm_store.customers.blacklist import backfill_keys
from crm_store.customers.rules import Rules, load_rules
from crm_store.customers.segments import recompute_all_segments
from crm_store.customers.stats import rebuild_stats
from crm_store.customers.tables import (
    BlacklistEntry,
    BlacklistKey,
    Customer,
    CustomerKind,
    CustomerPhone,
    KeyAccount,
    Vehicle,
)
from crm_store.managers.account_managers import approving_level, schedule_service_tasks
from crm_store.managers.tables import AccountAssignment, AccountManager, ManagerCertification, ManagerGrade
from crm_store.org.tables import OrgLevel, OrgUnit, Role, Staff
from demo_seed.people import DEMO_BLACKLISTED_CALLER, DEMO_CALLER
from demo_seed.profiles import seed_profiles

DEMO_PLATE = "27다1234"
DEMO_COMPLAINER_CALLS = 3


def seed_customer_extras(engine: Engine, *, rng: random.Random, as_of: date, rules: Rules | None = None) -> None:
    """Customer aggregates, blacklist keys and matches, segments and account managers of the demo (deterministic for a
    given rng)."""
    rules = rules or load_rules()
    rebuild_stats(engine)
    with engine.begin() as conn:
        units = {u.id: u for u in conn.execute(select(OrgUnit)).all()}
        listed_id = _customer_by_phone(conn, DEMO_BLACKLISTED_CALLER)
        regular_id = _customer_by_phone(conn, DEMO_CALLER)
        listed_unit = conn.scalar(select(col(Customer.org_unit_id)).where(col(Customer.id) == listed_id))
        other_province = _province(units, int(listed_unit or 0))
        elsewhere = [
            (cid, unit)
            for cid, unit in conn.execute(
                select(col(Customer.id), col(Customer.org_unit_id))
                .where(
                    ~col(Customer.blacklisted),
                    col(Customer.kind) == CustomerKind.INDIVIDUAL.value,
                    col(Customer.id) != regular_id,
                )
                .order_by(col(Customer.id))
            ).all()
            if _province(units, unit) != other_province
        ]
        twins = [cid for cid, _ in _some(rng, elsewhere, 2)]
        phone_twin = twins[0] if twins else None
        plate_twin = twins[1] if len(twins) > 1 else None
        # The listed customer's car, and a customer at another province's branch insuring the same plate.
        conn.execute(
            insert(Vehicle),
            [
                {"customer_id": cid, "plate": DEMO_PLATE, "created_at": _at(as_of)}
                for cid in (listed_id, plate_twin)
                if cid is not None
            ],
        )
    # Keys of every listing (registration hash, phones, the plate just added), then the evidence below.
    backfill_keys(engine)
    with engine.begin() as conn:
        # Evidence of the listing: another number the fraud ring used, now a customer's at another branch.
        entry_id = conn.scalar(select(col(BlacklistEntry.id)).where(col(BlacklistEntry.customer_id) == listed_id))
        conn.execute(
            update(BlacklistEntry)
            .where(col(BlacklistEntry.id) == entry_id)
            .values(evidence="동일 연락처로 다른 지점에서 사고 접수 (제보)", review_on=as_of + timedelta(days=365))
        )
        if phone_twin is not None:
            twin_phone = conn.scalar(
                select(col(CustomerPhone.e164)).where(col(CustomerPhone.customer_id) == phone_twin)
            )
            conn.execute(insert(BlacklistKey), [{"entry_id": entry_id, "kind": "phone", "value": twin_phone}])
        # Key flags, a fraud marker and late payments feed the segment rules.
        corporates = conn.scalars(
            select(col(Customer.id))
            .where(col(Customer.kind) == CustomerKind.CORPORATE.value)
            .order_by(col(Customer.id))
        ).all()
        for customer_id, flag in zip(_some(rng, list(corporates), len(KeyAccount)), KeyAccount, strict=False):
            conn.execute(update(Customer).where(col(Customer.id) == customer_id).values(key_account=flag.value))
        individuals = [cid for cid, _ in elsewhere if cid not in twins]
        marked = _some(rng, individuals, 6)
        fraud, late = marked[:1], marked[1:]
        conn.execute(update(Customer).where(col(Customer.id).in_(fraud)).values(fraud_marker=True))
        conn.execute(update(Customer).where(col(Customer.id).in_(late)).values(late_payments=2))
        # A repeat complainant: complaint calls in the last months.
        complainers = [rng.choice(individuals)] if individuals else []
        calls = [
            {
                "call_sid": "CA" + secrets.token_hex(16),
                "from_number": None,
                "to_number": "+8215881234",
                "status": "completed",
                "customer_id": complainer,
                "type": CallType.COMPLAINT.value,
                "topic": "complaint.claim_delay",
                "pipeline_state": "classified",
                "status_sequence": 3,
                "created_at": _at(as_of - timedelta(days=20 * n)),
                "updated_at": _at(as_of - timedelta(days=20 * n)),
                "started_at": _at(as_of - timedelta(days=20 * n)),
            }
            for complainer in complainers
            for n in range(DEMO_COMPLAINER_CALLS)
        ]
        if calls:
            conn.execute(insert(Call), calls)
        _certify_managers(conn, units, as_of)
        _assign_managers(conn, units)
        picked = {*marked, *complainers}
        proposed = next((int(c) for c in individuals if c is not None and c not in picked), None)
        if proposed is not None:
            _pending_proposal(conn, proposed, as_of)
        # An entry in force whose yearly review has come: center managers see it as due for review.
        due = _first_other_entry(conn, int(entry_id or 0))
        if due is not None:
            conn.execute(
                update(BlacklistEntry).where(col(BlacklistEntry.id) == due).values(review_on=as_of - timedelta(days=7))
            )
    backfill_keys(engine)  # the proposal's keys: a proposal is matched on them once approved
    recompute_all_segments(engine, rules=rules, as_of=as_of, changed_by="demo")
    schedule_service_tasks(engine, rules=rules, as_of=as_of)
    with engine.begin() as conn:
        seed_profiles(conn, rng, as_of=as_of, always=regular_id)


def _pending_proposal(conn: Any, customer_id: int, as_of: date) -> None:
    """A listing proposed by an agent of the customer's branch, waiting for its center manager: it matches nothing
    and the customer is not flagged until approved."""
    unit = conn.scalar(select(col(Customer.org_unit_id)).where(col(Customer.id) == customer_id))
    agent = conn.scalar(
        select(col(Staff.id))
        .where(col(Staff.org_unit_id) == unit, col(Staff.role) == Role.AGENT.value)
        .order_by(col(Staff.id))
        .limit(1)
    )
    conn.execute(
        insert(BlacklistEntry),
        [
            {
                "customer_id": customer_id,
                "reason": "허위 사고 접수 의심 (상담원 제보, 승인 대기)",
                "evidence": "통화 중 사고 경위 진술 불일치",
                "proposed_by_id": agent,
                "created_at": _at(as_of - timedelta(days=2)),
                "review_on": as_of + timedelta(days=365),
            }
        ],
    )


def _first_other_entry(conn: Any, entry_id: int) -> int | None:
    """The first listing in force other than `entry_id`, if any (a small demo may have no other)."""
    found = conn.scalar(
        select(col(BlacklistEntry.id))
        .where(col(BlacklistEntry.id) != entry_id, col(BlacklistEntry.approved_at).is_not(None))
        .order_by(col(BlacklistEntry.id))
        .limit(1)
    )
    return None if found is None else int(found)


def _some(rng: random.Random, population: list[Any], how_many: int) -> list[Any]:
    """`how_many` of the population drawn at random, or all of it when smaller: a small demo tells fewer stories."""
    return rng.sample(population, min(how_many, len(population)))


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=UTC)


def _customer_by_phone(conn: Any, e164: str) -> int:
    return int(conn.scalar(select(col(CustomerPhone.customer_id)).where(col(CustomerPhone.e164) == e164)))


def _province(units: dict[int, Any], unit_id: int) -> int:
    unit = units[unit_id]
    while unit.level > OrgLevel.PROVINCE:
        unit = units[unit.parent_id]
    return int(unit.id)


def _ancestor(units: dict[int, Any], unit_id: int, level: OrgLevel) -> Any:
    unit = units[unit_id]
    while unit.level > level:
        unit = units[unit.parent_id]
    return unit


def _certify_managers(conn: Any, units: dict[int, Any], as_of: date) -> None:
    """Every grass-roots (city and county) account manager certified this year, the grades cycling through all
    five; right approvers. The account managers of the head office and the provinces are not certified here."""
    managers = conn.execute(
        select(col(Staff.id), col(Staff.org_unit_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
        .where(col(Staff.role) == Role.ACCOUNT_MANAGER.value, col(OrgUnit.level) >= OrgLevel.CITY)
        .order_by(col(Staff.id))
    ).all()
    centers = {
        unit: staff
        for staff, unit in conn.execute(
            select(col(Staff.id), col(Staff.org_unit_id)).where(col(Staff.role) == Role.CENTER_MANAGER.value)
        ).all()
    }
    grades = list(ManagerGrade)
    certified_on = as_of.replace(month=3, day=1) if as_of >= as_of.replace(month=3, day=1) else as_of
    history, current = [], []
    for n, (staff_id, unit_id) in enumerate(managers):
        grade = grades[n % len(grades)]
        approving = _ancestor(units, unit_id, approving_level(grade))
        valid_until = certified_on.replace(year=certified_on.year + 1)
        # Last year's certification one grade lower: re-rated on the evaluation.
        previous = grades[min(len(grades) - 1, n % len(grades) + 1)]
        for grade_then, day, evaluation in (
            (previous, certified_on.replace(year=certified_on.year - 1), "B"),
            (grade, certified_on, "A"),
        ):
            approver_unit = _ancestor(units, unit_id, approving_level(grade_then))
            history.append(
                {
                    "staff_id": staff_id,
                    "grade": grade_then.value,
                    "certified_on": day,
                    "valid_until": day.replace(year=day.year + 1),
                    "evaluation": evaluation,
                    "approved_by_id": centers[approver_unit.id],
                    "approving_unit_id": approver_unit.id,
                    "created_at": _at(day),
                }
            )
        current.append(
            {"staff_id": staff_id, "grade": grade.value, "certified_on": certified_on, "valid_until": valid_until}
        )
        assert approving.id in centers
    conn.execute(insert(ManagerCertification), history)
    conn.execute(insert(AccountManager), current)


def _assign_managers(conn: Any, units: dict[int, Any]) -> None:
    """One manager per customer: a manager of the customer's own branch, round robin."""
    by_unit: dict[int, list[int]] = {}
    for staff_id, unit_id in conn.execute(
        select(col(Staff.id), col(Staff.org_unit_id))
        .where(col(Staff.role) == Role.ACCOUNT_MANAGER.value)
        .order_by(col(Staff.id))
    ).all():
        by_unit.setdefault(unit_id, []).append(staff_id)
    rows = []
    for n, (customer_id, unit_id, since) in enumerate(
        conn.execute(
            select(col(Customer.id), col(Customer.org_unit_id), col(Customer.created_at)).order_by(col(Customer.id))
        ).all()
    ):
        managers = by_unit.get(unit_id) or by_unit.get(units[unit_id].parent_id) or []
        if managers:
            rows.append(
                {
                    "customer_id": customer_id,
                    "account_manager_id": managers[n % len(managers)],
                    "assigned_by_id": None,
                    "reason": "최초 배정",
                    "assigned_at": since,
                    "ended_at": None,
                }
            )
    if rows:
        conn.execute(insert(AccountAssignment), rows)
