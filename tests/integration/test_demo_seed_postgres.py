"""The demo seed on a real PostgreSQL database created for this test and dropped afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from crm_store.customers.tables import Segment
from crm_store.db import make_engine
from crm_store.migrate import upgrade
from crm_store.org.tables import OrgLevel, Role
from demo_seed.people import DEMO_BLACKLISTED_CALLER, DEMO_CALLER
from demo_seed.report_calls import RISING_TOPIC
from demo_seed.seed import DemoSummary, seed_demo
from tests.pg_helpers import create_database, drop_database, require_postgres_admin_url

pytestmark = pytest.mark.integration

SECRET = "integration-test-secret-key-0123456789"
CUSTOMERS = 1200


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[Engine, DemoSummary]]:
    admin_url = require_postgres_admin_url()
    url = create_database(admin_url, "hotline_test_seed")
    engine = make_engine(url)
    try:
        upgrade(url)
        yield engine, seed_demo(engine, secret_key=SECRET, customers=CUSTOMERS, as_of=date(2026, 11, 25))
    finally:
        engine.dispose()
        drop_database(admin_url, url)


def _rows(engine: Engine, query: str, **params: object) -> list[tuple]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query), params)]


def test_counts_and_idempotence(seeded: tuple[Engine, DemoSummary]) -> None:
    engine, summary = seeded
    assert summary.created and summary.customers == CUSTOMERS and summary.org_units == 28
    assert summary.phones > CUSTOMERS and summary.policies > CUSTOMERS and summary.claims > 0
    again = seed_demo(engine, secret_key=SECRET, customers=CUSTOMERS)
    assert not again.created
    assert again == DemoSummary(**{**summary.__dict__, "created": False})


def test_tree_roles_and_admin(seeded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = seeded
    bad_paths = _rows(
        engine,
        """
        SELECT u.code FROM org_unit u LEFT JOIN org_unit p ON p.id = u.parent_id
        WHERE u.path != coalesce(p.path, '/') || u.id || '/'""",
    )
    assert bad_paths == []
    present = {
        (Role(r), OrgLevel(lv))
        for r, lv in _rows(
            engine, "SELECT DISTINCT s.role, u.level FROM staff s JOIN org_unit u ON u.id = s.org_unit_id"
        )
    }
    assert present == {(role, level) for role in Role for level in OrgLevel}  # every role at every level
    assert _rows(
        engine,
        "SELECT s.role, s.clearance, u.level FROM staff s JOIN org_unit u "
        "ON u.id = s.org_unit_id WHERE s.username = 'admin'",
    ) == [("admin", 5, 0)]


def test_phones_and_registration_numbers(seeded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = seeded
    phones = [p for (p,) in _rows(engine, "SELECT e164 FROM customer_phone")]
    assert len(phones) == len(set(phones)) and all(re.fullmatch(r"\+82[1-9]\d{7,9}", p) for p in phones)
    # Every text column of customer, cast as text: no 13-digit run outside a hexadecimal hash.
    clear = _rows(
        engine,
        r"""
        SELECT id FROM customer
        WHERE concat_ws(' ', name, kind, segment, registration_masked, registration_hash)
              ~ '(^|[^0-9a-f])[0-9]{6}-?[0-9]{7}([^0-9a-f]|$)'""",
    )
    assert clear == []
    assert _rows(engine, "SELECT count(*) FROM customer WHERE registration_hash !~ '^[0-9a-f]{64}$'") == [(0,)]


def test_segments_blacklist_and_demo_callers(seeded: tuple[Engine, DemoSummary]) -> None:
    engine, summary = seeded
    assert set(summary.segments) == set(Segment) and summary.blacklisted >= 1
    assert _rows(
        engine,
        "SELECT count(*) FROM customer c WHERE c.blacklisted AND NOT EXISTS "
        "(SELECT 1 FROM blacklist_entry b WHERE b.customer_id = c.id)",
    ) == [(0,)]
    query = (
        "SELECT c.name, c.segment, c.blacklisted FROM customer c "
        "JOIN customer_phone p ON p.customer_id = c.id WHERE p.e164 = :phone"
    )
    assert _rows(engine, query, phone=DEMO_CALLER) == [("김민준", "quality", False)]
    ((_, segment, blacklisted),) = _rows(engine, query, phone=DEMO_BLACKLISTED_CALLER)
    assert blacklisted and segment == "inferior"


def test_sequences_continue_after_the_bulk_insert(seeded: tuple[Engine, DemoSummary]) -> None:
    engine, _ = seeded
    with engine.begin() as conn:
        org_unit = conn.scalar(text("SELECT id FROM org_unit WHERE code = 'HQ'"))
        new_id = conn.scalar(
            text(
                "INSERT INTO customer (kind, name, org_unit_id, segment, blacklisted, created_at) "
                "VALUES ('individual', '홍길동', :unit, 'ordinary', false, now()) RETURNING id"
            ),
            {"unit": org_unit},
        )
        assert new_id > CUSTOMERS
        conn.rollback()


def test_the_last_month_s_reports_are_stored_with_the_rising_topic_as_a_hot_spot(
    seeded: tuple[Engine, DemoSummary],
) -> None:
    engine, _summary = seeded
    [(body, units)] = _rows(
        engine,
        "SELECT r.body, (SELECT count(*) FROM stored_report) FROM stored_report r"
        " JOIN org_unit u ON u.id = r.org_unit_id WHERE u.parent_id IS NULL AND r.month = '2026-10-01'",
    )
    assert units == _rows(engine, "SELECT count(*) FROM org_unit WHERE active")[0][0]
    assert RISING_TOPIC in {spot["topic"] for spot in body["hot_spots"]}
    [regional] = [spot for spot in body["regional_hot_spots"] if spot["topic"] == RISING_TOPIC]
    assert regional["share"] > 0.2 > regional["previous_share"]
    [detail] = [d for d in body["hot_spot_details"] if d["topic"] == RISING_TOPIC]
    assert {"태풍", "침수"} <= set(detail["nouns"]) and detail["examples"]
