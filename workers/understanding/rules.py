"""Rules that complement the model: urgency and sentiment, each with the cue that decided it.

Urgency is "high" when someone may be hurt or in danger now (injury signs, a car stopped on a fast
road, fire or smoke, water rising, a child locked in a car) or when the caller is an angry repeat
caller threatening escalation (금감원, 민원, 몇 번째); "low" for inquiries and notifications with no
such cue; "normal" otherwise.
"""

from __future__ import annotations

import re

__all__ = ["sentiment", "urgency"]

_ACUTE = [
    (
        "injury",  # (?<!커): 커피가/커피를 is coffee, not blood
        re.compile(
            r"(?<!커)피가|(?<!커)피를|출혈|의식이|의식을|기절|쓰러[져졌지]|구급차|119|응급실|숨을\s?못|숨이|호흡|깔렸|깔려|"
            r"갇혀|갇혔|끼었|끼어서|움직이질\s?못|다쳤어요\s?지금|많이\s?다쳤|크게\s?다쳤"
        ),
    ),
    (
        "fire",
        re.compile(
            r"불이\s?(?:났|나|붙|번지)|불길|연기가|연기\s?나|타고\s?있|폭발|가스\s?냄새|가스가\s?새|화재가?\s?(?:났|발생)"
        ),
    ),
    ("water", re.compile(r"물이\s?차(?:고|오르|올라)|잠기고\s?있|침수되고\s?있|물이\s?쏟아지고|계속\s?물이")),
    ("child_locked", re.compile(r"(?:아이|애기|아기|애|강아지)(?:가|를)?\s?(?:차\s?)?안에|카시트")),
]
_INJURY = re.compile(r"다쳤|다치|부상|골절|부러|인대|병원|입원|통증|아파")
_NOW = re.compile(
    r"지금|현재|방금|아직|당장|빨리|급해|급한|서\s?있|세워\s?(?:놨|뒀|두었)|멈췄|멈춰|못\s?움직|안\s?움직|"
    r"서\s?버렸|꺼졌|비상등"
)
_ROAD = re.compile(r"고속도로|도로\s?위|도로\s?한복판|갓길|차선|터널|교차로|대교|순환로|간선도로|IC|나들목|국도")
_ESCALATION = re.compile(
    r"금감원|금융감독원|금융위|소비자원|민원\s?(?:넣|제기|접수|신청)|언론|방송국|고소|소송|변호사|"
    r"몇\s?번째|또\s?전화|계속\s?전화|몇\s?번을|세\s?번째|네\s?번째|\d\s?번째\s?전화|참다\s?참다"
)

_NEGATIVE = re.compile(
    r"화가|화나|화난|짜증|어이가\s?없|어이없|황당|말이\s?(?:됩니까|돼요|되냐|안\s?돼)|장난해|너무하|너무\s?하네|"
    r"기가\s?막|열\s?받|열받|억울|불쾌|기분\s?나쁘|괘씸|사기|엉망|무성의|답답|실망|최악|못\s?참|항의|"
    r"민원|따지|책임지|사과하|이게\s?뭐|뭡니까|왜\s?이렇게|속았|거짓말|불친절|무시|어떡해|큰일|무서|"
    r"놀라서|울고|난리|미치겠|죽겠|얼어\s?죽|기가\s?차|납득이\s?안|인정\s?못|부당|뭘로\s?보"
)
_POSITIVE = re.compile(
    r"(?<!불)친절하게|(?<!불)친절하셔서|(?<!불)친절했|덕분에|만족|고맙습니다|고마워|감사드려요|"
    r"정말\s?감사|너무\s?감사|잘\s?해결|잘\s?처리|빨리\s?처리해\s?주셔서|칭찬|수고\s?많으셨"
)


def urgency(text: str, call_type: str | None) -> tuple[str, tuple[str, ...]]:
    """Urgency ("high", "normal", "low") of a call and the cues behind it (``call_type`` None: unclassified)."""
    reasons: list[str] = []
    for name, pattern in _ACUTE:
        match = pattern.search(text)
        if match:
            reasons.append(f"urgency high: {name} ({match.group(0)})")
    road = _ROAD.search(text)
    now = _NOW.search(text)
    if road and (now or call_type == "dispatch"):
        cue = f"{road.group(0)}" + (f" + {now.group(0)}" if now else "")
        reasons.append(f"urgency high: vehicle on the road ({cue})")
    injury = _INJURY.search(text)
    if injury and now and call_type in ("report", "dispatch"):
        reasons.append(f"urgency high: injury now ({injury.group(0)} + {now.group(0)})")
    escalation = _ESCALATION.search(text)
    if escalation and call_type == "complaint" or escalation and _NEGATIVE.search(text):
        assert escalation is not None
        reasons.append(f"urgency high: angry caller escalating ({escalation.group(0)})")
    if reasons:
        return "high", tuple(reasons)
    if call_type in ("inquiry", "notification"):
        return "low", (f"urgency low: {call_type} without a danger or escalation cue",)
    return "normal", ()


def sentiment(text: str, call_type: str | None) -> tuple[str, tuple[str, ...]]:
    """Sentiment ("negative", "neutral", "positive") from cue words and the call type."""
    negative = [m.group(0) for m in _NEGATIVE.finditer(text)]
    positive = [m.group(0) for m in _POSITIVE.finditer(text)]
    if negative and len(negative) >= len(positive):
        return "negative", (f"sentiment negative: {', '.join(dict.fromkeys(negative))}",)
    if positive:
        return "positive", (f"sentiment positive: {', '.join(dict.fromkeys(positive))}",)
    if call_type == "complaint":
        return "negative", ("sentiment negative: complaint call",)
    return "neutral", ()
