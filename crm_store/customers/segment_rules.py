"""Customer segments (quality, key, ordinary, inferior): the pure rule, and the facts it is decided on.

The store functions that load facts and write segment changes are in `crm_store.customers.segments`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from crm_store.customers.rules import SegmentRules
from crm_store.customers.tables import CustomerKind, KeyAccount, Segment


@dataclass(frozen=True)
class YearFigures:
    premium: int = 0
    paid: int = 0
    claims: int = 0


@dataclass(frozen=True)
class CustomerFacts:
    """What the segment and alert rules look at, for one customer."""

    kind: CustomerKind
    years: Mapping[int, YearFigures] = field(default_factory=dict)
    claim_dates: Sequence[date] = ()
    first_policy_on: date | None = None
    in_force_premium: int = 0
    branch_premium: int = 0
    company_premium: int = 0
    key_account: KeyAccount | None = None
    fraud_marker: bool = False
    late_payments: int = 0
    blacklisted: bool = False

    def window(self, window_years: int, as_of: date) -> YearFigures:
        """Premium, paid and claims summed over this calendar year and the ones before it."""
        figures = [self.years.get(y, YearFigures()) for y in range(as_of.year - window_years + 1, as_of.year + 1)]
        return YearFigures(
            sum(f.premium for f in figures), sum(f.paid for f in figures), sum(f.claims for f in figures)
        )

    def loss_ratio(self, window_years: int, as_of: date) -> float | None:
        """Paid claims over earned premium in the window; None without premium."""
        w = self.window(window_years, as_of)
        # Not rounded: the rules compare at their thresholds exactly; only display rounds.
        return w.paid / w.premium if w.premium > 0 else None


def months_before(day: date, months: int) -> date:
    """The same day `months` months earlier (the month's last day when it has no such day)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def count_within(dates: Sequence[date], *, months: int, as_of: date) -> int:
    """How many dates fall in the `months` months up to `as_of` (one exactly `months` months ago no longer counts)."""
    since = months_before(as_of, months)
    return sum(1 for d in dates if since < d <= as_of)


def loss_ratio_text(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def decide_segment(facts: CustomerFacts, rules: SegmentRules, *, as_of: date) -> tuple[Segment, str]:
    """The segment and the reason for it: inferior first, then key, then quality; ordinary otherwise."""
    inferior = rules.inferior
    ratio = facts.loss_ratio(rules.window_years, as_of)
    if inferior.blacklisted and facts.blacklisted:
        return Segment.INFERIOR, "블랙리스트 등재 또는 일치"
    if inferior.fraud_marker and facts.fraud_marker:
        return Segment.INFERIOR, "보험사기 표지"
    if ratio is not None and ratio >= inferior.min_loss_ratio:
        return Segment.INFERIOR, (
            f"{rules.window_years}년 손해율 {loss_ratio_text(ratio)} ≥ {loss_ratio_text(inferior.min_loss_ratio)}"
        )
    recent = count_within(facts.claim_dates, months=inferior.claims_months, as_of=as_of)
    if recent >= inferior.claims:
        return Segment.INFERIOR, f"최근 {inferior.claims_months}개월 청구 {recent}건 ≥ {inferior.claims}건"
    key = rules.key
    if facts.key_account is not None and facts.key_account in key.flags:
        return Segment.KEY, f"중점 고객 지정 ({facts.key_account.value})"
    if facts.kind in key.kinds and facts.in_force_premium > 0:
        if facts.in_force_premium >= key.min_in_force_premium:
            return Segment.KEY, f"유지 보험료 {facts.in_force_premium:,}원 ≥ {key.min_in_force_premium:,}원"
        if facts.branch_premium and facts.in_force_premium / facts.branch_premium >= key.min_branch_share:
            share = facts.in_force_premium / facts.branch_premium
            return Segment.KEY, f"지점 보험료 비중 {share:.1%} ≥ {key.min_branch_share:.1%}"
        if facts.company_premium and facts.in_force_premium / facts.company_premium >= key.min_company_share:
            share = facts.in_force_premium / facts.company_premium
            return Segment.KEY, f"회사 보험료 비중 {share:.2%} ≥ {key.min_company_share:.2%}"
    quality = rules.quality
    if facts.kind in quality.kinds and _quality_tenure(facts, quality.claim_free_years, rules.window_years, as_of):
        if facts.late_payments <= quality.max_late_payments:
            window = facts.window(rules.window_years, as_of)
            if window.paid == 0:
                return Segment.QUALITY, f"{quality.claim_free_years}년 연속 무사고 (지급 보험금 없음)"
            if ratio is not None and ratio < quality.max_loss_ratio:
                return Segment.QUALITY, (
                    f"{rules.window_years}년 손해율 {loss_ratio_text(ratio)} "
                    f"< {loss_ratio_text(quality.max_loss_ratio)}"
                )
    return Segment.ORDINARY, "일반 고객 (우량·중점·불량 기준 해당 없음)"


def _quality_tenure(facts: CustomerFacts, years: int, window_years: int, as_of: date) -> bool:
    """A customer for `years` years, with premium earned in every year of the window."""
    if facts.first_policy_on is None or facts.first_policy_on > _years_before(as_of, years):
        return False
    return all(
        facts.years.get(y, YearFigures()).premium > 0 for y in range(as_of.year - window_years + 1, as_of.year + 1)
    )


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
