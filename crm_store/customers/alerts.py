"""Alerts on a customer (blacklist, frequent claims, high loss ratio, key customer, repeat complainant): pure rules.

Each alert has a kind, a level and a reason a person can read; the agent on the call sees them in the customer
picture, and the account manager gets them as customer events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from crm_store.customers.rules import AlertRules
from crm_store.customers.segment_rules import CustomerFacts, count_within, loss_ratio_text
from crm_store.customers.tables import AlertKind, AlertLevel, Segment

MATCHED_ON = {"registration": "주민/사업자등록번호", "phone": "전화번호", "plate": "차량번호", "customer": "고객 본인"}


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    level: AlertLevel
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "level": self.level.value, "reason": self.reason}


@dataclass(frozen=True)
class BlacklistHit:
    """An active blacklist entry matching this customer or caller, and on what."""

    entry_id: int
    listed_customer_id: int
    reason: str
    matched_on: str
    org_unit_name: str
    own: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "entry_id": self.entry_id,
            "reason": self.reason,
            "matched_on": self.matched_on,
            "listed_at_unit": self.org_unit_name,
            "own_entry": self.own,
        }


def blacklist_alert(hits: Sequence[BlacklistHit], rules: AlertRules) -> Alert | None:
    """One alert for all matching entries: the customer's own listing first, then matches on other records."""
    if not hits:
        return None
    first = sorted(hits, key=lambda h: (not h.own, h.entry_id))[0]
    if first.own:
        reason = f"블랙리스트 등재: {first.reason}"
    else:
        reason = (
            f"블랙리스트 일치 ({first.org_unit_name} 등재 건 #{first.entry_id}, "
            f"{MATCHED_ON.get(first.matched_on, first.matched_on)} 일치): {first.reason}"
        )
    if len({h.entry_id for h in hits}) > 1:
        reason += f" 외 {len({h.entry_id for h in hits}) - 1}건"
    return Alert(AlertKind.BLACKLIST, rules.blacklist.level, reason)


def evaluate_alerts(
    facts: CustomerFacts,
    *,
    segment: Segment,
    hits: Sequence[BlacklistHit],
    complaint_dates: Sequence[date],
    rules: AlertRules,
    window_years: int,
    as_of: date,
) -> list[Alert]:
    """Every alert that holds for the customer today, most severe first."""
    return alerts_for(
        recent_claims=count_within(facts.claim_dates, months=rules.frequent_claims.months, as_of=as_of),
        loss_ratio=facts.loss_ratio(window_years, as_of),
        segment=segment,
        hits=hits,
        recent_complaints=count_within(complaint_dates, months=rules.repeat_complainant.months, as_of=as_of),
        rules=rules,
        window_years=window_years,
    )


def _count_alert(kind: AlertKind, rule: Any, what: str, count: int, threshold: int) -> Alert:
    """An alert on how many claims or complaints fell within the rule's months."""
    return Alert(kind, rule.level, f"최근 {rule.months}개월 {what} {count}건 (기준 {threshold}건 이상)")


def alerts_for(
    *,
    recent_claims: int,
    loss_ratio: float | None,
    segment: Segment,
    hits: Sequence[BlacklistHit],
    recent_complaints: int,
    rules: AlertRules,
    window_years: int,
) -> list[Alert]:
    """The alerts, most severe first, from what is already counted: claims and complaints within the rules'
    months, and the window loss ratio (the customer picture counts them over its own rows)."""
    alerts: list[Alert] = []
    listed = blacklist_alert(hits, rules)
    if listed is not None:
        alerts.append(listed)
    frequent = rules.frequent_claims
    if recent_claims >= frequent.claims:
        alerts.append(_count_alert(AlertKind.FREQUENT_CLAIMS, frequent, "청구", recent_claims, frequent.claims))
    high = rules.high_loss_ratio
    if loss_ratio is not None and loss_ratio >= high.loss_ratio:
        level = AlertLevel.CRITICAL if loss_ratio >= high.critical_loss_ratio else high.level
        alerts.append(
            Alert(
                AlertKind.HIGH_LOSS_RATIO,
                level,
                f"{window_years}년 손해율 {loss_ratio_text(loss_ratio)} (기준 {loss_ratio_text(high.loss_ratio)} 이상)",
            )
        )
    if segment is Segment.KEY:
        alerts.append(Alert(AlertKind.KEY_CUSTOMER, rules.key_customer.level, "중점/대형 고객: 우선 응대 (녹색 채널)"))
    repeat = rules.repeat_complainant
    if recent_complaints >= repeat.complaints:
        alerts.append(_count_alert(AlertKind.REPEAT_COMPLAINANT, repeat, "민원", recent_complaints, repeat.complaints))
    return sorted(alerts, key=lambda a: _SEVERITY[a.level])


_SEVERITY = {AlertLevel.CRITICAL: 0, AlertLevel.WARNING: 1, AlertLevel.INFO: 2}
