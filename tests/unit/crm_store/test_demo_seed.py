"""The demo seed on a migrated SQLite file: shape, privacy, uniqueness, idempotence, determinism."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from crm_store.customers.identity import registration_hash
from crm_store.customers.phones import normalise_phone
from crm_store.customers.tables import Segment
from crm_store.db import make_engine
from crm_store.migrate import upgrade
from crm_store.org.auth import verify_password
from crm_store.org.tables import OrgLevel, Role
from demo_seed import seed as demo
from demo_seed.people import DEMO_BLACKLISTED_CALLER, DEMO_CALLER, DEMO_PASSWORD
from demo_seed.seed import DemoSummary, demo_counts, seed_demo

SECRET = "unit-test-secret-key-0123456789abcdef"
AS_OF = date(2026, 11, 25)
CUSTOMERS = 1200

# Every role at every level (head office, and province, city and county of each province).
PROMISED = {(role, level) for role in Role for level in OrgLevel}


def _migrated_engine(path: Path) -> Engine:
    url = f"sqlite:///{path}"
    upgrade(url)
    return make_engine(url)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, DemoSummary]]:
    engine = _migrated_engine(tmp_path_factory.mktemp("demo") / "demo.sqlite3")
    summary = seed_demo(engine, secret_key=SECRET, customers=CUSTOMERS, as_of=AS_OF)
    yield engine, summary
    engine.dispose()


@pytest.fixture
def engine(seeded: tuple[Engine, DemoSummary]) -> Engine:
    return seeded[0]


def _rows(engine: Engine, query: str, **params: object) -> list[tuple]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query), params)]


def test_counts(seeded: tuple[Engine, DemoSummary]) -> None:
    engine, summary = seeded
    assert summary.created
    assert summary.customers == CUSTOMERS
    assert summary.org_units == 1 + 3 + 8 + 16
    assert CUSTOMERS < summary.phones < 2 * CUSTOMERS
    assert CUSTOMERS < summary.policies <= 4 * CUSTOMERS
    assert summary.claims > 0
    assert 0.005 * CUSTOMERS <= summary.blacklisted <= 0.02 * CUSTOMERS
    with engine.connect() as conn:
        assert demo_counts(conn, created=True) == summary
    (claimants,) = _rows(engine, "SELECT count(DISTINCT customer_id) FROM claim")[0]
    assert 0.28 < claimants / CUSTOMERS < 0.42
    kinds = dict(_rows(engine, "SELECT kind, count(*) FROM customer GROUP BY kind"))
    assert 0.10 < kinds["corporate"] / CUSTOMERS < 0.20
    assert "demo data seeded" in str(summary) and "\n" not in str(summary)


def test_org_tree_and_materialised_paths(engine: Engine) -> None:
    units = {
        uid: (code, level, parent, path)
        for uid, code, level, parent, path in _rows(engine, "SELECT id, code, level, parent_id, path FROM org_unit")
    }
    by_level = Counter(level for _, level, _, _ in units.values())
    assert by_level == {0: 1, 1: 3, 2: 8, 3: 16}
    (head,) = [uid for uid, (code, level, _, _) in units.items() if level == 0]
    assert units[head][0] == "HQ" and units[head][2] is None and units[head][3] == f"/{head}/"
    for uid, (_code, level, parent, path) in units.items():
        if parent is not None:
            assert units[parent][1] == level - 1
            assert path == f"{units[parent][3]}{uid}/"
    children = Counter(parent for _, level, parent, _ in units.values() if level == 2)
    assert all(2 <= n <= 3 for n in children.values())
    assert set(Counter(parent for _, level, parent, _ in units.values() if level == 3).values()) == {2}


def test_every_role_at_the_promised_levels(engine: Engine) -> None:
    staff = _rows(
        engine,
        "SELECT s.role, u.level, u.path, s.username, s.full_name, s.clearance, s.password_hash "
        "FROM staff s JOIN org_unit u ON u.id = s.org_unit_id",
    )
    present = {(Role(role), OrgLevel(level)) for role, level, *_ in staff}
    assert PROMISED <= present
    # Each province holds every role at each of its three levels.
    provinces = [p for (p,) in _rows(engine, "SELECT path FROM org_unit WHERE level = 1")]
    assert len(provinces) >= 2
    for province in provinces:
        present_here = {(Role(role), OrgLevel(level)) for role, level, path, *_ in staff if path.startswith(province)}
        assert present_here == {(role, level) for role in Role for level in OrgLevel if level != OrgLevel.HEAD_OFFICE}
    units_without_center = _rows(
        engine,
        """
        SELECT u.code FROM org_unit u WHERE NOT EXISTS (
            SELECT 1 FROM staff s WHERE s.org_unit_id = u.id AND s.role = 'center_manager')
        OR NOT EXISTS (SELECT 1 FROM staff s WHERE s.org_unit_id = u.id AND s.role = 'operator')""",
    )
    assert units_without_center == []
    assert all(re.fullmatch(r"[가-힣]{2,4}", name) for *_, name, _, _ in staff)
    assert all(1 <= clearance <= 5 for *_, clearance, _pw in staff)
    # Every demo staff member signs in with the documented demo password.
    assert all(verify_password(pw, DEMO_PASSWORD) for *_, pw in staff[:3])
    assert len({username for *_, username, _, _, _ in staff}) == len(staff)
    assert _rows(engine, "SELECT role FROM staff WHERE username = 'op.seoul.gangnam'") == [("operator",)]


def test_admin_at_head_office(engine: Engine) -> None:
    rows = _rows(
        engine,
        "SELECT s.role, s.clearance, u.level, u.code FROM staff s "
        "JOIN org_unit u ON u.id = s.org_unit_id WHERE s.username = 'admin'",
    )
    assert rows == [("admin", 5, 0, "HQ")]


def test_phones_are_unique_e164(engine: Engine) -> None:
    phones = [e164 for (e164,) in _rows(engine, "SELECT e164 FROM customer_phone")]
    assert len(phones) == len(set(phones))
    assert all(re.fullmatch(r"\+82[1-9]\d{7,9}", p) and normalise_phone(p) == p for p in phones)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert any(p.startswith("+8210") for p in phones)
    landlines = [p for p in phones if not p.startswith("+8210")]
    assert all(any(p.startswith(area) for p in landlines) for area in ("+822", "+8231", "+8251", "+8255"))
    (without_phone,) = _rows(
        engine,
        "SELECT count(*) FROM customer c WHERE NOT EXISTS (SELECT 1 FROM customer_phone p WHERE p.customer_id = c.id)",
    )[0]
    assert without_phone == 0


def test_no_registration_number_in_clear(engine: Engine) -> None:
    string_columns = [c["name"] for c in inspect(engine).get_columns("customer") if c["type"].python_type is str]
    assert {"name", "registration_hash", "registration_masked"} <= set(string_columns)
    # 13 digits, written plain or 6-7, and not a run inside a hexadecimal hash.
    thirteen_digits = re.compile(r"(?<![0-9a-fA-F])\d{6}-?\d{7}(?![0-9a-fA-F])")
    for row in _rows(engine, f"SELECT {', '.join(string_columns)} FROM customer"):
        for value in row:
            assert value is None or not thirteen_digits.search(value), value
    masks = [m for (m,) in _rows(engine, "SELECT registration_masked FROM customer")]
    assert all(re.fullmatch(r"\d{6}-[1-4]\*{6}|\d{3}-\*\*-\*{5}", m) for m in masks)
    hashes = [h for (h,) in _rows(engine, "SELECT registration_hash FROM customer")]
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes) and len(set(hashes)) == len(hashes)


def test_names_policies_and_claims_look_real(engine: Engine) -> None:
    names = _rows(engine, "SELECT kind, name FROM customer")
    assert all(re.fullmatch(r"[가-힣]{2,4}", n) for k, n in names if k == "individual")
    assert all(re.search(r"\(주\)|주식회사|\(유\)", n) for k, n in names if k == "corporate")
    policies = _rows(engine, "SELECT policy_number, line, premium, start_date, end_date FROM policy")
    assert len({p[0] for p in policies}) == len(policies)
    assert {line for _, line, *_ in policies} == {
        "auto",
        "home",
        "fire",
        "cargo",
        "liability",
        "personal_accident",
        "travel",
        "property",
    }
    for number, _line, _premium, start, end in policies:
        start, end = date.fromisoformat(str(start)), date.fromisoformat(str(end))
        assert re.fullmatch(rf"[A-Z]{{2}}-{start.year}-\d{{7}}", number)
        assert 365 <= (end - start).days <= 366
        assert AS_OF - timedelta(days=4 * 366) <= start <= AS_OF
    auto = _rows(
        engine,
        "SELECT min(p.premium), max(p.premium) FROM policy p JOIN customer c "
        "ON c.id = p.customer_id WHERE c.kind = 'individual' AND p.line = 'auto'",
    )[0]
    assert 600_000 <= auto[0] and auto[1] <= 1_800_000
    statuses = {s for (s,) in _rows(engine, "SELECT DISTINCT status FROM claim")}
    assert statuses == {"open", "paid", "closed", "rejected"}
    (bad,) = _rows(
        engine,
        "SELECT count(*) FROM claim k JOIN policy p ON p.id = k.policy_id "
        "WHERE k.customer_id != p.customer_id OR k.occurred_on < p.start_date "
        "OR k.occurred_on >= p.end_date",
    )[0]
    assert bad == 0
    two_years_ago = (AS_OF - timedelta(days=730)).isoformat()
    frequent = _rows(
        engine,
        "SELECT customer_id FROM claim WHERE occurred_on > :since GROUP BY customer_id HAVING count(*) >= 5",
        since=two_years_ago,
    )
    assert len(frequent) >= 10
    high_loss = _rows(
        engine,
        """
        SELECT c.id FROM customer c
        WHERE (SELECT sum(paid_amount) FROM claim WHERE customer_id = c.id)
            > 3 * (SELECT sum(premium) FROM policy WHERE customer_id = c.id)""",
    )
    assert len(high_loss) >= 10


def test_segments_and_blacklist(engine: Engine) -> None:
    segments = dict(_rows(engine, "SELECT segment, count(*) FROM customer GROUP BY segment"))
    assert set(segments) == set(Segment)
    assert _rows(engine, "SELECT DISTINCT kind FROM customer WHERE segment = 'key'") == [("corporate",)]
    # Entries in force: listed and approved by a center manager; the listed customers flagged and inferior.
    entries = _rows(
        engine,
        """
        SELECT c.blacklisted, c.segment, b.reason, s.role, a.role FROM blacklist_entry b
        JOIN customer c ON c.id = b.customer_id JOIN staff s ON s.id = b.proposed_by_id
        JOIN staff a ON a.id = b.approved_by_id
        WHERE b.approved_at IS NOT NULL AND b.revoked_at IS NULL""",
    )
    (listed,) = _rows(engine, "SELECT count(*) FROM customer WHERE blacklisted")[0]
    assert len(entries) == listed >= 1
    assert all(
        flag and segment == "inferior" and re.search(r"[가-힣]", reason) and role == approver == "center_manager"
        for flag, segment, reason, role, approver in entries
    )
    # One proposal by an agent waits for its center manager: the customer is neither flagged nor inferior for it.
    [(flag, segment, proposer)] = _rows(
        engine,
        """
        SELECT c.blacklisted, c.segment_reason, s.role FROM blacklist_entry b
        JOIN customer c ON c.id = b.customer_id JOIN staff s ON s.id = b.proposed_by_id
        WHERE b.approved_at IS NULL""",
    )
    assert (flag, proposer) == (0, "agent") and "블랙리스트" not in segment


def test_demo_callers(engine: Engine) -> None:
    query = (
        "SELECT c.name, c.kind, c.segment, c.blacklisted, c.id FROM customer c "
        "JOIN customer_phone p ON p.customer_id = c.id WHERE p.e164 = :phone"
    )
    ((name, kind, segment, blacklisted, customer_id),) = _rows(engine, query, phone=DEMO_CALLER)
    assert (name, kind, segment, blacklisted) == ("김민준", "individual", "quality", False)
    assert ("auto",) in _rows(engine, "SELECT line FROM policy WHERE customer_id = :id", id=customer_id)
    ((_, _, segment, blacklisted, listed_id),) = _rows(engine, query, phone=DEMO_BLACKLISTED_CALLER)
    assert blacklisted and segment == "inferior"
    assert _rows(engine, "SELECT count(*) FROM blacklist_entry WHERE customer_id = :id", id=listed_id) == [(1,)]
    assert normalise_phone("010-1234-5678") == DEMO_CALLER
    assert normalise_phone("010-9999-0000") == DEMO_BLACKLISTED_CALLER


def test_second_run_changes_nothing(seeded: tuple[Engine, DemoSummary]) -> None:
    engine, first = seeded
    again = seed_demo(engine, secret_key=SECRET, customers=CUSTOMERS, as_of=AS_OF)
    assert not again.created
    assert again == DemoSummary(**{**first.__dict__, "created": False})
    assert "already present" in str(again)


def test_same_seed_same_data(tmp_path: Path) -> None:
    snapshots = []
    for name in ("a", "b"):
        engine = _migrated_engine(tmp_path / f"{name}.sqlite3")
        try:
            seed_demo(engine, secret_key=SECRET, customers=150, as_of=AS_OF)
            snapshots.append(
                _rows(
                    engine,
                    "SELECT c.name, c.registration_hash, p.e164 FROM customer c "
                    "JOIN customer_phone p ON p.customer_id = c.id ORDER BY p.id",
                )
            )
        finally:
            engine.dispose()
    assert snapshots[0] == snapshots[1]
    assert len(snapshots[0]) >= 150


def test_generated_numbers_appear_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generated: list[str] = []

    def recording(make):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            raw = make(*args, **kwargs)
            generated.append(raw)
            return raw

        return wrapper

    monkeypatch.setattr(demo, "resident_number", recording(demo.resident_number))
    monkeypatch.setattr(demo, "business_number", recording(demo.business_number))
    engine = _migrated_engine(tmp_path / "privacy.sqlite3")
    try:
        seed_demo(engine, secret_key=SECRET, customers=150, as_of=AS_OF)
        with engine.connect() as conn:
            dump = "\n".join(conn.connection.driver_connection.iterdump())  # type: ignore[union-attr]
    finally:
        engine.dispose()
    assert len(generated) >= 150
    for raw in generated:
        digits = re.sub(r"\D", "", raw)
        assert len(digits) in (10, 13)
        assert digits not in dump and raw not in dump
        assert registration_hash(raw, key=SECRET) in dump


def test_needs_room_for_the_demo_customers(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        with pytest.raises(ValueError):
            seed_demo(engine, secret_key=SECRET, customers=1)
    finally:
        engine.dispose()
