"""The console's pages are templates: every code shown by its Korean name from one catalogue, every time in Korea
time, the classifier's reasons as Korean sentences, values escaped, and a failed action shown on the page it was
made from. No HTML is built in the gateway's Python code."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from crm_store.calls.tables import Call, CallType, PipelineState
from crm_store.customers.tables import AlertKind, AlertLevel, Customer, Segment
from crm_store.db import session_scope
from crm_store.desk.agent_tables import AgentState
from crm_store.org.tables import OrgLevel, Role
from crm_store.review.tables import ReviewItem, ReviewState
from gateway import labels
from gateway.console.reasons import korean_reasons, subject_particle
from gateway.console.render import kst
from tests.review_helpers import World, console_login
from workers.understanding.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[3]
STORED_AT = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # 2026-11-25 08:30 in Korea
STORED_REASONS = [
    "type complaint 0.61: '공정' +0.29, '갱신 거절' +0.12",
    "topic complaint.underwriting_renewal 0.55 within complaint",
    "morphology (Kiwi) consulted: the character model was unsure",
    "secondary inquiry 0.30",
    "urgency high: angry caller escalating (금감원)",
    "urgency high: vehicle on the road (고속도로 + 지금)",
    "sentiment negative: 화가, 짜증",
]
ACTION = re.compile(r'\baction\s*=\s*"([a-z_.]+)"(?:\s+if\s+.*?\s+else\s+"([a-z_.]+)")?')
# Codes that must never reach an operator's eyes (as whole words of the visible text).
RAW_CODES = re.compile(
    r"\b(?:report|inquiry|complaint|notification|dispatch|quality|key|ordinary|inferior|blacklist|frequent_claims|"
    r"high_loss_ratio|key_customer|repeat_complainant|high|normal|low|open|taken|closed|classified|failed|"
    r"negative|positive|neutral|individual|corporate|warning|critical|info|address|place)\b|\w+\.\w+_\w+"
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style", "title")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """What a reader sees of a page: its text, not its tags, attributes or option values."""
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def classify(engine: Any, world: World, key: str, *, type_: str | None, topic: str | None, **call: Any) -> None:
    """Give a world call (and its review item) a classification, stored at 23:30 UTC."""
    with session_scope(engine) as session:
        stored = session.exec(select(Call).where(col(Call.call_sid) == world.calls[key])).one()
        stored.type, stored.topic, stored.created_at, stored.started_at = type_, topic, STORED_AT, STORED_AT
        for name, value in call.items():
            setattr(stored, name, value)
        item = session.get(ReviewItem, world.items[key])
        assert item is not None
        item.type, item.topic, item.urgency, item.due_at = type_, topic, stored.urgency, STORED_AT
        customer = session.get(Customer, world.customers[key])
        assert customer is not None
        customer.segment = Segment.QUALITY
        session.add_all([stored, item, customer])


# -- the catalogue -------------------------------------------------------------------------------------------------


def test_every_stored_code_has_a_korean_label() -> None:
    taxonomy = load_taxonomy()
    assert dict(labels.CALL_TYPES) == taxonomy.types and dict(labels.TOPICS) == taxonomy.topics
    assert {t.value for t in CallType} <= set(labels.CALL_TYPES)
    assert {s.value for s in Segment} <= set(labels.SEGMENTS)
    assert {k.value for k in AlertKind} <= set(labels.ALERT_KINDS)
    assert {v.value for v in AlertLevel} <= set(labels.ALERT_LEVELS)
    assert {r.value for r in Role} == set(labels.ROLES)
    assert {s.value for s in ReviewState} <= set(labels.REVIEW_STATES)
    assert {s.value for s in PipelineState} <= set(labels.PIPELINE_STATES)
    assert {level.value for level in OrgLevel} == set(labels.ORG_LEVELS)
    assert {state.value for state in AgentState} == set(labels.AGENT_STATES)


def test_every_action_the_code_records_has_a_korean_label() -> None:
    """Audit actions and review events written anywhere in the code (a new one without a label fails here)."""
    found: set[str] = set()
    sources = [*ROOT.joinpath("crm_store").rglob("*.py"), *ROOT.joinpath("gateway").rglob("*.py")]
    for path in sources:
        if "migrations" in path.parts or path.name == "labels.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if "add_argument" in line:
                continue
            for first, second in ACTION.findall(line):
                found |= {first, second} - {""}
            found |= set(re.findall(r'"(blacklist_(?:propose|approve|revoke))"', line))
    known = set(labels.AUDIT_ACTIONS) | set(labels.REVIEW_ACTIONS) | set(labels.COMPLAINT_STEPS)
    assert {"token.issued", "token.revoked", "blacklist_revoke", "customer.transferred", "routed"} <= found
    assert found <= known, sorted(found - known)
    from crm_store.complaints.steps import STEPS
    from crm_store.dispatch.assignment import FIELD_STEPS

    assert set(STEPS) <= set(labels.COMPLAINT_STEPS)  # every step of the dossier, its audit action too
    assert {f"dispatch_{step}" for step in FIELD_STEPS} <= set(labels.DISPATCH_ACTIONS)  # audited as dispatch_<step>


def test_times_read_in_korea_time_in_one_format() -> None:
    assert kst(STORED_AT) == "2026-11-25 08:30"
    assert kst("2026-11-24T23:30:00+00:00") == "2026-11-25 08:30"
    assert kst(datetime(2026, 11, 24, 23, 30)) == "2026-11-25 08:30"  # naive: stored UTC
    assert kst(None) == ""


def test_reasons_read_as_korean_sentences() -> None:
    sentences = korean_reasons(STORED_REASONS)
    assert sentences == [
        "유형 '불만·민원' (확신도 0.61)",
        "'공정'이 불만·민원 쪽으로 +0.29",
        "'갱신 거절'이 불만·민원 쪽으로 +0.12",
        "주제 '인수·갱신 불만' (불만·민원 안에서 확신도 0.55)",
        "글자 단위 모형이 확신하지 못해 형태소 분석(Kiwi)도 참고함",
        "함께 보이는 유형: 상담·문의 0.30",
        "긴급: 화난 고객의 민원 제기 예고 ('금감원')",
        "긴급: 도로 위에 선 차량 ('고속도로' + '지금')",
        "감정 부정적: '화가', '짜증'",
    ]
    assert korean_reasons("urgency low: inquiry without a danger or escalation cue") == [
        "긴급도 낮음: 상담·문의 통화에 위험이나 민원 제기 신호가 없음"
    ]
    unclassified = [
        "미분류: 보험 관련 표현이 부족하여 분류하지 않음 (domain topic_energy 3.60 < 3.67)",
        "closest type complaint 0.73: '네요' +0.75; topic complaint.dispatch_delay 0.66",
    ]
    assert korean_reasons(unclassified) == [
        "미분류: 보험 관련 표현이 부족하여 분류하지 않음 (보험 관련 표현 점수 3.60, 기준 3.67 미만)",
        "가장 가까운 유형 '불만·민원' (확신도 0.73), 주제 '출동 지연 불만' (확신도 0.66)",
        "'네요'가 불만·민원 쪽으로 +0.75",
    ]
    assert korean_reasons(["sentiment negative: complaint call"]) == ["감정 부정적: 불만·민원 통화"]
    assert korean_reasons(["주소 변경 표현"]) == ["주소 변경 표현"]  # another shape: as stored
    assert korean_reasons(None) == []
    assert [subject_particle(w) for w in ("공정", "보험사", "IC", "")] == ["이", "가", "이(가)", "이(가)"]


def test_no_html_is_built_in_the_gateways_python_code() -> None:
    pattern = r"""['"]<(div|table|tr|td|form|input|section|h[1-3]|ul|li|p|a|span)[ >]"""
    found = subprocess.run(
        ["grep", "-rnE", pattern, "gateway", "--include=*.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert found.returncode == 1 and not found.stdout, found.stdout


# -- the pages -----------------------------------------------------------------------------------------------------


async def test_queue_and_item_pages_show_korean_names_and_korea_time(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    classify(
        engine, world, "inside", type_="complaint", topic="complaint.underwriting_renewal", urgency="high",
        classification={"reasons": STORED_REASONS, "model": "test", "sentiment": "negative",
                        "proposed_changes": [{"field": "address", "value": "서울시 서초구 반포대로 1",
                                              "evidence": "주소가 바뀌었습니다"}]},
    )  # fmt: skip
    await console_login(client, "operator.seocho")
    queue = visible_text(await (await client.get("/console/queue")).text())
    assert "불만·민원" in queue and "인수·갱신 불만" in queue and "긴급" in queue and "대기" in queue
    assert "2026-11-25 08:30" in queue and "23:30" not in queue
    assert not RAW_CODES.findall(queue), RAW_CODES.findall(queue)

    page = await client.get(f"/console/items/{world.items['inside']}")
    text = visible_text(await page.text())
    assert page.status == 200 and not RAW_CODES.findall(text), RAW_CODES.findall(text)
    assert "2026-11-25 08:30" in text and "23:30" not in text
    assert "'공정'이 불만·민원 쪽으로 +0.29" in text and "우량" in text and "블랙리스트" in text
    assert "주소" in text  # the proposed change's field by its name


async def test_an_unclassified_call_reads_unclassified(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    classify(engine, world, "inside", type_=None, topic=None, urgency="normal")
    csrf = await console_login(client, "operator.seocho")
    row = re.search(r'<tr class="item".*?</tr>', await (await client.get("/console/queue")).text(), re.S)
    assert row is not None and visible_text(row[0]).count(labels.UNCLASSIFIED) == 2
    page = await (await client.post(f"/console/items/{world.items['inside']}/take", data={"csrf_token": csrf})).text()
    assert re.search(r'id="call-type">미분류<', page) and re.search(r'id="call-topic">미분류<', page)
    assert '<option value="" selected>미분류</option>' in page  # the operator classifies it


async def test_stored_text_is_escaped(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    classify(engine, world, "inside", type_="inquiry", topic="inquiry.coverage", transcript="<script>alert(1)</script>")
    await console_login(client, "operator.seocho")
    page = await (await client.get(f"/console/items/{world.items['inside']}")).text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_a_failed_review_action_shows_the_item_page_again_with_why(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    csrf = await console_login(client, "operator.seocho")
    item = world.items["inside"]
    assert (await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})).status == 200
    answer = await client.post(f"/console/items/{item}/forward", data={"csrf_token": csrf, "note": " "})
    page = await answer.text()
    assert answer.status == 422 and 'id="form-error"' in page and "입력값을 확인하세요" in page
    assert 'id="forward"' in page and 'id="classification"' in page  # the item's page, its forms still there
    answer = await client.post(
        f"/console/items/{item}/classification",
        data={"csrf_token": csrf, "type": "report", "topic": "inquiry.coverage", "entities": ""},
    )
    assert answer.status == 422 and "topic:" in visible_text(await answer.text())
    # Taking an item someone holds: the queue again, with why.
    csrf = await console_login(client, "center_manager.seocho")
    answer = await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})
    page = await answer.text()
    assert answer.status in (403, 409) and 'id="filters"' in page and 'id="form-error"' in page


async def test_a_failed_completion_shows_the_duties_again_with_why(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    csrf = await console_login(client, "account_manager.seocho")
    answer = await client.post(
        f"/console/tasks/{world.tasks['inside']}/done",
        data={"outcome": " ", "csrf_token": csrf, "manager": "account_manager.seocho", "state": "open"},
    )
    page = await answer.text()
    assert answer.status == 422 and 'id="form-error"' in page and f'data-task="{world.tasks["inside"]}"' in page
    assert "중점 고객 정기 방문" in visible_text(page)


def test_every_field_an_audit_row_may_name_has_a_korean_name() -> None:
    from crm_store.customers.events import EVENT_FIELDS
    from crm_store.customers.picture import picture_audit_fields
    from crm_store.managers.account_managers import HISTORY_FIELDS
    from crm_store.org.staff import MAX_CLEARANCE
    from crm_store.review.queue import CORRECTION_FIELDS
    from gateway.api import CALL_RECORD_FIELDS

    read = {*picture_audit_fields(MAX_CLEARANCE), *HISTORY_FIELDS, *EVENT_FIELDS, "customer_event.reason"}
    read |= {*CORRECTION_FIELDS, *CALL_RECORD_FIELDS, "recording", "blacklist", "service_tasks", "segment_history"}
    assert sorted(read - set(labels.AUDIT_READ_FIELDS)) == []
