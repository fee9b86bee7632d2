"""Every Korean label the console shows for a stored code, in one catalogue: call types and topics (the
taxonomy's own names), urgency, sentiment, review states and actions, segments, alerts, roles, organisation
levels, audit actions, pipeline states, service duties, entities and proposed changes, and the error texts.

Screens never show a raw code: `label()` finds the Korean name, and a code the catalogue does not know (a value
stored before its label was added) is shown as it is rather than hidden."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_store.dispatch.promises import KIND_LABELS
from crm_store.managers.service_tasks import DUTY_NAMES
from crm_store.org.admin import MAX_CLEARANCE
from workers.understanding.taxonomy import load_taxonomy

_TAXONOMY = load_taxonomy()

UNCLASSIFIED = "미분류"
# The taxonomy names its types and topics in Korean: shown as they are, never copied here.
CALL_TYPES: Mapping[str, str] = _TAXONOMY.types
TOPICS: Mapping[str, str] = _TAXONOMY.topics

URGENCY = {"high": "긴급", "normal": "보통", "low": "낮음"}
SENTIMENT = {"negative": "부정적", "neutral": "중립", "positive": "긍정적"}
REVIEW_STATES = {"open": "대기", "taken": "처리 중", "closed": "종결"}
REVIEW_ACTIONS = {
    "routed": "배정",
    "taken": "담당",
    "escalated": "기한 초과 상향",
    "forwarded": "상위 센터 이관",
    "corrected": "분류 수정",
    "confirmed": "분류 확인",
    "change_applied": "변경 반영",
    "change_rejected": "변경 거부",
    "closed": "종결",
    "released": "담당 해제",
}
# The classifier's reasons as sentences (gateway.console.reasons fills them from the stored reasons' structure).
REASONS = {
    "type": "유형 '{type}' (확신도 {score})",
    "feature": "'{gram}'{particle} {type} 쪽으로 +{weight}",
    "topic": "주제 '{topic}' ({type} 안에서 확신도 {score})",
    "morphology": "글자 단위 모형이 확신하지 못해 형태소 분석(Kiwi)도 참고함",
    "secondary": "함께 보이는 유형: {scores}",
    "urgent": "긴급: {cue} ({words})",
    "calm": "긴급도 낮음: {type} 통화에 위험이나 민원 제기 신호가 없음",
    "mood": "감정 {mood}: {words}",
    "mood_of_type": "감정 {mood}: {type} 통화",
    "unclassified": "{why} (보험 관련 표현 점수 {value}, 기준 {threshold} 미만)",
    "closest": "가장 가까운 유형 '{type}' (확신도 {score}), 주제 '{topic}' (확신도 {topic_score})",
}
URGENCY_CUES = {
    "injury": "부상 징후",
    "fire": "화재·연기",
    "water": "침수",
    "child_locked": "차 안에 갇힌 아이나 동물",
    "vehicle on the road": "도로 위에 선 차량",
    "injury now": "지금 다친 사람",
    "angry caller escalating": "화난 고객의 민원 제기 예고",
}
PIPELINE_STATES = {
    "received": "접수",
    "recording_ready": "녹음 대기",
    "recording_fetched": "녹음 수신",
    "transcribed": "녹취 완료",
    "classified": "분류 완료",
    "failed": "처리 실패",
}

CUSTOMER_KINDS = {"individual": "개인", "corporate": "법인"}
SEGMENTS = {"quality": "우량", "key": "중점", "ordinary": "일반", "inferior": "불량"}
ALERT_KINDS = {
    "blacklist": "블랙리스트",
    "frequent_claims": "잦은 사고 청구",
    "high_loss_ratio": "높은 손해율",
    "key_customer": "중점 고객",
    "repeat_complainant": "반복 민원",
}
WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")
REPORT_FORMATS = {"pdf": "PDF", "xlsx": "엑셀(XLSX)", "csv": "CSV", "page": "화면"}
CUSTOMER_LISTS = {
    "quality": "우량 고객",
    "key": "중점 고객",
    "inferior": "불량 고객",
    "entered": "이번 달 등급 신규 진입",
    "left": "이번 달 등급 이탈",
    "alerts": "이번 달 경보 발생 고객",
}
ALERT_LEVELS = {"info": "안내", "warning": "주의", "critical": "경고"}

ROLES = {
    "agent": "상담원",
    "operator": "운영자",
    "center_manager": "센터장",
    "account_manager": "고객지배인",
    "dispatcher": "출동 배정 담당",
    "surveyor": "조사원",
    "executive": "임원",
    "admin": "관리자",
}
ORG_LEVELS = {0: "본사", 1: "지역본부", 2: "시 지점", 3: "현/군 지점"}
UNIT_STATES = {True: "운영", False: "폐쇄"}
STAFF_STATES = {"active": "재직", "inactive": "비활성"}
CLEARANCES = {str(grade): f"{grade}등급" for grade in range(MAX_CLEARANCE + 1)}

AUDIT_ACTIONS = {
    "read": "고객정보 열람",
    "change": "관리 변경 (전체)",
    "org_unit.created": "조직 신설",
    "org_unit.renamed": "조직 명칭 변경",
    "org_unit.deactivated": "조직 폐쇄",
    "org_unit.reactivated": "조직 재개",
    "org_unit.changed": "조직 변경",
    "staff.created": "직원 등록",
    "staff.changed": "직원 정보 변경",
    "staff.deactivated": "직원 비활성화",
    "staff.reactivated": "직원 재활성화",
    "staff.password_reset": "비밀번호 재설정",
    "token.issued": "API 토큰 발급",
    "token.revoked": "API 토큰 폐기",
    "customer.changed": "고객정보 변경",
    "customer.transferred": "고객 관리 지점 이전",
    "claim.changed": "보상 청구 변경",
    "service_task.done": "서비스 업무 완료",
    "blacklist_propose": "블랙리스트 등재 요청",
    "blacklist_approve": "블랙리스트 승인",
    "blacklist_revoke": "블랙리스트 해제",
    "agent.state": "상담원 상태 변경",
    "desk.caller_linked": "통화 고객 연결",
    "desk.callback_done": "회신 전화 처리 완료",
    "report.generated": "월간 보고서 생성",
    "report.downloaded": "월간 보고서 내려받기",
    "customer_list.exported": "고객 명단 조회·내보내기",
    "agent.profile": "상담원 업무 설정 변경",
}
# An agent's state at the desk (crm_store.desk.agents.AgentState).
AGENT_STATES = {
    "available": "대기",
    "offered": "호 제안 중",
    "on_call": "통화 중",
    "wrap_up": "후처리",
    "break": "휴식",
    "offline": "로그아웃",
}
# What the agent entered during a call (crm_store.desk.call_work.KINDS).
CALL_WORK_KINDS = {
    "link": "고객 연결",
    "accident_report": "사고 접수",
    "complaint": "민원 접수",
    "change": "변경 신고",
    "inquiry": "상담 답변",
    "note": "메모",
    "transfer": "호 전환",
    "wrap_up": "후처리 완료",
}
# The wrap-up's disposition codes (crm_store.desk.call_work.DISPOSITIONS).
DISPOSITIONS = {
    "resolved": "상담 완료",
    "report_taken": "사고 접수 완료",
    "complaint_taken": "민원 접수 완료",
    "change_taken": "변경 신고 접수 완료",
    "callback": "재연락 필요",
    "transferred": "타 부서 이관",
    "no_answer_needed": "응대 불필요",
    "wrong_number": "잘못 걸린 전화",
    "other": "기타",
}
# Why a call-back task (회신 전화) was left for a queue's agents (crm_store.desk.waiting's CALLBACK_* reasons).
CALLBACK_REASONS = {"abandoned": "대기 중 끊음", "after_hours": "업무시간 외 메시지", "unserved": "연결 실패 메시지"}
# The desk's call frames (`call` frame `state`) and the caller as the screen pop knows them.
CALL_STATES = {"offered": "호 제안", "connected": "통화 연결", "ended": "통화 종료", "abandoned": "고객 포기"}
# Why an offer left the agent's desk (`offer_withdrawn` frame `reason`, crm_store.desk.offers), and a caller who hung
# up before being connected (`call` frame `abandoned`): what the desk says when it clears the screen pop.
OFFER_WITHDRAWN = {
    "timed_out": "수락 시간이 지나 다른 상담원에게 넘어갔습니다. 상태가 휴식으로 바뀌었습니다.",
    "declined": "거절한 통화입니다. 다른 상담원에게 넘어갑니다.",
    "failed": "통화 연결에 실패했습니다. 고객은 대기열에서 다시 기다립니다.",
    "abandoned": "고객이 연결 전에 전화를 끊었습니다.",
    "other": "제안된 통화가 취소되었습니다.",
}
# The desk's screen pop and forms: policy lines, claim states, people hurt (dispatch kinds and states are the
# board's, below), and the names of what an entry of the desk's work on a call holds (crm_store.desk.call_work's
# forms and the records they made).
INJURED_ROLES = {"driver": "운전자", "passenger": "동승자", "pedestrian": "보행자", "other": "기타"}
POLICY_LINES = {
    "auto": "자동차", "home": "주택", "fire": "화재", "cargo": "적하", "liability": "배상책임",
    "personal_accident": "상해", "travel": "여행자", "property": "재물",
}  # fmt: skip
CLAIM_STATES = {"open": "진행 중", "paid": "지급", "closed": "종결", "rejected": "부지급"}
CLAIM_STAGES = {"survey_reported": "손해사정 보고 완료"}


CALL_WORK_FIELDS = {
    "customer_id": "고객 번호",
    "occurred_at": "사고 일시",
    "place": "사고 장소",
    "what_happened": "사고 내용",
    "injured": "부상자",
    "vehicles": "관련 차량",
    "policy_id": "증권 번호",
    "dispatch": "긴급 출동",
    "category": "민원 분류",
    "summary": "민원 내용",
    "topic": "주제",
    "severity": "중요도",
    "field": "변경 항목",
    "value": "새 값",
    "question": "문의 내용",
    "answer": "답변 내용",
    "text": "메모",
    "note": "메모",
    "queue": "전환 대기열",
    "disposition": "처리 결과",
}
CALL_WORK_RECORDS = {
    "claim_number": "사고 접수번호",
    "dispatch_id": "출동 요청 번호",
    "complaint_number": "민원번호",
    "repeat": "기존 민원에 연결",
    "proposed_change_index": "변경 제안 (운영자 검토)",
    "queue_label": "전환 대기열",
    "previous_customer_id": "이전 고객 번호",
}
# The skills of the default desk queues (crm_store/desk/defaults.json); another skill shows as its code.
DESK_SKILLS = {"accident": "사고 접수", "consult": "보험 상담", "complaint": "불편·민원", "change": "변경 신고"}
# An empty figure of the wallboard (no call answered yet today, ...).
NOTHING_ON_BOARD = "—"
# A complaint's dossier entries: its steps (crm_store.complaints.steps) and what happens to it besides.
COMPLAINT_STEPS = {
    "receipt": "접수",
    "acknowledgement": "접수 통지",
    "verification": "확인",
    "registration": "등록",
    "transfer": "이관",
    "coordination": "조정",
    "handling": "처리",
    "feedback": "피드백",
    "close": "종결",
    "reopen": "재개",
    "extension": "처리기한 연장",
    "repeat": "반복 민원 연결",
    "escalation": "기한 초과 상향 보고",
    "subtask": "세부 업무",
    "subtask_done": "세부 업무 완료",
    "subtask_undone": "세부 업무 완료 취소",
    "notice": "고객 문자 통지",
    "reminder": "기한 임박 알림",
}
# Where a complaint stands, and what the complaint screens name (crm_store.complaints.wire).
COMPLAINT_STATES = {
    "receipt": "접수", "verification": "확인", "registration": "등록", "transfer": "이관", "coordination": "조정",
    "handling": "처리", "feedback": "피드백", "closed": "종결", "reopened": "재개",
}  # fmt: skip
COMPLAINT_CATEGORIES = {
    "sales": "판매", "maintenance": "보유계약 관리", "claims_payment": "보험금 지급", "other": "기타",
}  # fmt: skip
COMPLAINT_CHANNELS = {"call": "전화", "visit": "방문", "letter": "서신", "web": "인터넷", "fss": "금융감독원 이첩"}
# Departments by the codes the limits name (a department typed in a transfer is shown as typed).
COMPLAINT_DEPARTMENTS = {"customer_management": "고객관리부"}
# A customer notice (crm_store.complaints.notices): what it told, and how its sending ended.
COMPLAINT_NOTICE_KINDS = {"receipt": "접수 통지", "extension": "기한 연장 통지", "feedback": "처리 결과 통지"}
COMPLAINT_NOTICE_STATUS = {"sent": "발송됨", "failed": "발송 실패", "pending": "발송 대기"}
COMPLAINT_SEVERITY = {"high": "높음", "normal": "보통", "low": "낮음"}
# How the customer was told (the acknowledgement's, feedback's and extension's `via`, `method`, `notice_via`).
COMPLAINT_MEANS = {
    "call": "전화", "sms": "문자", "letter": "서신", "email": "이메일", "visit": "방문",
    "callback": "회신 전화", "message": "메시지",
}  # fmt: skip
# The fields of the steps' forms (by step) and of the dossier's other entries (receipt, repeat, escalation).
COMPLAINT_FORM_FIELDS = {
    "handler_name": "담당자 이름", "handler_phone": "담당자 연락처", "via": "통지 방법",
    "facts": "확인된 사실", "policy_number": "증권번호", "prior_contacts": "이전 접촉 내역",
    "category": "공시 유형", "topic": "주제", "severity": "중요도", "note": "메모",
    "to_unit_id": "담당 조직 번호", "department": "담당 부서", "reason": "사유", "handler_id": "담당 직원 번호",
    "comment": "의견", "agreed": "동의 여부",
    "subtasks": "세부 업무 (한 줄에 하나, 담당자 아이디: 할 일)", "what": "할 일", "owner": "담당자", "due": "기한",
    "decision": "처리 결정", "upheld": "민원 인정 여부", "remedy": "구제 조치", "amount": "지급·환급액 (원)",
    "method": "결과 통지 방법", "satisfaction": "만족도 (1~5)", "disputed": "고객 이의 제기",
    "notice_via": "연장 통지 방법",
    "customer_id": "고객 번호", "channel": "접수 경로", "summary": "민원 내용", "call_sid": "통화",
    "received_at": "접수 일시", "fss_reference": "금융감독원 참조번호", "acknowledgement": "접수 통지",
    "from_unit_id": "이전 조직 번호", "missed": "지난 기한", "limit": "다가오는 기한",
    "subtask_id": "세부 업무 번호", "done": "완료 여부", "kind": "통지 종류", "to": "수신 번호", "from": "발신 번호",
    "status": "발송 결과", "attempts": "시도 횟수", "message_sid": "메시지 번호", "error": "오류",
}  # fmt: skip
COMPLAINT_OVERDUE = {"true": "기한 초과만"}
# The limits of a complaint (an escalation names the one missed).
COMPLAINT_LIMITS = {"resolve_by": "처리 기한", "acknowledge_by": "접수 통지 기한", "step_due_at": "단계 기한"}
COMPLAINT_STEP_ILLEGAL = "{step}: 현재 단계({state})에서는 할 수 없습니다."
COMPLAINT_STEP_NOT_ALLOWED = "{step}: 이 단계를 처리할 권한이 없습니다 ({role})."
COMPLAINT_STEP_UNKNOWN = "알 수 없는 처리 단계입니다."
COMPLAINT_FIELD_REFUSED = "받아들일 수 없는 값입니다 (조직, 부서, 담당자 또는 상태를 확인하세요)."
# Why handling waits for coordination (crm_store.complaints.coordination.handling_blockers).
COMPLAINT_NOT_COORDINATED = {
    "agreed": "처리: 조정에서 동의하지 않은 부서가 있습니다.",
    "subtasks": "처리: 완료되지 않은 세부 업무가 있습니다.",
}
# pydantic's kinds of refusal of a form's field, in Korean (by the first part of the error's type).
VALIDATION_TEXTS = {
    "missing": "필수 항목입니다.",
    "string_too_short": "비어 있거나 너무 짧습니다.",
    "string_too_long": "너무 깁니다.",
    "string_pattern_mismatch": "허용되지 않는 값입니다.",
    "enum": "허용되지 않는 값입니다.",
    "literal_error": "허용되지 않는 값입니다.",
    "int_parsing": "숫자를 입력하세요.",
    "int_type": "숫자를 입력하세요.",
    "bool_parsing": "예 또는 아니요를 선택하세요.",
    "greater_than_equal": "허용 범위보다 작습니다.",
    "less_than_equal": "허용 범위보다 큽니다.",
    "greater_than": "허용 범위보다 작습니다.",
    "less_than": "허용 범위보다 큽니다.",
    "datetime_parsing": "날짜와 시간 형식이 아닙니다.",
    "datetime_from_date_parsing": "날짜와 시간 형식이 아닙니다.",
    "timezone_aware": "시간대가 포함된 일시를 입력하세요.",
    "too_long": "항목이 너무 많습니다.",
    "extra_forbidden": "알 수 없는 항목입니다.",
    "value_error": "올바르지 않은 값입니다.",
}
COMPLAINT_SUBTASK_DONE = {"true": "완료", "false": "미완료"}
# What happens to a dispatch request (crm_store.dispatch), and to surveyors and vendors.
DISPATCH_ACTIONS = {
    "dispatch_opened": "출동 요청 등록",
    "dispatch_assigned": "조사자 배정",
    "dispatch_accepted": "배정 수락",
    "dispatch_declined": "배정 거절",
    "dispatch_en_route": "출동 중",
    "dispatch_on_site": "현장 도착",
    "dispatch_reporting": "조사 보고서 작성",
    "dispatch_done": "출동 완료",
    "dispatch_cancelled": "출동 취소",
    "dispatch_unaccepted": "미수락 배정 반환",
    "dispatch_escalated": "출동 지연 상향 보고",
    "survey_reported": "조사 보고서 제출",
    "surveyor_created": "조사자 등록",
    "surveyor_updated": "조사자 정보 변경",
    "vendor_created": "협력업체 등록",
}
AUDIT_ACTIONS.update({f"complaint.{step}": f"민원 {name}" for step, name in COMPLAINT_STEPS.items()})
AUDIT_ACTIONS.update(DISPATCH_ACTIONS)
AUDIT_ACTIONS.update({
    "complaint.department": "민원 담당 부서 추가",
    "corrective.created": "시정 조치 등록", "corrective.done": "시정 조치 완료",
    "corrective.effect_checked": "시정 조치 효과 확인", "corrective.closed": "시정 조치 종결",
})  # fmt: skip
# The dispatch board's and the surveyor's page's words for the codes of crm_store.dispatch.
DISPATCH_STATES = {
    "draft": "확인 대기",
    "open": "배정 대기",
    "assigned": "수락 대기",
    "accepted": "수락",
    "en_route": "이동 중",
    "on_site": "현장 도착",
    "reporting": "보고서 작성",
    "done": "완료",
    "cancelled": "취소",
}
DISPATCH_KINDS = dict(KIND_LABELS)
RESCUE_KINDS = {"battery": "배터리", "tyre": "타이어", "fuel": "연료", "lockout": "잠금 해제", "other": "기타"}
VENDOR_SERVICES = {"tow": "견인", **RESCUE_KINDS}
SURVEY_SKILLS = {"auto": "자동차", "property": "재물", "injury": "상해", "cargo": "적재물"}
SURVEYOR_STATUSES = {
    "available": "대기",
    "en_route": "이동 중",
    "on_site": "현장",
    "reporting": "보고서 작성",
    "off_duty": "근무 외",
}
URGENCIES = {"late": "지연", "soon": "임박", "ok": "여유", "closed": "종료"}
REGIONS = {"city": "시", "county": "군"}
ASSIGNMENT_OUTCOMES = {"expired": "수락 시간 초과", "declined": "거절", "cancelled": "취소", "done": "완료"}
# Why a read of customer information happened, as the audit trail names it.
AUDIT_PURPOSES = {
    "detail": "고객 상세 조회",
    "lookup": "전화번호 조회",
    "call-record": "통화 기록 조회",
    "review": "통화 기록 검토",
    "corrections-export": "분류 수정 내보내기",
    "blacklist": "블랙리스트 조회",
    "service_tasks": "서비스 업무 조회",
    "customer-events": "고객 이벤트 조회",
    "account-manager-history": "고객지배인 이력 조회",
    "account-manager-events": "고객지배인 이벤트 조회",
    "desk": "상담 데스크 조회",
    "customer_list": "고객 명단 조회·내보내기",
}
# What an audited change was made to ("staff:12" reads 직원 #12).
AUDIT_TARGETS = {
    "staff": "직원",
    "org_unit": "조직",
    "customer": "고객",
    "claim": "보상 청구",
    "service_task": "서비스 업무",
    "blacklist_entry": "블랙리스트 항목",
    "token": "API 토큰",
    "report": "월간 보고서",
    "customer_list": "고객 명단",
}
# The names of what an audited change changed ("role: 상담원 → 운영자").
AUDIT_DETAIL_FIELDS = {
    "username": "아이디",
    "full_name": "이름",
    "role": "역할",
    "org_unit_id": "소속",
    "clearance": "보안 등급",
    "active": "상태",
    "password": "비밀번호",
    "code": "코드",
    "name": "명칭",
    "level": "단계",
    "parent_id": "상위 조직",
    "label": "이름표",
    "token_id": "토큰",
    "revoked_at": "폐기 일시",
    "account_manager": "고객지배인",
    "reason": "사유",
    "kind": "업무",
    "due_on": "기한",
    "done_on": "완료일",
    "outcome": "결과",
    "entry_id": "블랙리스트 항목",
    "customer_id": "고객",
    "approved_at_once": "즉시 승인",
    "status": "상태",
    "paid_amount": "지급액",
    "closed_on": "종결일",
    "fraud_marker": "보험사기 표시",
    "late_payments": "연체 횟수",
    "key_account": "중점 계정",
    "phones": "전화번호",
    "profile": "프로필",
    "state": "상담 상태",
    "month": "월",
    "format": "형식",
    "reports": "보고서 수",
    "list": "명단",
    "rows": "건수",
    "skills": "담당 대기열 기술",
    "endpoint": "연결 주소",
}
# What a read of customer information showed, as the audit trail names it (the customer picture's keys, the
# graded parts of them, and what other readers show: a call record, a recording, events, corrections).
AUDIT_READ_FIELDS = {
    "id": "고객 번호",
    "name": "이름",
    "kind": "고객 구분",
    "org_unit_id": "관리 지점",
    "org_unit_name": "관리 지점명",
    "registration_number": "주민(법인)등록번호",
    "phones": "전화번호",
    "vehicles": "차량",
    "profile": "프로필",
    "profile.financial_notes": "재무 메모",
    "profile.health": "건강 정보",
    "profile.medical_history": "병력",
    "segment": "고객 등급",
    "segment_reason": "등급 사유",
    "segment_changed_at": "등급 변경일",
    "segment_history": "등급 이력",
    "key_account": "중점 계정",
    "blacklisted": "블랙리스트 여부",
    "blacklist": "블랙리스트",
    "blacklist[].reason": "블랙리스트 사유",
    "blacklist[].evidence": "블랙리스트 증빙",
    "alerts": "경보",
    "alerts[kind=blacklist].reason": "블랙리스트 경보 사유",
    "loss_ratio": "손해율",
    "loss_ratio_window_years": "손해율 산출 기간",
    "years": "연도별 실적",
    "premium_total": "누적 보험료",
    "paid_total": "누적 지급 보험금",
    "claim_count": "사고 건수",
    "open_claims": "진행 중인 사고",
    "in_force_premium": "유지 계약 보험료",
    "account_manager": "고객지배인",
    "account_manager.history": "고객지배인 이력",
    "entitlements": "서비스 자격",
    "policies": "보험 계약",
    "claims": "보상 청구",
    "claims[].diagnosis": "진단명",
    "claims[].health": "청구 건강 정보",
    "claims[].injury": "부상 내용",
    "recent_calls": "최근 통화",
    "requests_90_days": "90일 요청 건수",
    "open_requests": "진행 중인 요청",
    "service_tasks": "서비스 업무",
    "recording": "통화 녹음",
    "call.entities": "통화 추출 항목",
    "call.from": "발신 번호",
    "call.proposed_changes": "변경 제안",
    "call.transcript": "통화 녹취",
    "call.turns": "화자별 녹취",
    "customer_event.at": "이벤트 일시",
    "customer_event.kind": "이벤트 종류",
    "customer_event.level": "이벤트 단계",
    "customer_event.reason": "이벤트 사유",
    "correction.entities": "수정된 추출 항목",
    "correction.predicted": "분류기 예측",
    "correction.text": "수정 학습 문장",
    "open_complaints": "처리 중 민원",
    "open_dispatches": "진행 중 출동 요청",
}
NOTHING = "없음"
PASSWORD_EVENTS = {"set": "설정", "none": "없음", "reset": "재설정"}
YES_NO = {True: "예", False: "아니오"}

SERVICE_TASK_KINDS: Mapping[str, str] = DUTY_NAMES  # the store names the duties in Korean for the API too
SERVICE_TASK_STATES = {"open": "미완료", "done": "완료", "all": "전체"}

ENTITY_KINDS = {
    "place": "장소",
    "person": "사람",
    "money": "금액",
    "number": "번호",
    "policy_number": "증권번호",
    "vehicle_model": "차종",
    "vehicle_plate": "차량번호",
    "date": "날짜",
    "time": "시각",
    "datetime": "일시",
    "registration_number": "주민등록번호",
    "card_number": "카드번호",
    "account_number": "계좌번호",
    "phone": "전화번호",
    "resident_number": "주민등록번호",
    "health": "건강 정보",
    "product": "상품",
}
CHANGE_FIELDS = {
    "address": "주소",
    "phone": "전화번호",
    "email": "이메일",
    "occupation": "직업",
    "beneficiary": "수익자",
    "policyholder": "계약자",
    "vehicle": "차량",
    "vehicle_plate": "차량번호",
    "vehicle_model": "차종",
    "vehicle_status": "차량 상태",
    "policy_status": "계약 상태",
}
CHANGE_VALUES = {"sold": "매도", "scrapped": "폐차", "cancellation_requested": "해지 요청"}

# What a console user reads when a page or an action fails, by HTTP status (the store's own words follow).
ERRORS = {
    400: "요청을 처리할 수 없습니다.",
    401: "로그인이 필요합니다.",
    403: "이 작업을 할 권한이 없습니다.",
    404: "찾을 수 없거나 볼 권한이 없는 항목입니다.",
    405: "이 주소에서는 할 수 없는 요청입니다.",
    409: "다른 담당자가 먼저 맡았거나 이미 처리된 항목입니다.",
    413: "보낸 내용이 너무 큽니다.",
    416: "요청한 녹음 구간이 없습니다.",
    422: "입력값을 확인하세요.",
}
ERROR_OTHER = "요청을 처리하지 못했습니다."
CSRF_REFUSED = "보안 토큰이 없거나 올바르지 않습니다. 페이지를 새로 고친 뒤 다시 시도하세요."
UNKNOWN_FILTER = "알 수 없는 조회 조건입니다."
AUDIT_QUERY_INVALID = "조회 조건이 올바르지 않습니다 (날짜는 2026-11-25 형식)."
AUDITORS_ONLY = "감사 기록은 관리자와 임원이 조회합니다."
SERVICE_TASKS_SUPERVISORS_ONLY = "서비스 업무는 고객지배인과 그 상급자가 조회합니다."
LOGIN_EXPIRED = "로그인 양식이 만료되었습니다. 다시 시도하세요."
LOGIN_FAILED = "아이디 또는 비밀번호가 올바르지 않습니다."
LOGIN_LOCKED = "로그인 실패가 반복되어 계정이 잠겼습니다 ({until}까지)."


def label(catalogue: Mapping[Any, str], code: object) -> str:
    """The Korean name of a code; '' for none, the code itself if the catalogue does not know it."""
    if code is None or code == "":
        return ""
    return catalogue.get(code, str(code))


def call_type_label(code: str | None) -> str:
    """A call type's name; 미분류 when the classifier was not confident (no type)."""
    return UNCLASSIFIED if not code else label(CALL_TYPES, code)


def topic_label(code: str | None) -> str:
    """A topic's name from the taxonomy; 미분류 without one; a topic the taxonomy lacks reads as its type's other."""
    if not code:
        return UNCLASSIFIED
    if code in TOPICS:
        return TOPICS[code]
    call_type = code.split(".", 1)[0]
    return f"{CALL_TYPES[call_type]} · 기타" if call_type in CALL_TYPES else code


def error_text(status: int) -> str:
    """The headline of a console error page."""
    return ERRORS.get(status, ERROR_OTHER)
