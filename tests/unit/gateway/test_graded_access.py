"""Graded information written back, exported and listed: what a viewer below a field's grade cannot see, they
cannot overwrite with the mask, export, or read through a side door (account-manager events); API tokens stay
within an administrator's part of the organisation."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from crm_store.audit import AuditEntry
from crm_store.calls.tables import Call
from crm_store.db import session_scope
from crm_store.org.clearance import load_field_grades
from crm_store.org.tables import ApiToken, Staff
from crm_store.review.tables import ClassificationCorrection
from tests.processes import HOTLINE, ROOT, hotline_env
from tests.review_helpers import BLACKLIST_REASON, HEALTH_DETAILS, MANAGERS, World, add_graded_records, console_login
from workers.settings import Settings
from workers.understanding.taxonomy import load_taxonomy
from workers.understanding.train import load_corrections

TEXTAREA = re.compile(r'<textarea name="entities" id="entities"[^>]*>(.*?)</textarea>', re.S)
MASK = "●●●●"
HEALTH = "허리 디스크 수술"
HEALTH_ENTITY = {"kind": "health", "text": HEALTH, "value": HEALTH, "start": 0, "end": 9}
PLACE_ENTITY = {"kind": "place", "value": "서울시 서초구 반포대로 1"}


def set_entities(engine: Any, call_sid: str, entities: list[dict[str, Any]]) -> None:
    with session_scope(engine) as session:
        call = session.exec(select(Call).where(col(Call.call_sid) == call_sid)).one()
        call.entities = entities
        session.add(call)


def set_clearance(engine: Any, world: World, username: str, clearance: int) -> None:
    with session_scope(engine) as session:
        staff = session.get(Staff, world.staff[username]["id"])
        assert staff is not None
        staff.clearance = clearance
        session.add(staff)
    world.staff[username]["clearance"] = clearance


def stored_entities(engine: Any, call_sid: str) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return list(session.exec(select(Call).where(col(Call.call_sid) == call_sid)).one().entities or [])


# -- 1. masked entities are never saved back over the real ones ------------------------------------------------


async def test_an_unchanged_save_below_the_grade_keeps_the_hidden_entity(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    sid, item = world.calls["inside"], world.items["inside"]
    set_entities(engine, sid, [PLACE_ENTITY, HEALTH_ENTITY])
    csrf = await console_login(client, "operator.seocho")  # clearance 2; health details need 4
    page = await (await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})).text()
    assert HEALTH not in page
    editable = html.unescape(TEXTAREA.search(page)[1])  # type: ignore[index]
    # Kinds read by their Korean names (and are read back from them when the form is saved).
    assert MASK not in editable and "장소: 서울시 서초구 반포대로 1" in editable
    assert f"건강 정보: {MASK}" in page  # shown, read-only, outside the form's fields
    answer = await client.post(
        f"/console/items/{item}/classification",
        data={"csrf_token": csrf, "type": "notification", "topic": "notification.address_change",
              "entities": editable},
    )  # fmt: skip
    assert answer.status == 200
    assert stored_entities(engine, sid) == [PLACE_ENTITY, HEALTH_ENTITY]
    with session_scope(engine) as session:
        correction = session.exec(select(ClassificationCorrection)).one()
        assert correction.corrected["entities"] == [PLACE_ENTITY, HEALTH_ENTITY]
        assert not correction.changed  # nothing was corrected: the training row says so


async def test_a_submitted_mask_is_never_stored(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    sid, item = world.calls["inside"], world.items["inside"]
    set_entities(engine, sid, [HEALTH_ENTITY])
    csrf = await console_login(client, "operator.seocho")
    await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})
    # An old page (or a hand-made form) sends the masked line back, and a new masked value besides.
    answer = await client.post(
        f"/console/items/{item}/classification",
        data={"csrf_token": csrf, "type": "notification", "topic": "notification.address_change",
              "entities": f"health: {MASK}\nperson: 김{MASK}\nplace: 반포대로"},
    )  # fmt: skip
    assert answer.status == 200
    assert stored_entities(engine, sid) == [{"kind": "place", "value": "반포대로"}, HEALTH_ENTITY]


async def test_operator_typed_entities_are_redacted_like_the_classifiers(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    sid, item = world.calls["inside"], world.items["inside"]
    set_entities(engine, sid, [])
    csrf = await console_login(client, "operator.seocho")
    await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})
    typed = "\n".join(
        (
            "resident_number: 880315-1234567",
            "registration_number: 880315-1234567",
            "note: 고객 주민번호 880315-1234567 확인, 카드 1234-5678-9012-3456",
            "policy_number: AU-2024-0012345",
            "place: 이천 공장",
        )
    )
    answer = await client.post(
        f"/console/items/{item}/classification",
        data={"csrf_token": csrf, "type": "inquiry", "topic": "inquiry.other", "entities": typed},
    )
    assert answer.status == 200
    stored = stored_entities(engine, sid)
    assert "1234567" not in repr(stored) and "9012" not in repr(stored)
    assert stored == [
        {"kind": "resident_number", "value": "[주민번호]"},
        {"kind": "registration_number", "value": "[주민번호]"},
        {"kind": "note", "value": "고객 주민번호 [주민번호] 확인, 카드 [카드번호]"},
        {"kind": "policy_number", "value": "AU-2024-0012345"},  # not a personal number: kept, as the classifier does
        {"kind": "place", "value": "이천 공장"},  # typed words stay as typed (no number-word rewriting)
    ]
    with session_scope(engine) as session:
        correction = session.exec(select(ClassificationCorrection)).one()
        assert "1234567" not in repr(correction.corrected)


async def test_a_masked_value_is_never_applied_to_the_customer(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    item = world.items["inside"]
    csrf = await console_login(client, "operator.seocho")
    await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})
    answer = await client.post(
        f"/console/items/{item}/changes/0", data={"csrf_token": csrf, "decision": "apply", "value": f"서울시 {MASK}"}
    )
    assert answer.status == 422
    with session_scope(engine) as session:
        from crm_store.customers.tables import Customer

        customer = session.get(Customer, world.customers["inside"])
        assert customer is not None and MASK not in repr(customer.profile)


async def test_a_cleared_operator_edits_the_graded_entity(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    sid, item = world.calls["inside"], world.items["inside"]
    set_entities(engine, sid, [HEALTH_ENTITY])
    set_clearance(engine, world, "operator.seocho", 4)  # the county operator, cleared for health details
    csrf = await console_login(client, "operator.seocho")
    page = await (await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})).text()
    assert f"건강 정보: {HEALTH}" in html.unescape(TEXTAREA.search(page)[1])  # type: ignore[index]
    answer = await client.post(
        f"/console/items/{item}/classification",
        data={"csrf_token": csrf, "type": "report", "topic": "report.injury", "entities": "health: 목 염좌"},
    )
    assert answer.status == 200
    assert stored_entities(engine, sid) == [{"kind": "health", "value": "목 염좌"}]


# -- 2. the corrections export: scope, masking, audit --------------------------------------------------------------


def export_reads(engine: Any, username: str) -> list[tuple[int | None, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.username) == username, col(AuditEntry.purpose) == "corrections-export"
            )
        ).all()
        return sorted((r.customer_id, r.call_sid) for r in rows)


async def test_the_corrections_export_keeps_to_scope_masks_by_clearance_and_is_audited(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    await add_graded_records(client, world, engine)
    set_clearance(engine, world, "executive.seocho", 3)  # a county executive, not cleared for health details
    answer = await client.get("/api/v1/corrections", headers=world.auth("executive.seocho"))
    assert answer.status == 200
    text = json.dumps(await answer.json(), ensure_ascii=False)
    rows = (await answer.json())["items"]
    assert [r["call_sid"] for r in rows] == [world.calls["inside"]]
    assert world.calls["outside"] not in text and HEALTH_DETAILS["inside"] not in text
    health = [e for e in rows[0]["entities"] if e["kind"] == "health"]
    assert health and all(e["value"] == MASK for e in health)
    assert all(e["value"] == MASK for e in rows[0]["predicted"]["entities"] if e["kind"] == "health")
    assert "entities[1].value" in rows[0]["masked_fields"]
    assert export_reads(engine, "executive.seocho") == [(world.customers["inside"], None)]


async def test_a_full_clearance_export_trains_the_classifier(
    world_client: tuple[World, Any], engine: Any, tmp_path: Path
) -> None:
    world, client = world_client
    await add_graded_records(client, world, engine)
    answer = await client.get("/api/v1/corrections", headers=world.auth("admin.hq"))
    assert answer.status == 200
    body = await answer.json()
    assert sorted(r["call_sid"] for r in body["items"]) == sorted(world.calls.values())
    assert all(health in json.dumps(body, ensure_ascii=False) for health in HEALTH_DETAILS.values())
    assert export_reads(engine, "admin.hq") == sorted((c, None) for c in world.customers.values())
    exported = tmp_path / "corrections.json"
    exported.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    taxonomy = load_taxonomy()
    rows = load_corrections(exported, types=set(taxonomy.types), topics=set(taxonomy.topics))
    assert [(r["type"], r["topic"]) for r in rows] == [("report", "report.injury")] * 2


# -- 3. API tokens: an administrator's reach is their part of the organisation ------------------------------------


def token_ids(engine: Any, world: World, username: str) -> list[int]:
    with session_scope(engine) as session:
        query = select(ApiToken.id).where(col(ApiToken.staff_id) == world.staff[username]["id"])
        return [int(i) for i in session.exec(query).all() if i is not None]


def revocations(engine: Any) -> list[tuple[str, str | None, int | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "token.revoked")).all()
        return [(r.username, r.target, r.org_unit_id) for r in rows]


async def test_an_administrator_lists_and_revokes_only_the_tokens_of_their_subtree(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    listed = await (await client.get("/api/v1/tokens", headers=world.auth("admin.gangnam"))).json()
    holders = {t["staff_id"] for t in listed["items"]}
    units = {w["id"]: w["unit"] for w in world.staff.values()}
    assert holders and all(world.sees_unit("admin.gangnam", units[h]) for h in holders)
    assert world.staff["agent.seocho"]["id"] in holders
    assert world.staff["admin.hq"]["id"] not in holders and world.staff["operator.haeundae"]["id"] not in holders

    # The county administrator cannot revoke head office's token: 404, as for a token that does not exist.
    (head_office,) = token_ids(engine, world, "admin.hq")
    answer = await client.delete(f"/api/v1/tokens/{head_office}", headers=world.auth("admin.seocho"))
    unknown = await client.delete("/api/v1/tokens/999999", headers=world.auth("admin.seocho"))
    assert answer.status == unknown.status == 404
    assert (await answer.text()).replace(str(head_office), "N") == (await unknown.text()).replace("999999", "N")
    assert (await client.get("/api/v1/tokens", headers=world.auth("admin.hq"))).status == 200
    (busan,) = token_ids(engine, world, "operator.haeundae")
    assert (await client.delete(f"/api/v1/tokens/{busan}", headers=world.auth("admin.seoul"))).status == 404
    assert (await client.get("/api/v1/review-items", headers=world.auth("operator.haeundae"))).status == 200
    assert revocations(engine) == []

    # Within the subtree: revoked, and on record.
    (agent,) = token_ids(engine, world, "agent.seocho")
    answer = await client.delete(f"/api/v1/tokens/{agent}", headers=world.auth("admin.seocho"))
    assert answer.status == 200 and (await answer.json())["revoked_at"]
    assert (await client.get("/api/v1/tokens", headers=world.auth("agent.seocho"))).status == 401
    assert revocations(engine) == [("admin.seocho", f"token:{agent}", world.units["SEOUL-GANGNAM-SEOCHO"])]


def test_a_token_is_revoked_from_the_command_line_and_audited(settings: Settings, engine: Any) -> None:
    from tests.review_helpers import build_world

    world = build_world(engine)
    (token,) = token_ids(engine, world, "admin.hq")
    env = hotline_env(HOTLINE_DATA_DIR=str(settings.data_dir))
    done = subprocess.run(
        [*HOTLINE, "token", "revoke", str(token)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"#{token}" in done.stdout and "admin.hq" in done.stdout
    with session_scope(engine) as session:
        row = session.get(ApiToken, token)
        assert row is not None and row.revoked_at is not None
    ((who, target, unit),) = revocations(engine)
    assert who.startswith("cli:") and (target, unit) == (f"token:{token}", world.units["HQ"])
    unknown = subprocess.run(
        [*HOTLINE, "token", "revoke", "999999"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert unknown.returncode != 0 and "no token 999999" in unknown.stderr
    # Issuing is unchanged: `hotline token USERNAME` prints the token alone on stdout (its id on stderr).
    issued = subprocess.run(
        [*HOTLINE, "token", "agent.seocho"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert issued.returncode == 0 and len(issued.stdout.split()) == 1
    assert max(token_ids(engine, world, "agent.seocho")) == int(re.findall(r"#(\d+)", issued.stderr)[0])


# -- 4. account-manager events and assignment history: masked and audited like the picture -------------------------


def reads_of(engine: Any, username: str, purpose: str) -> list[tuple[int | None, tuple[str, ...]]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(AuditEntry).where(col(AuditEntry.username) == username, col(AuditEntry.purpose) == purpose)
        ).all()
        return sorted((r.customer_id, tuple(r.fields)) for r in rows)


def test_an_event_reason_has_the_grade_of_the_blacklist_reason() -> None:
    grades = load_field_grades()
    assert grades.grade("customer_event", "events[kind=blacklisted].reason") == grades.grade(
        "customer", "blacklist[].reason"
    )


async def test_manager_events_mask_the_blacklist_reason_below_its_grade_and_are_audited(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    await add_graded_records(client, world, engine)
    path = f"/api/v1/account-managers/{MANAGERS['inside']}/events"
    answer = await client.get(path, headers=world.auth("agent.seocho"))  # clearance 1
    assert answer.status == 200
    body = await answer.json()
    assert BLACKLIST_REASON not in json.dumps(body, ensure_ascii=False)
    listed = [e for e in body["items"] if e["kind"] == "blacklisted"]
    assert listed and all(e["reason"] == MASK and e["masked_fields"] == ["reason"] for e in listed)
    inside = world.customers["inside"]
    assert reads_of(engine, "agent.seocho", "account-manager-events") == [
        (inside, ("customer_event.at", "customer_event.kind", "customer_event.level"))
    ]
    cleared = await (await client.get(path, headers=world.auth("operator.seoul"))).json()  # clearance 3
    assert any(BLACKLIST_REASON in e["reason"] for e in cleared["items"])
    assert reads_of(engine, "operator.seoul", "account-manager-events") == [
        (inside, ("customer_event.at", "customer_event.kind", "customer_event.level", "customer_event.reason"))
    ]


async def test_the_account_manager_history_of_a_customer_is_an_audited_read(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    await add_graded_records(client, world, engine)
    inside = world.customers["inside"]
    answer = await client.get(f"/api/v1/customers/{inside}/account-manager/history", headers=world.auth("agent.seocho"))
    assert answer.status == 200 and (await answer.json())["items"][0]["username"] == MANAGERS["inside"]
    assert reads_of(engine, "agent.seocho", "account-manager-history") == [(inside, ("account_manager.history",))]
    outside = world.customers["outside"]
    answer = await client.get(
        f"/api/v1/customers/{outside}/account-manager/history", headers=world.auth("agent.seocho")
    )
    assert answer.status == 404
    assert reads_of(engine, "agent.seocho", "account-manager-history") == [(inside, ("account_manager.history",))]


# -- the audit trail names only what was shown unmasked ----------------------------------------------------------


async def test_a_picture_read_is_audited_with_the_fields_shown_unmasked(
    world_client: tuple[World, Any], engine: Any
) -> None:
    from crm_store.customers.picture import PICTURE_FIELDS

    world, client = world_client
    inside = world.customers["inside"]
    for username in ("agent.seocho", "operator.seoul", "admin.hq"):
        assert (await client.get(f"/api/v1/customers/{inside}", headers=world.auth(username))).status == 200
    fields = {u: set(reads_of(engine, u, "detail")[0][1]) for u in ("agent.seocho", "operator.seoul", "admin.hq")}
    everything = set(PICTURE_FIELDS)
    grade_3_parts = {
        "alerts[kind=blacklist].reason",
        "blacklist[].evidence",
        "blacklist[].reason",
        "profile.financial_notes",
    }
    grade_4_parts = {
        "claims[].diagnosis",
        "claims[].health",
        "claims[].injury",
        "profile.health",
        "profile.medical_history",
    }
    assert fields["agent.seocho"] == everything - {"registration_number"}  # clearance 1
    assert fields["operator.seoul"] == everything | grade_3_parts  # clearance 3
    assert fields["admin.hq"] == everything | grade_3_parts | grade_4_parts  # clearance 5
