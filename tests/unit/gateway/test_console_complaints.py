"""The console's complaint pages: the queue of the viewer's part in Korean with KST times and business days left,
one complaint with its dossier and the forms of the steps the viewer may take, a step taken through the form, a
refused one shown on the same page with the inputs kept, and nothing outside the viewer's scope."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.complaints.store import open_complaint
from crm_store.complaints.tables import Complaint
from crm_store.db import session_scope
from crm_store.org.scope import CommandLine
from crm_store.types import utcnow
from tests import complaint_helpers
from tests.review_helpers import World, console_login
from tests.unit.gateway.test_console_pages import RAW_CODES, visible_text

# Codes of complaints that must never show: categories, topics, states and steps, channels, means.
COMPLAINT_CODES = re.compile(
    r"\b(?:claims_payment|maintenance|sales|receipt|verification|registration|acknowledgement|reopened|call|fss|"
    r"sms|customer_management)\b|complaint\.\w+"
)


def _open(engine: Any, world: World, key: str, **fields: Any) -> tuple[int, str]:
    """A complaint of the world's customer (received Monday 21 September 2026 10:00 KST, long overdue)."""
    with session_scope(engine) as session:
        data = complaint_helpers.create(world.customers[key], **fields)
        opened = open_complaint(session, CommandLine(username="root"), data, now=utcnow())
        return int(opened.complaint.id), opened.complaint.number  # type: ignore[arg-type]


def _assert_korean(page: str) -> str:
    text = visible_text(page)
    assert not COMPLAINT_CODES.search(text), COMPLAINT_CODES.search(text)
    assert not RAW_CODES.search(text), RAW_CODES.search(text)
    return text


async def test_the_queue_shows_the_viewer_s_complaints_in_korean_with_limits_and_filters(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    inside, number = _open(engine, world, "inside", call_sid=world.calls["inside"])
    _outside, foreign = _open(engine, world, "outside")
    await console_login(client, "operator.seocho")
    answer = await client.get("/console/complaints")
    page = await answer.text()
    assert answer.status == 200 and 'id="complaints-link"' in page
    text = _assert_korean(page)
    assert number in text and foreign not in text
    assert "보험금 지급" in text and "보상 처리 지연" in text and "접수" in text
    assert "2026-09-21 10:00" in text and "기한 초과" in text
    assert re.search(rf'data-complaint="{inside}"[^>]*>', page)
    assert 'class="days-left urgent"' in page

    found = await (await client.get("/console/complaints", params={"number": number[-6:]})).text()
    assert number in found
    for query in ({"number": "C-1999"}, {"state": "closed"}, {"category": "sales"}):
        empty = await (await client.get("/console/complaints", params=query)).text()
        assert number not in empty and "해당하는 민원이 없습니다." in empty
    assert number in await (await client.get("/console/complaints", params={"overdue": "true"})).text()
    refused = await client.get("/console/complaints", params={"category": "claims"})
    assert refused.status == 400 and "알 수 없는 조회 조건입니다." in await refused.text()


async def test_a_complaint_page_shows_record_dossier_and_forms_and_is_audited(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    inside, number = _open(engine, world, "inside", call_sid=world.calls["inside"])
    outside, _number = _open(engine, world, "outside")
    await console_login(client, "operator.seocho")
    answer = await client.get(f"/console/complaints/{inside}")
    page = await answer.text()
    assert answer.status == 200
    text = _assert_korean(page)
    assert number in text and "김안쪽" in text and "전화" in text and "보상 처리 지연" in text and "고객관리부" in text
    assert "2026-09-21 10:00" in text and "영업일 초과" in text
    assert f'href="/console/items/{world.items["inside"]}"' in page
    assert 'id="step-acknowledgement"' in page and 'id="step-verification"' in page
    assert 'id="step-handling"' not in page  # not from this state, not by an operator
    assert "확인된 사실 (필수)" in text and "담당자 이름 (필수)" in text
    assert (await client.get(f"/console/complaints/{outside}")).status == 404
    with Session(engine) as session:
        reads = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.customer_id) == world.customers["inside"], col(AuditEntry.purpose) == "complaint"
            )
        ).all()
    assert [r.username for r in reads] == ["operator.seocho"]


async def test_a_step_posted_moves_the_complaint_and_a_refused_one_shows_why_on_the_page(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    inside, _number = _open(engine, world, "inside")
    outside, _foreign = _open(engine, world, "outside")
    csrf = await console_login(client, "operator.seocho")
    path = f"/console/complaints/{inside}/steps"

    invalid = await client.post(
        path, data={"csrf_token": csrf, "action": "verification", "facts": " ", "policy_number": "P-77"}
    )
    page = await invalid.text()
    assert invalid.status == 422
    text = _assert_korean(page)
    assert "확인된 사실" in re.search(r'id="form-error".*?</div>', page, re.S)[0]  # type: ignore[index]
    assert 'value="P-77"' in page

    illegal = await client.post(path, data={"csrf_token": csrf, "action": "handling"})
    assert illegal.status == 403 and "처리: 이 단계를 처리할 권한이 없습니다 (운영자)." in await illegal.text()

    moved = await client.post(
        path, data={"csrf_token": csrf, "action": "verification", "facts": "지급 지연 확인", "policy_number": "P-77"},
        allow_redirects=False,
    )  # fmt: skip
    assert moved.status == 303 and moved.headers["Location"] == f"/console/complaints/{inside}"
    with Session(engine) as session:
        assert session.get(Complaint, inside).state == "verification"  # type: ignore[union-attr]
    text = _assert_korean(await (await client.get(f"/console/complaints/{inside}")).text())
    assert "확인된 사실 지급 지연 확인" in text and "operator.seocho" in text
    again = await client.post(path, data={"csrf_token": csrf, "action": "verification", "facts": "다시"})
    text = visible_text(await again.text())
    assert again.status == 409 and "확인: 현재 단계(확인)에서는 할 수 없습니다." in text

    assert (await client.post(f"/console/complaints/{outside}/steps", data={"csrf_token": csrf})).status == 404
    assert (await client.post(path, data={"action": "verification", "facts": "x"})).status == 403  # no CSRF token
