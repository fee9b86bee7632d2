"""The scheduled service duties at their day thresholds (key-customer visits, quality-individual interviews, renewal
reminders) and the duty's unique key: one per customer, kind, day and policy."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from crm_store.customers.rules import load_rules
from crm_store.customers.tables import Customer, CustomerKind, Policy, Segment
from crm_store.db import session_scope
from crm_store.managers.account_managers import schedule_service_tasks
from crm_store.managers.tables import ServiceTask
from tests.customer_helpers import Org, build_org

AS_OF = date(2026, 11, 25)
RULES = load_rules()
DUTIES = RULES.service_duties


@pytest.fixture
def org(engine: Any) -> Org:
    return build_org(engine)


def _customer(
    engine: Any, org: Org, name: str, *, segment: Segment, kind: CustomerKind = CustomerKind.INDIVIDUAL
) -> int:
    with session_scope(engine) as session:
        customer = Customer(kind=kind, name=name, org_unit_id=org.units["SEOUL-GANGNAM-SEOCHO"], segment=segment)
        session.add(customer)
        session.flush()
        return int(customer.id)  # type: ignore[arg-type]


def _task(engine: Any, customer_id: int, kind: str, due_on: date, policy_id: int | None = None) -> None:
    with session_scope(engine) as session:
        session.add(ServiceTask(customer_id=customer_id, kind=kind, due_on=due_on, policy_id=policy_id))


def _policy(engine: Any, customer_id: int, number: str, end: date) -> int:
    with session_scope(engine) as session:
        policy = Policy(
            customer_id=customer_id,
            policy_number=number,
            line="auto",
            premium=800_000,
            start_date=end - timedelta(days=365),
            end_date=end,
        )
        session.add(policy)
        session.flush()
        return int(policy.id)  # type: ignore[arg-type]


def _tasks(engine: Any, customer_id: int, kind: str) -> list[ServiceTask]:
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(ServiceTask)
                .where(ServiceTask.customer_id == customer_id, ServiceTask.kind == kind)
                .order_by(ServiceTask.due_on, ServiceTask.policy_id)  # type: ignore[arg-type]
            ).all()
        )


@pytest.mark.parametrize(
    ("kind", "segment", "every"),
    [
        ("key_visit", Segment.KEY, DUTIES.key_visit_days),
        ("quality_interview", Segment.QUALITY, DUTIES.quality_interview_days),
    ],
)
def test_periodic_duty_falls_due_exactly_every_n_days(
    engine: Any, org: Org, kind: str, segment: Segment, every: int
) -> None:
    last = {
        "just_before": AS_OF - timedelta(days=every - 1),  # the last one is still within the period: nothing new
        "at": AS_OF - timedelta(days=every),
        "after": AS_OF - timedelta(days=every + 1),
    }
    customers = {name: _customer(engine, org, name, segment=segment) for name in (*last, "never")}
    for name, day in last.items():
        _task(engine, customers[name], kind, day)
    ordinary = _customer(engine, org, "ordinary", segment=Segment.ORDINARY)

    created = schedule_service_tasks(engine, rules=RULES, as_of=AS_OF)

    due = {name: [t.due_on for t in _tasks(engine, cid, kind)] for name, cid in customers.items()}
    assert due["just_before"] == [last["just_before"]]
    assert due["at"] == [last["at"], AS_OF]
    assert due["after"] == [last["after"], AS_OF]
    assert due["never"] == [AS_OF]
    assert _tasks(engine, ordinary, kind) == []
    assert created == 3
    # Idempotent: the same day again creates nothing; the day after, the one just before its threshold reaches it.
    assert schedule_service_tasks(engine, rules=RULES, as_of=AS_OF) == 0
    assert schedule_service_tasks(engine, rules=RULES, as_of=AS_OF + timedelta(days=1)) == 1
    assert [t.due_on for t in _tasks(engine, customers["just_before"], kind)][-1] == AS_OF + timedelta(days=1)


def test_interviews_are_for_quality_individuals_only(engine: Any, org: Org) -> None:
    company = _customer(engine, org, "(주)우량", segment=Segment.QUALITY, kind=CustomerKind.CORPORATE)
    person = _customer(engine, org, "김우량", segment=Segment.QUALITY)
    schedule_service_tasks(engine, rules=RULES, as_of=AS_OF)
    assert _tasks(engine, company, "quality_interview") == []
    assert len(_tasks(engine, person, "quality_interview")) == 1


def test_renewal_reminder_from_n_days_before_expiry(engine: Any, org: Org) -> None:
    days = DUTIES.renewal_reminder_days
    customer = _customer(engine, org, "박갱신", segment=Segment.ORDINARY)
    ends = {
        "just_before": AS_OF + timedelta(days=days - 1),  # reminded a day late: its reminder was due yesterday
        "at": AS_OF + timedelta(days=days),
        "after": AS_OF + timedelta(days=days + 1),  # not yet
        "today": AS_OF,  # already ended
    }
    policies = {name: _policy(engine, customer, f"AU-2026-{n:07d}", end) for n, (name, end) in enumerate(ends.items())}

    schedule_service_tasks(engine, rules=RULES, as_of=AS_OF)

    reminders = {t.policy_id: t for t in _tasks(engine, customer, "renewal_reminder")}
    assert set(reminders) == {policies["just_before"], policies["at"]}
    assert reminders[policies["at"]].due_on == AS_OF
    assert reminders[policies["just_before"]].due_on == AS_OF - timedelta(days=1)
    assert "AU-2026-0000001" in reminders[policies["at"]].note
    # The next day the policy just outside the horizon comes in, and nothing is reminded twice.
    assert schedule_service_tasks(engine, rules=RULES, as_of=AS_OF + timedelta(days=1)) == 1
    assert {t.policy_id for t in _tasks(engine, customer, "renewal_reminder")} == {
        policies["just_before"],
        policies["at"],
        policies["after"],
    }


def test_two_policies_ending_the_same_day_get_two_reminders(engine: Any, org: Org) -> None:
    customer = _customer(engine, org, "이이중", segment=Segment.ORDINARY)
    end = AS_OF + timedelta(days=10)
    car, home = _policy(engine, customer, "AU-2026-0000101", end), _policy(engine, customer, "HM-2026-0000102", end)

    assert schedule_service_tasks(engine, rules=RULES, as_of=AS_OF) == 2
    reminders = _tasks(engine, customer, "renewal_reminder")
    assert sorted(t.policy_id for t in reminders) == sorted([car, home])  # type: ignore[type-var]
    assert {t.due_on for t in reminders} == {end - timedelta(days=DUTIES.renewal_reminder_days)}
    assert schedule_service_tasks(engine, rules=RULES, as_of=AS_OF) == 0


def test_the_database_keeps_one_duty_per_customer_kind_day_and_policy(engine: Any, org: Org) -> None:
    customer = _customer(engine, org, "최중복", segment=Segment.KEY)
    policy = _policy(engine, customer, "FI-2026-0000201", AS_OF + timedelta(days=20))
    _task(engine, customer, "key_visit", AS_OF)
    _task(engine, customer, "renewal_reminder", AS_OF, policy)
    # A visit names no policy: a second one that day is refused although NULL never equals NULL in a plain key.
    with pytest.raises(IntegrityError):
        _task(engine, customer, "key_visit", AS_OF)
    with pytest.raises(IntegrityError):
        _task(engine, customer, "renewal_reminder", AS_OF, policy)
    _task(engine, customer, "key_visit", AS_OF + timedelta(days=1))
    assert len(_tasks(engine, customer, "key_visit")) == 2
