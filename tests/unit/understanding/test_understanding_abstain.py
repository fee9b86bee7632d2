"""Off-topic speech is left unclassified (type and topic None, shown as 미분류) with the reason; call language is
not."""

from __future__ import annotations

import json
import math

import pytest

from workers.understanding import load_model, understand
from workers.understanding.abstain import REASON, UNCLASSIFIED_LABEL, Abstention, calibrate, conformal_threshold
from workers.understanding.rules import urgency
from workers.understanding.train import fit_abstention

COFFEE = "한 잔 의 커피 가 소비자 에게 전해지기 위해선 여러 차례 의 공정을 거쳐야 한다"  # Zeroth-Korean 104_003_0294

OFF_TOPIC = [
    COFFEE,
    "한 잔의 커피가 소비자에게 전해지기 위해선 여러 차례의 공정을 거쳐야 한다.",  # as Whisper writes it
    "오늘 날씨 진짜 좋다 하늘이 맑고 바람도 시원하네",
    "여보세요 거기 중국집 아니에요 짜장면 두 그릇이랑 탕수육 하나 배달해 주세요",
    "어제 야구 봤어 구 회말에 역전 홈런 진짜 대박이었어",
    "아이스 아메리카노 한 잔이랑 카페라테 따뜻한 걸로 주세요",
    "여보세요",
    "시청해 주셔서 감사합니다",
    "음 음 음",
    "",
]

# Short, everyday call language of each type: none of it may be left unclassified.
TYPICAL = [
    ("report", "사고 접수하려고요"),
    ("report", "어제 주차장에서 접촉 사고가 났어요 접수해 주세요"),
    ("inquiry", "보험료 얼마예요"),
    ("inquiry", "실손 청구할 때 어떤 서류가 필요해요"),
    ("complaint", "보험금이 아직도 안 들어왔어요"),
    ("complaint", "담당 직원이 너무 불친절해서 전화했어요"),
    ("notification", "주소 바뀌어서 전화했어요"),
    ("notification", "차를 팔아서 보험에서 빼 주세요"),
    ("dispatch", "견인차 좀 보내 주세요"),
    ("dispatch", "배터리가 나가서 시동이 안 걸려요 와 주세요"),
]


@pytest.mark.parametrize("text", OFF_TOPIC)
def test_off_topic_speech_gets_no_type_and_says_why(text: str) -> None:
    result = understand(text)
    assert (result.type, result.topic) == (None, None), result.reasons
    assert result.type_label == result.topic_label == UNCLASSIFIED_LABEL
    assert result.unclassified_reason and REASON in result.unclassified_reason
    assert result.reasons[0] == result.unclassified_reason
    assert result.reasons[1].startswith("closest type ")  # the operator still sees the model's best guess
    assert result.secondary_types == () and result.proposed_changes == ()
    dumped = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert dumped["type"] is None and dumped["topic"] is None
    assert dumped["type_label"] == UNCLASSIFIED_LABEL and REASON in dumped["unclassified_reason"]


@pytest.mark.parametrize(("expected", "text"), TYPICAL)
def test_typical_call_language_of_each_type_is_still_classified(expected: str, text: str) -> None:
    result = understand(text)
    assert result.type == expected and result.unclassified_reason is None, result.reasons
    assert result.topic is not None and result.topic.startswith(expected + ".")
    assert result.to_dict()["unclassified_reason"] is None


def test_the_shipped_rule_is_the_one_the_training_script_derives() -> None:
    model = load_model()
    shipped = model.meta["abstain"]
    derived = fit_abstention(model)
    assert derived["score"] == shipped["score"]
    assert derived["threshold"] == pytest.approx(shipped["threshold"], rel=1e-9)
    assert derived["calibration"] == shipped["calibration"]
    assert derived["calibration"]["in_domain_abstain"] <= derived["rate"]
    assert model.abstention == Abstention(shipped["score"], shipped["threshold"])


def test_the_threshold_is_a_conformal_quantile_of_the_in_domain_scores() -> None:
    scores = [float(s) for s in range(1, 100)]  # n = 99
    assert conformal_threshold(scores, 0.02) == 2.0  # k = floor(0.02 * 100) = 2: one score in 99 lies below it
    assert conformal_threshold(scores, 0.005) == -math.inf  # too few calls to promise 0.5%: never abstain
    assert conformal_threshold(list(reversed(scores)), 0.1) == 10.0


def test_calibration_keeps_the_score_that_leaves_more_off_topic_speech_unclassified() -> None:
    in_domain = {"topic_energy": [float(s) for s in range(1, 100)], "type_energy": [float(s) for s in range(1, 100)]}
    off_topic = {"topic_energy": [0.5, 1.5, 3.0], "type_energy": [0.5, 1.5, 1.8]}
    rule = calibrate(in_domain, off_topic, rate=0.02)
    assert (rule["score"], rule["threshold"]) == ("type_energy", 2.0)
    assert rule["calibration"] == {
        "in_domain": 99,
        "in_domain_abstain": 0.0101,
        "off_topic": 3,
        "off_topic_abstain": 1.0,
    }


def test_a_model_file_without_a_rule_never_abstains() -> None:
    rule = Abstention.from_payload({"name": "old"})
    assert not rule.unsure({"topic_energy": -1e9, "type_energy": -1e9})
    with pytest.raises(ValueError):
        Abstention.from_payload({"abstain": {"score": "vibes", "threshold": 1.0}})


def test_coffee_is_not_blood() -> None:
    assert urgency("커피가 쏟아졌어요", None)[0] != "high"
    assert urgency("아침에 커피를 마셨어요", None)[0] != "high"
    assert urgency("다리에서 피가 많이 나요", "report")[0] == "high"
