"""The console's complaint pages: the queue of the viewer's part in Korean with KST times and business days left,
one complaint with its dossier and the forms of the steps the viewer may take, a step taken through the form, a
refused one shown on the same page with the inputs kept, and nothing outside the viewer's scope."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.complaints.tables import Complaint
from gateway.console import complaints
from tests.complaint_helpers import COMPLAINT_CODES, open_for
from tests.review_helpers import World, console_login
from tests.unit.gateway.test_console_pages import RAW_CODES, visible_text


@dataclass
class Scene:
    """The review world's client signed in as the 서초 operator, a complaint of each customer (id, number)."""

    world: World
    client: Any
    csrf: str
    inside: tuple[int, str]
    outside: tuple[int, str]


@pytest.fixture
async def scene(world_client: tuple[World, Any], engine: Any) -> Scene:
    world, client = world_client
    inside = open_for(engine, world, "inside", call_sid=world.calls["inside"])
    outside = open_for(engine, world, "outside")
    return Scene(world, client, await console_login(client, "operator.seocho"), inside, outside)


def _assert_korean(page: str) -> str:
    text = visible_text(page)
    assert not COMPLAINT_CODES.search(text), COMPLAINT_CODES.search(text)
    assert not RAW_CODES.search(text), RAW_CODES.search(text)
    return text


async def test_the_queue_shows_the_viewer_s_complaints_in_korean_with_limits_and_filters(scene: Scene) -> None:
    client, (inside, number), (_outside, foreign) = scene.client, scene.inside, scene.outside
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


async def test_a_complaint_page_shows_record_dossier_and_forms_and_is_audited(scene: Scene, engine: Any) -> None:
    world, client, (inside, number), (outside, _number) = scene.world, scene.client, scene.inside, scene.outside
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
    scene: Scene, engine: Any
) -> None:
    client, csrf, (inside, _number), (outside, _foreign) = scene.client, scene.csrf, scene.inside, scene.outside
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


async def test_the_queue_pages_keep_the_filters(scene: Scene, engine: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(complaints, "PAGE_SIZE", 1)
    second = open_for(engine, scene.world, "inside", topic=None, category="other", summary="안내가 불친절합니다.")
    first = await (await scene.client.get("/console/complaints", params={"overdue": "true"})).text()
    assert scene.inside[1] in first and second[1] not in first
    following = re.search(r'id="next-page" href="([^"]+)"|href="([^"]+)" id="next-page"', first)
    assert following is not None
    link = (following[1] or following[2]).replace("&amp;", "&")
    assert "overdue=true" in link and f"after={scene.inside[0]}" in link
    then = await (await scene.client.get(f"/console/complaints{link}")).text()
    assert second[1] in then and scene.inside[1] not in then and 'id="first-page"' in then


async def test_reading_the_queue_is_audited_and_it_filters_by_unit_department_customer_and_period(
    scene: Scene, engine: Any
) -> None:
    client, (_inside, number) = scene.client, scene.inside
    seocho = str(scene.world.units["SEOUL-GANGNAM-SEOCHO"])
    page = await (await client.get("/console/complaints", params={"unit": seocho})).text()
    assert number in page and "고객관리부" in visible_text(page)
    with Session(engine) as session:
        reads = session.exec(select(AuditEntry).where(col(AuditEntry.purpose) == "complaint_queue")).all()
    assert {(r.username, r.customer_id) for r in reads} == {("operator.seocho", scene.world.customers["inside"])}
    for query, shown in (
        ({"department": "customer_management"}, True),
        ({"received_from": "2026-09-21", "received_to": "2026-09-21"}, True),
        ({"received_from": "2026-09-22"}, False), ({"customer": "김안"}, True), ({"customer": "박"}, False),
    ):  # fmt: skip
        assert (number in await (await client.get("/console/complaints", params=query)).text()) is shown, query
    for bad in ({"unit": str(scene.world.units["BUSAN"])}, {"department": "sales"}, {"received_from": "21/09/2026"}):
        refused = await client.get("/console/complaints", params=bad)
        assert refused.status == 400 and "알 수 없는 조회 조건입니다." in await refused.text(), bad


async def test_a_refused_step_form_says_why_in_korean(scene: Scene) -> None:
    client, (inside, _number) = scene.client, scene.inside
    posted = {"csrf_token": scene.csrf, "action": "acknowledgement", "handler_phone": "1"}
    answer = await client.post(f"/console/complaints/{inside}/steps", data=posted)
    page = await answer.text()
    assert answer.status == 422
    error = visible_text(page.split('id="form-error"', 1)[1].split("</div>", 1)[0])
    assert "담당자 이름: 필수 항목입니다." in error and "담당자 연락처: 비어 있거나 너무 짧습니다." in error
    assert not re.search(r"Field required|at least|String should", page)


async def test_the_complaint_numbers_of_every_business_site_are_public(world_client: tuple[World, Any]) -> None:
    _world, client = world_client
    answer = await client.get("/console/complaint-numbers", allow_redirects=False)
    page = await answer.text()
    assert answer.status == 200 and 'id="whoami"' not in page
    text = visible_text(page)
    assert "서초구지점 +8225551000" in text and "본사 +8215881234" in text and "해운대구지점 +8215883300" in text
