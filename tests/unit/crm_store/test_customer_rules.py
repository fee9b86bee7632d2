"""Segment and alert rules at their thresholds (just below, at, above), aggregates arithmetic, configuration."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from crm_store.customers.alerts import BlacklistHit, evaluate_alerts
from crm_store.customers.blacklist import normalise_plate
from crm_store.customers.rules import DEFAULT_RULES, Rules, load_rules
from crm_store.customers.segment_rules import CustomerFacts, YearFigures, count_within, decide_segment, months_before
from crm_store.customers.stats import premium_by_year
from crm_store.customers.tables import AlertKind, AlertLevel, CustomerKind, KeyAccount, Segment

AS_OF = date(2026, 11, 25)
RULES = load_rules()
SEG = RULES.segments  # window 3 years: 2024, 2025, 2026


def facts(
    *,
    premium: int = 1_000_000,
    paid: tuple[int, int, int] = (0, 0, 0),
    kind: CustomerKind = CustomerKind.INDIVIDUAL,
    since: date = date(2023, 1, 1),
    **extra: object,
) -> CustomerFacts:
    years = {y: YearFigures(premium, p, int(p > 0)) for y, p in zip((2024, 2025, 2026), paid, strict=True)}
    return CustomerFacts(kind=kind, years=years, first_policy_on=since, **extra)  # type: ignore[arg-type]


def segment(f: CustomerFacts, rules: Rules = RULES) -> Segment:
    return decide_segment(f, rules.segments, as_of=AS_OF)[0]


def test_defaults_are_documented_and_loaded_from_the_packaged_file() -> None:
    raw = json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    assert raw["segments"]["inferior"]["min_loss_ratio"] == SEG.inferior.min_loss_ratio == 2.0
    assert RULES.alerts.frequent_claims.claims == 3 and RULES.alerts.frequent_claims.months == 12
    assert RULES.service_names["green_channel"] == "녹색 채널"


def test_a_changed_configuration_changes_the_rule(tmp_path: Path) -> None:
    raw = json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    raw["segments"]["inferior"]["min_loss_ratio"] = 0.5
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(raw))
    stricter = load_rules(path)
    f = facts(paid=(0, 0, 1_500_000))  # 50% over three years
    assert segment(f) is Segment.ORDINARY
    assert segment(f, stricter) is Segment.INFERIOR


def test_invalid_configuration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"segments": {"inferior": {"min_loss_ratio": -1}}}))
    with pytest.raises(ValueError):
        load_rules(path)


# -- quality --


def test_quality_needs_three_claim_free_years_of_tenure() -> None:
    assert segment(facts(since=date(2023, 11, 25))) is Segment.QUALITY  # exactly three years
    assert segment(facts(since=date(2023, 11, 26))) is Segment.ORDINARY  # one day short


def test_quality_needs_premium_in_every_year_of_the_window() -> None:
    f = facts()
    gap = CustomerFacts(kind=f.kind, years={2024: f.years[2024], 2026: f.years[2026]}, first_policy_on=date(2020, 1, 1))
    assert segment(gap) is Segment.ORDINARY


def test_quality_by_loss_ratio_just_below_the_threshold() -> None:
    premium = 1_000_000  # 3,000,000 over the window; the threshold is 20% = 600,000 paid
    assert segment(facts(premium=premium, paid=(0, 599_999, 0))) is Segment.QUALITY
    assert segment(facts(premium=premium, paid=(0, 600_000, 0))) is Segment.ORDINARY


def test_quality_needs_good_payment_history() -> None:
    assert segment(facts(late_payments=0)) is Segment.QUALITY
    assert segment(facts(late_payments=1)) is Segment.ORDINARY


# -- inferior --


def test_inferior_at_the_loss_ratio_threshold() -> None:
    assert segment(facts(paid=(0, 0, 5_999_999))) is not Segment.INFERIOR  # 199.99%
    assert segment(facts(paid=(0, 0, 6_000_000))) is Segment.INFERIOR  # 200%
    assert segment(facts(paid=(0, 0, 6_000_001))) is Segment.INFERIOR


def test_inferior_on_repeated_claims_within_the_window() -> None:
    inside = [date(2025, 1, 1), date(2025, 6, 1), date(2026, 1, 1), date(2026, 3, 1)]
    assert segment(facts(claim_dates=inside)) is not Segment.INFERIOR  # 4 < 5
    assert segment(facts(claim_dates=[*inside, date(2026, 11, 25)])) is Segment.INFERIOR  # 5
    exactly_24_months_ago = date(2024, 11, 25)
    assert segment(facts(claim_dates=[*inside, exactly_24_months_ago])) is not Segment.INFERIOR
    assert segment(facts(claim_dates=[*inside, date(2024, 11, 26)])) is Segment.INFERIOR


def test_inferior_on_fraud_marker_or_blacklist_before_anything_else() -> None:
    key = facts(kind=CustomerKind.CORPORATE, in_force_premium=90_000_000)
    assert segment(key) is Segment.KEY
    for flag in ({"fraud_marker": True}, {"blacklisted": True}):
        f = facts(kind=CustomerKind.CORPORATE, in_force_premium=90_000_000, **flag)
        assert decide_segment(f, SEG, as_of=AS_OF)[0] is Segment.INFERIOR


# -- key --


def test_key_at_the_in_force_premium_threshold() -> None:
    corporate = {"kind": CustomerKind.CORPORATE, "since": date(2026, 1, 1)}
    assert segment(facts(**corporate, in_force_premium=49_999_999)) is Segment.ORDINARY
    assert segment(facts(**corporate, in_force_premium=50_000_000)) is Segment.KEY
    # individuals are not key by premium (kinds in the configuration)
    assert segment(facts(since=date(2026, 1, 1), in_force_premium=80_000_000)) is Segment.ORDINARY


def test_key_by_share_of_the_branch_or_the_company() -> None:
    corporate = {"kind": CustomerKind.CORPORATE, "since": date(2026, 1, 1), "in_force_premium": 1_000_000}
    assert segment(facts(**corporate, branch_premium=10_000_001)) is Segment.ORDINARY  # 9.99999%
    assert segment(facts(**corporate, branch_premium=10_000_000)) is Segment.KEY  # 10%
    assert segment(facts(**corporate, branch_premium=10**9, company_premium=200_000_000)) is Segment.KEY  # 0.5%
    assert segment(facts(**corporate, branch_premium=10**9, company_premium=200_000_001)) is Segment.ORDINARY


def test_key_by_flag_whatever_the_premium() -> None:
    f = facts(since=date(2026, 1, 1), key_account=KeyAccount.GROUP)
    assert decide_segment(f, SEG, as_of=AS_OF) == (Segment.KEY, "중점 고객 지정 (group)")


# -- alerts --


def alerts(
    f: CustomerFacts,
    *,
    seg: Segment = Segment.ORDINARY,
    complaints: list[date] | None = None,
    hits: list[BlacklistHit] | None = None,
) -> dict[AlertKind, AlertLevel]:
    found = evaluate_alerts(
        f,
        segment=seg,
        hits=hits or [],
        complaint_dates=complaints or [],
        rules=RULES.alerts,
        window_years=SEG.window_years,
        as_of=AS_OF,
    )
    assert all(a.reason for a in found)
    return {a.kind: a.level for a in found}


def test_frequent_claims_at_n_in_m_months() -> None:
    two = [date(2026, 1, 1), date(2026, 5, 1)]
    assert AlertKind.FREQUENT_CLAIMS not in alerts(facts(claim_dates=two))
    assert alerts(facts(claim_dates=[*two, date(2025, 11, 26)]))[AlertKind.FREQUENT_CLAIMS] is AlertLevel.WARNING
    assert AlertKind.FREQUENT_CLAIMS not in alerts(facts(claim_dates=[*two, date(2025, 11, 25)]))  # 12 months ago


def test_high_loss_ratio_warning_then_critical() -> None:
    assert AlertKind.HIGH_LOSS_RATIO not in alerts(facts(paid=(0, 0, 2_999_999)))
    assert alerts(facts(paid=(0, 0, 3_000_000)))[AlertKind.HIGH_LOSS_RATIO] is AlertLevel.WARNING  # 100%
    assert alerts(facts(paid=(0, 0, 6_000_000)))[AlertKind.HIGH_LOSS_RATIO] is AlertLevel.CRITICAL  # 200%


def test_repeat_complainant_and_key_customer() -> None:
    assert AlertKind.REPEAT_COMPLAINANT not in alerts(facts(), complaints=[date(2026, 10, 1)])
    found = alerts(facts(), complaints=[date(2026, 10, 1), date(2026, 5, 26)])
    assert found[AlertKind.REPEAT_COMPLAINANT] is AlertLevel.WARNING
    assert AlertKind.REPEAT_COMPLAINANT not in alerts(facts(), complaints=[date(2026, 10, 1), date(2026, 5, 25)])
    assert alerts(facts(), seg=Segment.KEY) == {AlertKind.KEY_CUSTOMER: AlertLevel.INFO}


def test_blacklist_alert_names_the_other_branch_and_comes_first() -> None:
    hit = BlacklistHit(7, 99, "보험사기 혐의", "registration", "해운대구지점", own=False)
    found = evaluate_alerts(
        facts(paid=(0, 0, 6_000_000)),
        segment=Segment.INFERIOR,
        hits=[hit],
        complaint_dates=[],
        rules=RULES.alerts,
        window_years=3,
        as_of=AS_OF,
    )
    assert found[0].kind is AlertKind.BLACKLIST and found[0].level is AlertLevel.CRITICAL
    assert "해운대구지점" in found[0].reason and "#7" in found[0].reason and "주민/사업자등록번호" in found[0].reason


# -- arithmetic --


def test_premium_is_spread_over_calendar_years_exactly() -> None:
    shares = premium_by_year(1_000_000, date(2025, 3, 1), date(2026, 3, 1))
    assert shares == {2025: 838_356, 2026: 161_644} and sum(shares.values()) == 1_000_000
    assert premium_by_year(999, date(2024, 1, 1), date(2025, 1, 1)) == {2024: 999}


def test_months_and_windows() -> None:
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 11, 25), 24) == date(2024, 11, 25)
    assert count_within([date(2025, 11, 25), date(2025, 11, 26), date(2026, 11, 26)], months=12, as_of=AS_OF) == 1


@pytest.mark.parametrize(
    ("raw", "plate"), [("12가 3456", "12가3456"), ("서울 123-나-4567", "서울123나4567"), ("ABC", None)]
)
def test_plates(raw: str, plate: str | None) -> None:
    assert normalise_plate(raw) == plate
