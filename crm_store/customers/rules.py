"""The customer rules (segments, alert thresholds, entitlements, service duties), from configuration.

The defaults live in `crm_store/customers/rules.json` beside this module; `load_rules(path)` reads another file of the
same shape. Rules are loaded once at start and passed to the functions that apply them.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from crm_store.customers.tables import AlertLevel, CustomerKind, KeyAccount, Segment

DEFAULT_RULES = Path(__file__).with_name("rules.json")


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QualityRule(_Rule):
    """Quality (우량): a customer for `claim_free_years` with premium in every year of the window, and either no paid
    claim in the window or a window loss ratio under `max_loss_ratio`, and at most `max_late_payments` late payments."""

    kinds: tuple[CustomerKind, ...] = (CustomerKind.INDIVIDUAL, CustomerKind.CORPORATE)
    claim_free_years: int = Field(default=3, ge=1)
    max_loss_ratio: float = Field(default=0.2, ge=0)
    max_late_payments: int = Field(default=0, ge=0)


class KeyRule(_Rule):
    """Key (중점/대형): a customer of `kinds` whose in-force premium reaches `min_in_force_premium`, or
    `min_branch_share` of its owning unit's, or `min_company_share` of the company's; or any customer flagged
    with one of `flags` (group, system, large project)."""

    kinds: tuple[CustomerKind, ...] = (CustomerKind.CORPORATE,)
    min_in_force_premium: int = Field(default=50_000_000, ge=0)
    min_branch_share: float = Field(default=0.1, gt=0, le=1)
    min_company_share: float = Field(default=0.005, gt=0, le=1)
    flags: tuple[KeyAccount, ...] = tuple(KeyAccount)


class InferiorRule(_Rule):
    """Inferior (불량): a window loss ratio of at least `min_loss_ratio`, or `claims` claims within `claims_months`,
    or a fraud marker (if `fraud_marker`), or a blacklist listing or match (if `blacklisted`). Checked first."""

    min_loss_ratio: float = Field(default=2.0, gt=0)
    claims: int = Field(default=5, ge=1)
    claims_months: int = Field(default=24, ge=1)
    fraud_marker: bool = True
    blacklisted: bool = True


class SegmentRules(_Rule):
    """Order of the tests: inferior, key, quality; ordinary otherwise. `window_years` calendar years (this one
    and the ones before) make the loss-ratio window."""

    window_years: int = Field(default=3, ge=1, le=10)
    quality: QualityRule = QualityRule()
    key: KeyRule = KeyRule()
    inferior: InferiorRule = InferiorRule()


class LevelRule(_Rule):
    level: AlertLevel


class FrequentClaimsRule(LevelRule):
    """Frequent claims (복수 청구): at least `claims` claims that occurred within the last `months` months."""

    level: AlertLevel = AlertLevel.WARNING
    claims: int = Field(default=3, ge=1)
    months: int = Field(default=12, ge=1)


class HighLossRatioRule(LevelRule):
    """High loss ratio (배상률): the window loss ratio reaches `loss_ratio` (at `level`), or `critical_loss_ratio`
    (critical)."""

    level: AlertLevel = AlertLevel.WARNING
    loss_ratio: float = Field(default=1.0, gt=0)
    critical_loss_ratio: float = Field(default=2.0, gt=0)


class RepeatComplainantRule(LevelRule):
    """Repeat complainant: at least `complaints` complaint calls within the last `months` months."""

    level: AlertLevel = AlertLevel.WARNING
    complaints: int = Field(default=2, ge=1)
    months: int = Field(default=6, ge=1)


class AlertRules(_Rule):
    blacklist: LevelRule = LevelRule(level=AlertLevel.CRITICAL)
    frequent_claims: FrequentClaimsRule = FrequentClaimsRule()
    high_loss_ratio: HighLossRatioRule = HighLossRatioRule()
    key_customer: LevelRule = LevelRule(level=AlertLevel.INFO)
    repeat_complainant: RepeatComplainantRule = RepeatComplainantRule()


class EntitlementRule(_Rule):
    """Services a segment is entitled to, for customers of `kinds` (all if empty) holding a policy of `lines`
    (any if empty)."""

    segment: Segment
    kinds: tuple[CustomerKind, ...] = ()
    lines: tuple[str, ...] = ()
    services: tuple[str, ...]


class ServiceDuties(_Rule):
    """Account-manager tasks: a visit to each key customer every `key_visit_days`, a phone interview of each
    quality individual every `quality_interview_days`, a renewal reminder `renewal_reminder_days` before expiry."""

    key_visit_days: int = Field(default=90, ge=1)
    quality_interview_days: int = Field(default=180, ge=1)
    renewal_reminder_days: int = Field(default=30, ge=1)


class Rules(_Rule):
    """Everything configurable about customers."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    segments: SegmentRules = SegmentRules()
    alerts: AlertRules = AlertRules()
    entitlements: tuple[EntitlementRule, ...] = ()
    service_names: dict[str, str] = Field(default_factory=dict)
    service_duties: ServiceDuties = ServiceDuties()


def load_rules(path: Path | str | None = None) -> Rules:
    """The rules from a JSON file (the packaged defaults if none is given), validated."""
    source = Path(path) if path is not None else DEFAULT_RULES
    return Rules.model_validate(json.loads(source.read_text(encoding="utf-8")))
