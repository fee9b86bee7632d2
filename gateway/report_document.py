"""A stored monthly report as an export document (`gateway.exports`): every section with Korean labels, a bar chart
where the figures are counts of one thing, and the table of the figures under each chart. The console shows the
same sections (the SVG of each chart above its table) as the PDF and the workbook."""

from __future__ import annotations

from collections.abc import Mapping

from crm_store.reports.analytics import CrmAnalytics, LossRatio
from crm_store.reports.stored import StoredReportDetail
from gateway import labels
from gateway.console.render import kst
from gateway.exports import Cell, Document, Section

# The report's own codes: the channels of its calls and the reasons of call-back tasks.
CALL_CHANNELS = {"phone": "대표번호 수신", "callback": "콜백(발신)", "unknown": "미상"}
CALLBACK_REASONS = {"abandoned": "대기 중 포기", "after_hours": "업무 시간 외 메시지"}


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def _change(now: int, before: int) -> str:
    if before == 0:
        return "" if now == 0 else "신규"
    return f"{(now - before) / before * 100:+.1f}%"


def _counted(
    title: str, heading: str, catalogue: Mapping[str, str], counts: dict[str, int], totals: list[tuple[str, int]]
) -> Section:
    """A table of counts per code (named from the catalogue), then the totals' lines."""
    return Section(title, (heading, "건수"), [*((labels.label(catalogue, k), v) for k, v in counts.items()), *totals])


def report_document(stored: StoredReportDetail) -> Document:
    """The report's document: title with unit and month, then its sections in the console's order."""
    r = stored.report
    level = labels.label(labels.ORG_LEVELS, stored.level)
    sections = [
        Section(
            "통화 요약",
            ("항목", "통화 수", "증감"),
            [
                ("이번 달", r.calls, ""),
                ("전월", r.previous_month, _change(r.calls, r.previous_month)),
                ("전년 동월", r.same_month_last_year, _change(r.calls, r.same_month_last_year)),
            ],
            chart=True,
        ),
        Section(
            "유형별 통화",
            ("유형", "통화 수"),
            [(labels.call_type_label(None if k == "unclassified" else k), v) for k, v in r.by_type.items()],
            chart=True,
        ),
        Section(
            "주제별 통화",
            ("주제", "통화 수"),
            [
                (labels.topic_label(None if k == "unclassified" else k), v)
                for k, v in sorted(r.by_topic.items(), key=lambda item: (-item[1], item[0]))
            ],
            chart=True,
        ),
        Section(
            "상담 핫스팟 (유의한 비중 상승)",
            ("주제", "이번 달 비중", "이전 비중", "z 점수", "핵심 명사"),
            [
                (
                    labels.topic_label(s.topic),
                    _percent(s.share),
                    _percent(s.previous_share),
                    s.score,
                    ", ".join(next((d.nouns for d in r.hot_spot_details if d.topic == s.topic), [])),
                )
                for s in r.hot_spots
            ],
            note="직전 석 달 대비 단측 두 비율 z-검정, 본페로니 보정(전체 유의수준 5%).",
        ),
        Section(
            "지역별 핫스팟",
            ("조직", "주제", "이번 달 비중", "이전 비중", "z 점수"),
            [
                (s.org_unit_name, labels.topic_label(s.topic), _percent(s.share), _percent(s.previous_share), s.score)
                for s in r.regional_hot_spots
            ],
        ),
        Section(
            "핫스팟 예시 통화",
            ("주제", "접수 시각", "통화 ID", "내용 (앞부분)"),
            [
                (labels.topic_label(d.topic), e.received_at, e.call_sid, e.excerpt)
                for d in r.hot_spot_details
                for e in d.examples
            ],
        ),
        Section("시간대별 통화", ("시간", "통화 수"), [(f"{h:02d}시", n) for h, n in enumerate(r.by_hour)], chart=True),
        Section(
            "요일별 통화",
            ("요일", "통화 수"),
            [(labels.WEEKDAYS[i], n) for i, n in enumerate(r.by_weekday)],
            chart=True,
        ),
        Section(
            "고객 등급별 통화",
            ("등급", "통화 수"),
            [(labels.SEGMENTS.get(k, "미확인 고객"), v) for k, v in r.segments.items()],
            chart=True,
        ),
        Section(
            "대표번호별 통화",
            ("대표번호", "통화 수"),
            [("미상" if k == "unknown" else k, v) for k, v in r.by_hotline.items()],
            chart=True,
        ),
        Section(
            "채널별 통화",
            ("채널", "통화 수"),
            [(labels.label(CALL_CHANNELS, k), v) for k, v in r.by_channel.items()],
            chart=True,
        ),
    ]
    if r.waiting is not None:
        w = r.waiting
        sections.append(
            Section(
                "대기열 서비스 수준",
                ("항목", "값"),
                [
                    ("대기열 진입", w.offered),
                    ("상담원 연결", w.answered),
                    ("대기 중 포기", w.abandoned),
                    ("서비스 수준 (20초 내 연결)", _percent(w.service_level)),
                    ("포기율", _percent(w.abandonment_rate)),
                    ("평균 대기 (초)", "" if w.average_wait_seconds is None else w.average_wait_seconds),
                    ("최장 대기 (초)", "" if w.longest_wait_seconds is None else w.longest_wait_seconds),
                    ("평균 상담 (초)", "" if w.average_handling_seconds is None else w.average_handling_seconds),
                    *((f"콜백 요청: {labels.label(CALLBACK_REASONS, k)}", n) for k, n in w.callbacks.items()),
                    ("콜백 완료", w.callbacks_done),
                ],
            )
        )
    if r.customer_changes is not None:
        sections.append(
            Section(
                "통화에서 수집한 고객정보 변경",
                ("처리", "건수"),
                [("반영", r.customer_changes.applied), ("반려", r.customer_changes.rejected)],
                chart=True,
            )
        )
    if r.alerts is not None:
        a = r.alerts
        totals = [("담당자에게 전달", a.addressed), ("담당자 없음 (지배인 확인)", a.unaddressed)]
        sections.append(_counted("경보 발생과 후속 조치", "경보", labels.ALERT_KINDS, a.by_kind, totals))
    if r.complaints is not None:
        c = r.complaints
        totals = [("접수 합계", c.received), ("종결", c.closed)]
        sections.append(_counted("민원", "구분", labels.COMPLAINT_CATEGORIES, c.by_category, totals))
        if c.by_channel:
            sections.append(_counted("채널별 민원", "채널", labels.COMPLAINT_CHANNELS, c.by_channel, []))
    if r.crm is not None:
        sections += crm_sections(r.crm)
    sections.append(
        Section(
            "잠재 고객 (유효 계약 없이 상품 문의)",
            ("고객 번호", "이름", "문의 주제", "통화 수"),
            [(p.customer_id, p.name, labels.topic_label(p.topic), p.calls) for p in r.potential_customers],
        )
    )
    return Document(
        title=f"{stored.month} 월간 고객센터 보고서: {stored.org_unit_name}",
        subtitle=f"{stored.org_unit_name} ({level}) 및 하위 조직 · 생성 {kst(stored.generated_at)} (한국 시간)",
        sections=sections,
    )


def _loss_rows(ratios: list[LossRatio], name: dict[str, str] | None = None) -> list[tuple[Cell, ...]]:
    return [((name or {}).get(r.name, r.name), r.premium, r.paid, _percent(r.ratio)) for r in ratios]


def crm_sections(crm: CrmAnalytics) -> list[Section]:
    """The CRM analytics: segments, movements, loss ratios, claim frequency, key customers' premium, duties."""
    segment = labels.SEGMENTS
    loss_headers = ("구분", "보험료", "지급 보험금", "손해율")
    return [
        Section(
            "고객 등급 분포", ("등급", "고객 수"), [(segment.get(k, k), v) for k, v in crm.segments.items()], chart=True
        ),
        Section(
            "이번 달 등급 이동",
            ("이전 등급", "새 등급", "고객 수"),
            [
                (segment.get(m.old_segment or "", "신규"), segment.get(m.new_segment, m.new_segment), m.customers)
                for m in crm.movements
            ],
        ),
        Section("등급별 손해율", loss_headers, _loss_rows(crm.loss_by_segment, segment)),
        Section("보험 종목별 손해율", loss_headers, _loss_rows(crm.loss_by_line, labels.POLICY_LINES)),
        Section("하위 조직별 손해율", loss_headers, _loss_rows(crm.loss_by_unit)),
        Section(
            "등급별 사고 빈도 (최근 12개월, 고객당 건수)",
            ("등급", "고객당 사고"),
            [(segment.get(k, k), v) for k, v in crm.claim_frequency.items()],
            chart=True,
        ),
        Section(
            "중점 고객 보험료 집중도",
            ("항목", "값"),
            [("중점 고객 보험료 비중", _percent(crm.key_premium_share))],
        ),
        Section(
            "고객지배인 방문·면담 완료",
            ("업무", "이번 달 기한", "완료", "완료율"),
            [
                (
                    labels.label(labels.SERVICE_TASK_KINDS, d.kind),
                    d.due,
                    d.done,
                    _percent(d.done / d.due if d.due else None),
                )
                for d in crm.duties
            ],
        ),
    ]
