"""Taxonomy, model loading and type classification of unseen, realistic utterances."""

from __future__ import annotations

import threading

import pytest

from workers.understanding import load_model, load_taxonomy, understand
from workers.understanding import model as model_module
from workers.understanding.taxonomy import TaxonomyError, parse_taxonomy

TYPES = {"report", "inquiry", "complaint", "notification", "dispatch"}

# Written for this test, in words no template uses.
UNSEEN = [
    ("report", "아까 신호 바뀌는 거 보고 출발했는데 옆 차선 버스가 제 차 문짝을 긁고 지나갔어요 처리 좀 해 주세요"),
    ("report", "지하실에 물이 들어차서 보관하던 쌀 포대랑 농기계가 다 젖어 버렸습니다 보험 신청하려고요"),
    ("report", "우리 애가 학교 체육 시간에 넘어져서 쇄골이 부러졌어요 보험금 받으려고 연락드렸어요"),
    ("report", "밤사이에 누가 가게 셔터를 뜯고 들어와서 금고랑 담배를 싹 가져갔어요"),
    ("complaint", "저번에 통화한 직원이 제 말을 계속 끊고 비아냥거리더라고요 너무 불쾌했어요"),
    ("complaint", "수리 끝난 지 한 달인데 아직도 보험금이 안 들어왔어요 도대체 언제까지 기다리라는 겁니까"),
    ("complaint", "통장에서 보험료가 이번 달에만 두 번 빠져나갔어요 확인도 안 하고 돈을 빼 가면 어떡해요"),
    ("complaint", "가입할 때는 다 된다고 해 놓고 막상 청구하니까 안 된다니 완전히 속았네요"),
    ("inquiry", "제 보험으로 해외에서 렌터카 운전하다 사고 나도 보상받을 수 있나요"),
    ("inquiry", "보험료를 매달 내는 거 말고 일 년에 한 번 몰아서 내면 좀 싸지나요"),
    ("inquiry", "통원 치료비 청구할 때 필요한 서류가 어떤 것들인지 알려 주세요"),
    ("inquiry", "지난주에 청구한 입원비가 지금 어느 단계에 있는지 궁금해서요"),
    ("notification", "저 다음 주부터 새 아파트로 들어가요 등록된 주소를 바꿔 놓고 싶어요"),
    ("notification", "타던 차는 팔았고 이번에 하이브리드 차를 새로 장만했어요 보험 차량 바꿔 주세요"),
    ("notification", "회사를 그만두고 지금은 음식 배달 일을 하고 있어요 직업 바뀐 거 알려 드려요"),
    ("notification", "남편 명의로 된 보험금 받는 사람을 저희 큰딸로 바꿔 주세요"),
    ("dispatch", "시동이 안 걸리는데 배터리 같아요 지금 회사 주차장이니까 한 분 보내 주세요"),
    ("dispatch", "갓길에 차를 세웠는데 앞바퀴가 완전히 펑크 났어요 교체하러 와 주실 수 있나요"),
    ("dispatch", "차 열쇠를 안에 두고 문을 닫아 버렸어요 문 좀 열어 주세요"),
    ("dispatch", "엔진이 멈춰서 움직이지를 않아요 정비소까지 차를 끌고 가 주세요"),
]


def test_taxonomy_loads_and_every_topic_belongs_to_a_type() -> None:
    taxonomy = load_taxonomy()
    assert set(taxonomy.types) == TYPES
    for topic in taxonomy.topics:
        call_type, _, name = topic.partition(".")
        assert call_type in taxonomy.types and name
        assert taxonomy.topic_label(topic) != topic  # has a Korean label
    for call_type in TYPES:
        assert len(taxonomy.topics_of(call_type)) >= 5


def test_model_classes_match_the_taxonomy() -> None:
    model = load_model()
    taxonomy = load_taxonomy()
    assert set(model.type_head.classes) == set(taxonomy.types)
    assert set(model.topic_head.classes) == set(taxonomy.topics)


def test_malformed_taxonomy_is_rejected() -> None:
    with pytest.raises(TaxonomyError):
        parse_taxonomy({"types": {"report": {"label": "사고 신고", "topics": {}}}})


def test_model_loads_once_even_from_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    model_module._CACHE.clear()
    calls = []
    original = model_module.read_payload

    def counting() -> dict[str, object]:
        calls.append(1)
        return original()

    monkeypatch.setattr(model_module, "read_payload", counting)
    loaded: list[object] = []
    threads = [threading.Thread(target=lambda: loaded.append(load_model())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(m is loaded[0] for m in loaded)
    understand("보험료 얼마예요")
    assert len(calls) == 1


@pytest.mark.parametrize(("expected", "text"), UNSEEN)
def test_unseen_sentences_get_the_right_type(expected: str, text: str) -> None:
    result = understand(text)
    assert result.type == expected, result.reasons
    assert result.topic.startswith(expected + ".")
    assert abs(sum(result.scores.values()) - 1.0) < 1e-4


def test_urgency_and_sentiment() -> None:
    injured = understand("지금 고속도로 갓길인데 사고가 나서 사람이 피를 흘리고 있어요 빨리 와 주세요")
    assert injured.urgency == "high"
    angry = understand("몇 번째 전화하는 건지 모르겠어요 보험금 아직도 안 나왔어요 금감원에 민원 넣겠습니다")
    assert angry.type == "complaint" and angry.urgency == "high" and angry.sentiment == "negative"
    calm = understand("자동이체 날짜를 바꾸고 싶은데 어떻게 하면 돼요")
    assert calm.urgency == "low" and calm.sentiment == "neutral"


def test_notification_proposes_changes_without_applying_them() -> None:
    result = understand(
        "이사해서 주소 바꿔 주세요 새 주소는 서울시 마포구 합정동 123 이에요 번호도 010-2222-3333으로 바뀌었어요"
    )
    fields = {change["field"]: change for change in result.proposed_changes}
    assert fields["address"]["value"] == "서울시 마포구 합정동 123"
    assert fields["phone"]["value"] == "[전화번호]" and fields["phone"]["masked"] is True
    assert all(change["evidence"] for change in result.proposed_changes)


def test_to_dict_is_json_ready() -> None:
    result = understand("어제 저녁 일곱 시쯤 판교 IC 근처에서 12가3456 차량이 제 차를 받았어요 접수해 주세요")
    data = result.to_dict()
    for key in ("type", "topic", "urgency", "sentiment", "entities", "redacted", "scores", "reasons", "model"):
        assert key in data
    assert data["type"] == "report" and data["topic"] == "report.auto_accident"
    assert {"kind", "text", "value", "start", "end"} <= set(data["entities"][0])
    assert result.reasons and result.model.startswith("hotline-understanding")


def test_secondary_type_of_a_mixed_call() -> None:
    result = understand(
        "어제 주차장에서 접촉 사고가 났어요 접수해 주세요 그리고 저 이사해서 주소도 바뀌었어요 주소 변경도 해 주세요"
    )
    assert result.type == "report"
    assert "notification" in result.secondary_types
