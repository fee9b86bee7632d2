"""Changes the caller told us (new address, new phone, another car), as proposals for an operator.

Nothing here is applied to the customer record: each proposal is ``{"field", "value", "evidence"}``
(plus ``"masked": True`` when the value is a masked personal number that the operator reads from
the raw transcript, with clearance) and waits for review.
"""

from __future__ import annotations

import re

from workers.understanding.entities import Entity

__all__ = ["propose_changes"]

_ADDRESS_CUE = re.compile(r"이사|주소|사는\s?곳|소재지|사업장\s?위치|가게\s?위치|사무실을\s?\S+로\s?옮")
_ADDRESS_VALUE = re.compile(
    r"(?:새\s?주소는|주소는|주소를|이사\s?(?:간|온|갈|한)\s?(?:곳은|데는|집은)|지금은|주소지가|주소가|이사를?\s?(?:했|와서|왔|가))"
    r"\s*(.+?)(?:\s?(?:이에요|입니다|예요|이고요|으로|로|에\s?살|살아요|이요|에요)(?:\s|$|[.,])|$)"
)
_ADDRESS_SHAPE = re.compile(r"(?:시|도|구|군|동|읍|면|리|로|길|아파트|호|층|번지)(?:\s|$|\d)|\d")
_PHONE_CUE = re.compile(
    r"(?:번호|연락처|전화|핸드폰|휴대폰).{0,20}(?:바뀌|바꿨|바꿔|변경|새로|수정|등록|으로\s?연락|로\s?연락)|"
    r"(?:새\s?번호|바뀐\s?번호|번호\s?변경)"
)
_EMAIL_CUE = re.compile(r"이메일|메일\s?주소")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_VEHICLE_NEW = re.compile(
    r"차를?\s?(?:바꿨|샀|교체|뽑았|들였|한\s?대\s?더)|새\s?차|신차|차량\s?(?:변경|교체|대체|추가)|"
    r"번호판을?\s?(?:바꿨|변경)|출고"
)
_VEHICLE_SOLD = re.compile(r"(?:차를?|차량을?|모닝은|\S+는)\s?(?:팔았|매도|처분|넘겼|판매)|중고로\s?넘")
_VEHICLE_SCRAPPED = re.compile(r"폐차")
_OCCUPATION_CUE = re.compile(
    r"직업|이직|회사를?\s?옮|취업|퇴사|그만두|그만둬|은퇴|퇴직|일을?\s?시작|일\s?하게|일하게|발령|"
    r"임관|창업|차렸|개업"
)
_JOBS = re.compile(
    r"택배\s?기사|배달\s?라이더|배달|택배|대리운전|공무원|교사|간호사|트럭\s?운전|화물|자영업|프리랜서|회사원|"
    r"용접공|소방관|어부|택시|요양보호사|개발자|현장\s?감독|부사관|군인|주부|무직|학생|식당|건설\s?현장|공장"
)
_BENEFICIARY_CUE = re.compile(r"수익자|보험금\s?(?:받는|받을)\s?사람|만기\s?때\s?나오는\s?돈")
_POLICYHOLDER_CUE = re.compile(r"계약자(?:를|명의|\s?명의)?.{0,15}(?:바꾸|변경|넘겨|돌리)|명의로\s?(?:넘겨|돌려)")
_RELATIONS = re.compile(
    r"배우자|아내|남편|와이프|집사람|어머니|아버지|부모님|아들|딸아이|딸|자녀|아이들|아이|손주|손자|"
    r"동생|형|누나|언니|오빠|법정상속인|할머니|할아버지|조카|저로|제\s?이름으로|본인"
)
_CANCEL_CUE = re.compile(r"해지|해약|청약\s?철회|취소|없던\s?걸로|정리하려|정리해\s?주|끝내\s?주|멈추|끊어\s?주")


def _sentence(text: str, position: int) -> str:
    start = max(text.rfind(".", 0, position), text.rfind("?", 0, position), position - 60, -1) + 1
    end_candidates = [i for i in (text.find(".", position), text.find("?", position)) if i != -1]
    end = min(end_candidates + [position + 80, len(text)])
    return text[start:end].strip()


def propose_changes(
    redacted: str, entities: tuple[Entity, ...], call_types: set[str], topic: str = ""
) -> tuple[dict[str, object], ...]:
    """Proposed customer-record updates found in a (redacted) transcript; never applied here."""
    if "notification" not in call_types:
        return ()
    proposals: list[dict[str, object]] = []

    def propose(field: str, value: object, position: int, **extra: object) -> None:
        if any(p["field"] == field and p["value"] == value for p in proposals):
            return
        proposals.append({"field": field, "value": value, "evidence": _sentence(redacted, position), **extra})

    cue = _ADDRESS_CUE.search(redacted)
    if cue:
        value_match = _ADDRESS_VALUE.search(redacted)
        value = None
        if value_match and _ADDRESS_SHAPE.search(value_match.group(1)):
            value = value_match.group(1).strip(" ,.")
        else:
            places = [e for e in entities if e.kind == "place"]
            if places:
                value = max(places, key=lambda e: len(e.text)).value
        if value is not None or re.search(r"이사|주소.{0,10}(?:바뀌|변경|바꿔)", redacted):
            propose("address", value, cue.start())
    if _PHONE_CUE.search(redacted):
        phones = [e for e in entities if e.kind == "phone"]
        match = _PHONE_CUE.search(redacted)
        assert match is not None
        propose("phone", phones[-1].value if phones else None, match.start(), masked=bool(phones))
    if _EMAIL_CUE.search(redacted) and re.search(r"바뀌|바꿨|새로|변경|해킹", redacted):
        email = _EMAIL.search(redacted)
        propose("email", email.group(0) if email else None, _EMAIL_CUE.search(redacted).start())  # type: ignore[union-attr]
    new_vehicle = _VEHICLE_NEW.search(redacted)
    if new_vehicle:
        plates = [e for e in entities if e.kind == "vehicle_plate"]
        models = [e for e in entities if e.kind == "vehicle_model"]
        if plates:
            propose("vehicle_plate", plates[-1].value, new_vehicle.start())
        if models:
            propose("vehicle_model", models[-1].value, new_vehicle.start())
        if not plates and not models:
            propose("vehicle", None, new_vehicle.start())
    sold = _VEHICLE_SOLD.search(redacted)
    scrapped = _VEHICLE_SCRAPPED.search(redacted)
    if scrapped:
        propose("vehicle_status", "scrapped", scrapped.start())
    elif sold:
        propose("vehicle_status", "sold", sold.start())
    occupation = _OCCUPATION_CUE.search(redacted)
    if occupation:
        jobs = [m.group(0) for m in _JOBS.finditer(redacted)]
        propose("occupation", jobs[-1] if jobs else None, occupation.start())
    beneficiary = _BENEFICIARY_CUE.search(redacted)
    if beneficiary:
        relations = [m.group(0) for m in _RELATIONS.finditer(redacted, beneficiary.start())]
        propose("beneficiary", relations[-1] if relations else None, beneficiary.start())
    holder = _POLICYHOLDER_CUE.search(redacted)
    if holder:
        relations = [m.group(0) for m in _RELATIONS.finditer(redacted)]
        propose("policyholder", relations[-1] if relations else None, holder.start())
    cancel = _CANCEL_CUE.search(redacted)
    if cancel and topic == "notification.cancellation":
        propose("policy_status", "cancellation_requested", cancel.start())
    return tuple(proposals)
