"""The demo seed shows it all: every segment (by the configured rules, with history), blacklist matches across
branches, each alert kind, account managers of all five grades, one manager per customer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from crm_store.customers.blacklist_decisions import BlacklistListing, list_entries
from crm_store.customers.phones import normalise_phone
from crm_store.customers.picture import customer_picture
from crm_store.customers.profiles import parse_profile
from crm_store.customers.rules import load_rules
from crm_store.customers.tables import CustomerKind, Segment
from crm_store.db import async_session_factory, make_async_engine, make_engine
from crm_store.managers.tables import ManagerGrade
from crm_store.migrate import upgrade
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role
from demo_seed.extras import DEMO_PLATE
from demo_seed.people import DEMO_BLACKLISTED_CALLER, DEMO_CALLER
from demo_seed.seed import seed_demo

AS_OF = date(2026, 11, 25)
SECRET = "demo-test-secret-key-0123456789abcdef"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo4') / 'demo.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    seed_demo(engine, secret_key=SECRET, customers=1200, as_of=AS_OF)
    yield engine, url
    engine.dispose()


def rows(engine: Engine, query: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query), params)]


async def pictures(url: str, customer_ids: list[int]) -> dict[int, dict[str, Any]]:
    engine = make_async_engine(url)
    admin = Viewer(staff_id=1, username="admin", role=Role.ADMIN, org_unit_id=1)
    try:
        async with async_session_factory(engine)() as session:
            return {
                cid: await customer_picture(session, admin, rules=load_rules(), as_of=AS_OF, customer_id=cid)
                for cid in customer_ids
            }
    finally:
        await engine.dispose()


def test_every_segment_with_reasons_and_history(seeded: tuple[Engine, str]) -> None:
    engine, _ = seeded
    segments = dict(rows(engine, "SELECT segment, count(*) FROM customer GROUP BY segment"))
    assert set(segments) == set(Segment)
    assert rows(engine, "SELECT count(*) FROM customer WHERE segment_reason IS NULL") == [(0,)]
    assert rows(engine, "SELECT count(*) FROM segment_change WHERE changed_by = 'demo'")[0][0] > 0
    assert rows(engine, "SELECT count(*) FROM customer_stats") == rows(engine, "SELECT count(*) FROM customer")


def test_managers_of_all_grades_and_one_per_customer(seeded: tuple[Engine, str]) -> None:
    engine, _ = seeded
    assert {g for (g,) in rows(engine, "SELECT DISTINCT grade FROM account_manager")} == {g.value for g in ManagerGrade}
    approvals = rows(
        engine,
        """
        SELECT g.grade, u.level FROM account_manager_grade g JOIN org_unit u ON u.id = g.approving_unit_id""",
    )
    assert all((level == 1) == (grade in ("principal", "senior")) for grade, level in approvals)
    assert rows(engine, "SELECT count(*) FROM account_assignment WHERE ended_at IS NULL") == rows(
        engine, "SELECT count(*) FROM customer"
    )
    assert rows(engine, "SELECT count(*) FROM service_task")[0][0] > 0


async def test_cross_branch_matches_and_each_alert_kind(seeded: tuple[Engine, str]) -> None:
    engine, url = seeded
    twins = [c for (c,) in rows(engine, "SELECT customer_id FROM vehicle WHERE plate = :p", p=DEMO_PLATE)]
    evidence = rows(
        engine,
        """
        SELECT p.customer_id FROM blacklist_key k JOIN customer_phone p ON p.e164 = k.value
        WHERE k.kind = 'phone' AND p.e164 != :listed
          AND p.customer_id NOT IN (SELECT customer_id FROM blacklist_entry)""",
        listed=DEMO_BLACKLISTED_CALLER,
    )
    wanted = {
        "frequent_claims": "SELECT customer_id FROM claim WHERE occurred_on > '2025-11-25' GROUP BY customer_id "
        "HAVING count(*) >= 3 LIMIT 1",
        "high_loss_ratio": "SELECT id FROM customer WHERE segment_reason LIKE '%손해율%≥%' LIMIT 1",
        "key_customer": "SELECT id FROM customer WHERE segment = 'key' LIMIT 1",
        "repeat_complainant": "SELECT customer_id FROM call WHERE type = 'complaint' LIMIT 1",
    }
    ids = {kind: rows(engine, query)[0][0] for kind, query in wanted.items()}
    found = await pictures(url, [*twins, evidence[0][0], *ids.values()])
    listed_unit = found[twins[0]]["org_unit_id"]
    for cid in (twins[1], evidence[0][0]):
        picture = found[cid]
        assert picture["org_unit_id"] != listed_unit and not picture["blacklist"][0]["own_entry"]
        assert picture["blacklisted"] and picture["alerts"][0]["kind"] == "blacklist"
        assert picture["segment"] == "inferior" and picture["account_manager"] is not None
    for kind, cid in ids.items():
        assert kind in {a["kind"] for a in found[cid]["alerts"]}, kind


async def test_center_managers_see_the_pending_proposal_and_a_review_due(seeded: tuple[Engine, str]) -> None:
    _, url = seeded
    engine = make_async_engine(url)
    admin = Viewer(staff_id=1, username="admin", role=Role.ADMIN, org_unit_id=1, clearance=5)
    try:
        async with async_session_factory(engine)() as session:
            pending = await list_entries(session, admin, as_of=AS_OF, state="pending")
            due = await list_entries(session, admin, as_of=AS_OF, state="review_due")
            await session.rollback()
    finally:
        await engine.dispose()
    [proposal] = pending
    assert isinstance(proposal, BlacklistListing) and isinstance(due[0], BlacklistListing)
    assert proposal.approved_by is None and (proposal.proposed_by or "").startswith("agent.")
    assert len(due) == 1 and due[0].review_due and (due[0].approved_by or "").startswith("cm.")


async def test_profiles_for_a_good_share_of_both_kinds(seeded: tuple[Engine, str]) -> None:
    engine, url = seeded
    stored = rows(engine, "SELECT id, kind, profile FROM customer")
    with_profile = [(cid, kind, json.loads(p)) for cid, kind, p in stored if p is not None]
    assert len(with_profile) >= len(stored) // 2
    for cid, kind, profile in with_profile:
        assert parse_profile(CustomerKind(kind), profile) == profile, cid  # already in the API's stored form
    individuals = [p for _, kind, p in with_profile if kind == "individual"]
    corporates = [p for _, kind, p in with_profile if kind == "corporate"]
    assert individuals and corporates
    assert sum(1 for p in individuals if p.get("family")) > len(individuals) // 2
    assert all(p["occupation"] for p in individuals) and all(p["industry"] and p["contacts"] for p in corporates)
    phones = [m["phone"] for p in individuals for m in p["family"] if "phone" in m]
    phones += [c["phone"] for p in corporates for c in p["contacts"]]
    assert phones and all(normalise_phone(n) == n and n.startswith("+82") for n in phones)
    # The demo caller's picture shows a family (both readers take the profile from the same column).
    ((caller,),) = rows(engine, "SELECT customer_id FROM customer_phone WHERE e164 = :p", p=DEMO_CALLER)
    picture = (await pictures(url, [caller]))[caller]
    assert picture["profile"]["family"] and picture["profile"]["occupation"]
    # Settled claims carry their closing date; open ones none.
    assert rows(engine, "SELECT count(*) FROM claim WHERE (status = 'open') = (closed_on IS NOT NULL)") == [(0,)]
    assert rows(engine, "SELECT count(*) FROM claim WHERE closed_on < occurred_on OR closed_on > :d", d=AS_OF) == [(0,)]
