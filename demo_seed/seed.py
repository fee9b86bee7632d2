"""Demo data for `hotline seed-demo`: the seeding run (organisation, staff, customers with policies and claims, then
the customer extras), once per database."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from phonenumbers import is_valid_number, parse
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from crm_store.customers.identity import registration_hash, registration_mask
from crm_store.customers.phones import normalise_phone
from crm_store.customers.records import LINE_CODES
from crm_store.customers.tables import BlacklistEntry, Claim, Customer, CustomerKind, CustomerPhone, Policy, Segment
from crm_store.org.tables import OrgLevel, OrgUnit, Staff
from demo_seed.extras import seed_customer_extras
from demo_seed.organisation import OrganisationSeeding
from demo_seed.people import (
    DEMO_BLACKLISTED_CALLER,
    DEMO_CALLER,
    DEMO_PASSWORD,
    HEAD_OFFICE_CODE,
    business_number,
    korean_company_name,
    korean_person_name,
    resident_number,
)
from demo_seed.report_calls import seed_report_calls

BLACKLIST_REASONS = (
    "보험사기 혐의 (허위 사고 접수)",
    "고의 사고 유발 의심 (동일 유형 사고 반복)",
    "허위 진단서 제출 확인",
    "보험금 과다 청구 (수리비 부풀리기)",
    "사고 경위 허위 진술 확인",
    "명의 도용 계약 시도",
    "상담원 폭언 및 업무 방해 반복",
)

# -- policies and claims ---------------------------------------------------------------------------
# Annual premium ranges in KRW, by line and customer kind.
PREMIUM_RANGES: dict[CustomerKind, dict[str, tuple[int, int]]] = {
    CustomerKind.INDIVIDUAL: {
        "auto": (600_000, 1_800_000),
        "home": (150_000, 600_000),
        "fire": (100_000, 500_000),
        "personal_accident": (200_000, 1_200_000),
        "travel": (30_000, 150_000),
    },
    CustomerKind.CORPORATE: {
        "property": (5_000_000, 120_000_000),
        "fire": (2_000_000, 40_000_000),
        "cargo": (3_000_000, 90_000_000),
        "liability": (1_000_000, 30_000_000),
        "auto": (4_000_000, 60_000_000),
    },
}
LINE_WEIGHTS: dict[CustomerKind, dict[str, int]] = {
    CustomerKind.INDIVIDUAL: {"auto": 55, "home": 15, "fire": 5, "personal_accident": 17, "travel": 8},
    CustomerKind.CORPORATE: {"property": 25, "fire": 25, "cargo": 15, "liability": 20, "auto": 15},
}

# Segment thresholds of the bulk loader's first guess; the seeded demo is then re-segmented by
# crm_store/customers/rules.json.
KEY_PREMIUM = 50_000_000
INFERIOR_LOSS_RATIO = 2.0
INFERIOR_RECENT_CLAIMS = 5


@dataclass(frozen=True)
class DemoSummary:
    """What the demo database holds after seeding."""

    created: bool
    org_units: int
    staff: int
    customers: int
    phones: int
    policies: int
    claims: int
    blacklisted: int
    segments: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        state = "demo data seeded" if self.created else "demo data already present"
        segments = ", ".join(f"{name} {self.segments.get(name, 0):,}" for name in Segment)
        return (
            f"{state}: {self.org_units} org units, {self.staff} staff (administrator 'admin'), "
            f"{self.customers:,} customers, {self.phones:,} phones, {self.policies:,} policies, "
            f"{self.claims:,} claims, {self.blacklisted} blacklisted; segments: {segments}"
        )


@dataclass(frozen=True)
class PolicyDraft:
    """A policy before it has an id."""

    line: str
    premium: int
    start_date: date
    end_date: date


@dataclass(frozen=True)
class ClaimDraft:
    """A claim before it has an id; `policy` indexes the customer's policy drafts."""

    policy: int
    occurred_on: date
    paid_amount: int
    status: str


@dataclass
class _CustomerDraft:
    kind: CustomerKind
    name: str
    org_unit_id: int
    registration: str
    phones: list[tuple[str, str]]
    policies: list[PolicyDraft]
    claims: list[ClaimDraft] = field(default_factory=list)
    blacklist_reason: str | None = None
    segment: Segment = Segment.ORDINARY


def demo_segment(
    kind: CustomerKind,
    policies: Sequence[PolicyDraft],
    claims: Sequence[ClaimDraft],
    *,
    as_of: date,
    blacklisted: bool = False,
) -> Segment:
    """The demo's segment rule: inferior, then key, then quality, else ordinary."""
    premium = sum(p.premium for p in policies)
    paid = sum(c.paid_amount for c in claims)
    recent_claims = sum(1 for c in claims if c.occurred_on > as_of - timedelta(days=730))
    if blacklisted or recent_claims >= INFERIOR_RECENT_CLAIMS or (premium and paid / premium >= INFERIOR_LOSS_RATIO):
        return Segment.INFERIOR
    in_force = sum(p.premium for p in policies if p.start_date <= as_of < p.end_date)
    if kind is CustomerKind.CORPORATE and in_force >= KEY_PREMIUM:
        return Segment.KEY
    three_years_ago = _years_later(as_of, -3)
    customer_since = min((p.start_date for p in policies), default=as_of)
    if in_force and customer_since <= three_years_ago and not any(c.occurred_on > three_years_ago for c in claims):
        return Segment.QUALITY
    return Segment.ORDINARY


def seed_demo(
    engine: Engine,
    *,
    secret_key: str,
    customers: int = 1200,
    seed: int = 20261125,
    as_of: date | None = None,
) -> DemoSummary:
    """Create the demo organisation, staff and customers once; later runs only count what is there."""
    if customers < 2:
        raise ValueError("the demo needs at least the two well-known demo customers")
    with engine.connect() as conn:
        if conn.scalar(select(col(OrgUnit.id)).where(col(OrgUnit.code) == HEAD_OFFICE_CODE)) is not None:
            return demo_counts(conn, created=False)
    try:
        with engine.begin() as conn:
            _Seeder(conn, random.Random(seed), secret_key, as_of or date.today(), random.Random(seed + 5)).run(
                customers
            )
    except IntegrityError:
        # Another process seeded at the same time: its head office won the unique index.
        with engine.connect() as conn:
            if conn.scalar(select(col(OrgUnit.id)).where(col(OrgUnit.code) == HEAD_OFFICE_CODE)) is None:
                raise
            return demo_counts(conn, created=False)
    # aggregates, blacklist keys and matches, segments by the configured rules, account managers
    seed_customer_extras(engine, rng=random.Random(seed + 4), as_of=as_of or date.today())
    # four months of classified calls (a topic rising in the last one) and the last month's stored reports
    seed_report_calls(engine, rng=random.Random(seed + 6), as_of=as_of or date.today())
    with engine.connect() as conn:
        return demo_counts(conn, created=True)


def demo_counts(conn: Connection, *, created: bool = False) -> DemoSummary:
    """Count what the database holds, in the demo's terms."""

    def count(model: Any, *where: Any) -> int:
        return int(conn.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    segments = conn.execute(select(col(Customer.segment), func.count()).group_by(col(Customer.segment)))
    return DemoSummary(
        created=created,
        org_units=count(OrgUnit),
        staff=count(Staff),
        customers=count(Customer),
        phones=count(CustomerPhone),
        policies=count(Policy),
        claims=count(Claim),
        blacklisted=count(Customer, col(Customer.blacklisted)),
        segments={str(name): int(n) for name, n in segments},
    )


def _round_krw(amount: float) -> int:
    return int(round(amount, -3))


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class _Seeder(OrganisationSeeding):
    """One seeding run inside one transaction."""

    def __init__(
        self, conn: Connection, rng: random.Random, secret_key: str, as_of: date, staff_rng: random.Random
    ) -> None:
        self.conn, self.rng, self.secret_key, self.as_of = conn, rng, secret_key, as_of
        self.staff_rng = staff_rng
        self.units: dict[str, tuple[int, OrgLevel, str]] = {}  # code -> id, level, area code
        self.slugs: dict[int, str] = {}  # unit id -> "seoul.gangnam"
        self.center_managers: dict[int, int] = {}  # unit id -> staff id
        self.phones_taken = {DEMO_CALLER, DEMO_BLACKLISTED_CALLER}
        self.registrations_taken: set[str] = set()
        self.company_names: set[str] = set()
        from crm_store.org.auth import hash_password

        self.password_hash = hash_password(DEMO_PASSWORD)

    def run(self, customers: int) -> None:
        self._org_tree()
        self._staff()
        drafts = self._demo_customers() + [self._customer() for _ in range(customers - 2)]
        # About 1% listed, the demo's listed caller among them; at least one other, so that a small demo also has a
        # listing in force to show as due for review.
        self._blacklist(drafts, max(2, round(customers * 0.01)) - 1)
        for draft in drafts:
            draft.segment = demo_segment(
                draft.kind, draft.policies, draft.claims, as_of=self.as_of, blacklisted=bool(draft.blacklist_reason)
            )
        self._insert(drafts)

    # -- organisation and staff --

    # -- customers --

    def _customer(self) -> _CustomerDraft:
        rng = self.rng
        kind = CustomerKind.CORPORATE if rng.random() < 0.15 else CustomerKind.INDIVIDUAL
        wanted = OrgLevel.COUNTY if rng.random() < 0.65 else OrgLevel.CITY
        unit_id, _level, area = rng.choice([u for u in self.units.values() if u[1] == wanted])
        profile = rng.random()  # frequent claims 3%, high loss ratio 3%, other claimants 29%, no claim 65%
        frequent, high_loss = profile < 0.03, 0.03 <= profile < 0.06
        policies = self._policies(
            kind,
            count=rng.randint(3, 4) if frequent or high_loss else rng.randint(1, 4),
            chained_to_now=frequent or high_loss,
        )
        if kind is CustomerKind.INDIVIDUAL:
            born = self.as_of.year - rng.randint(20, 80)
            male = rng.random() < 0.5
            name = korean_person_name(rng, born=born, male=male)
            birth = date(born, rng.randint(1, 12), rng.randint(1, 28))
            registration = self._unique_registration(lambda: resident_number(rng, birth=birth, male=male))
            phones = [(self._phone(None), "mobile")]
            if rng.random() < 0.3:
                phones.append((self._phone(area), "home") if rng.random() < 0.6 else (self._phone(None), "mobile"))
        else:
            name = self._company_name()
            registration = self._unique_registration(lambda: business_number(rng))
            phones = [(self._phone(area), "office")]
            if rng.random() < 0.4:
                phones.append((self._phone(None), "mobile"))
        draft = _CustomerDraft(kind, name, unit_id, registration, phones, policies)
        if frequent:
            draft.claims = self._claims(policies, rng.randint(5, 9), since=self.as_of - timedelta(days=720))
        elif high_loss:
            draft.claims = self._claims(policies, rng.randint(1, 3), severity=(3.0, 10.0))
        elif profile < 0.35:
            draft.claims = self._claims(policies, rng.choices((1, 2, 3, 4), weights=(70, 22, 5, 3))[0])
        return draft

    def _demo_customers(self) -> list[_CustomerDraft]:
        start = self.as_of - timedelta(days=3 * 365 + 90)
        renewals: list[PolicyDraft] = []
        while start <= self.as_of:
            end = _years_later(start, 1)
            renewals.append(PolicyDraft("auto", 920_000 + 30_000 * len(renewals), start, end))
            start = end
        regular = self._well_known("김민준", "SEOUL-GANGNAM-SEOCHO", date(1988, 3, 15), DEMO_CALLER, renewals)
        policies = self._policies(CustomerKind.INDIVIDUAL, count=3, chained_to_now=True, line="auto")
        listed = self._well_known(
            "박정호", "BUSAN-DONGBU-HAEUNDAE", date(1979, 11, 2), DEMO_BLACKLISTED_CALLER, policies
        )
        listed.claims = self._claims(policies, 7, since=self.as_of - timedelta(days=720))
        listed.blacklist_reason = BLACKLIST_REASONS[0]
        return [regular, listed]

    def _well_known(
        self, name: str, unit_code: str, birth: date, phone: str, policies: list[PolicyDraft]
    ) -> _CustomerDraft:
        """One of the demo's two well-known callers (men, on their mobile)."""
        registration = self._unique_registration(lambda: resident_number(self.rng, birth=birth, male=True))
        unit_id = self.units[unit_code][0]
        return _CustomerDraft(CustomerKind.INDIVIDUAL, name, unit_id, registration, [(phone, "mobile")], policies)

    def _blacklist(self, drafts: list[_CustomerDraft], how_many: int) -> None:
        # Fraud suspects first: the customers with the most claims, then anyone but the demo caller.
        suspects = sorted(range(2, len(drafts)), key=lambda i: (-len(drafts[i].claims), i))
        chosen = suspects[: max(0, how_many * 2 // 3)]
        taken = set(chosen)
        rest = [i for i in range(2, len(drafts)) if i not in taken]
        chosen += self.rng.sample(rest, min(len(rest), max(0, how_many - len(chosen))))
        for i in chosen:
            drafts[i].blacklist_reason = self.rng.choice(BLACKLIST_REASONS)

    def _policies(
        self, kind: CustomerKind, *, count: int, chained_to_now: bool, line: str | None = None
    ) -> list[PolicyDraft]:
        rng = self.rng
        weights = LINE_WEIGHTS[kind]
        main = line or rng.choices(list(weights), weights=list(weights.values()))[0]
        low, high = PREMIUM_RANGES[kind][main]
        premium = _round_krw(rng.randint(low, high))
        # Chained customers renew without a gap from two or three years ago until today.
        start = self.as_of - timedelta(days=rng.randint(730, 1090) if chained_to_now else rng.randint(0, 4 * 365 - 1))
        policies: list[PolicyDraft] = []
        while len(policies) < count and start <= self.as_of:
            end = _years_later(start, 1)
            policies.append(PolicyDraft(main, premium, start, end))
            if not chained_to_now and rng.random() > 0.7:
                break
            premium = min(high, max(low, _round_krw(premium * rng.uniform(0.95, 1.08))))
            start = end
        while len(policies) < count:
            other = rng.choices(list(weights), weights=list(weights.values()))[0]
            low, high = PREMIUM_RANGES[kind][other]
            start = self.as_of - timedelta(days=rng.randint(0, 4 * 365 - 1))
            policies.append(PolicyDraft(other, _round_krw(rng.randint(low, high)), start, _years_later(start, 1)))
        return policies

    def _claims(
        self,
        policies: list[PolicyDraft],
        how_many: int,
        *,
        since: date | None = None,
        severity: tuple[float, float] | None = None,
    ) -> list[ClaimDraft]:
        rng = self.rng
        windows = []
        for i, p in enumerate(policies):
            low = max(p.start_date, since) if since else p.start_date
            high = min(p.end_date - timedelta(days=1), self.as_of)
            if low <= high:
                windows.append((i, low, (high - low).days + 1))
        if not windows:
            return []
        claims = []
        for _ in range(how_many):
            i, low, days = rng.choices(windows, weights=[w[2] for w in windows])[0]
            occurred = low + timedelta(days=rng.randrange(days))
            premium = policies[i].premium
            if severity:
                status = rng.choice(("paid", "closed"))
                paid = _round_krw(premium * rng.uniform(*severity))
            else:
                recent = (self.as_of - occurred).days < 60
                status = rng.choices(
                    ("open", "paid") if recent else ("paid", "closed", "rejected"),
                    weights=(65, 35) if recent else (55, 30, 15),
                )[0]
                amount = max(100_000, _round_krw(premium * min(rng.lognormvariate(-0.7, 0.7), 6.0)))
                paid = amount if status in ("paid", "closed") else 0
            claims.append(ClaimDraft(i, occurred, paid, status))
        claims.sort(key=lambda c: c.occurred_on)
        return claims

    def _phone(self, area: str | None) -> str:
        rng = self.rng
        while True:
            if area is None:
                raw = f"010-{rng.randint(2000, 9999)}-{rng.randint(0, 9999):04d}"
            elif area == "02":
                raw = f"02-{rng.randint(2000, 9999)}-{rng.randint(0, 9999):04d}"
            else:
                raw = f"{area}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
            e164 = normalise_phone(raw)
            # Some ranges (010-597x to 010-599x) are possible but never assigned: skip what is not valid.
            if e164 is not None and e164 not in self.phones_taken and is_valid_number(parse(e164)):
                self.phones_taken.add(e164)
                return e164

    def _unique_registration(self, make: Any) -> str:
        while True:
            raw: str = make()
            if raw not in self.registrations_taken:
                self.registrations_taken.add(raw)
                return raw

    def _company_name(self) -> str:
        for _ in range(20):
            name = korean_company_name(self.rng)
            if name not in self.company_names:
                break
        self.company_names.add(name)
        return name

    # -- writing --

    def _insert(self, drafts: list[_CustomerDraft]) -> None:
        conn = self.conn
        customer_rows = [
            {
                "kind": d.kind.value,
                "name": d.name,
                "org_unit_id": d.org_unit_id,
                "registration_hash": registration_hash(d.registration, key=self.secret_key),
                "registration_masked": registration_mask(d.registration),
                "segment": d.segment.value,
                "blacklisted": d.blacklist_reason is not None,
                "created_at": datetime.combine(min(p.start_date for p in d.policies), time(9), tzinfo=UTC),
            }
            for d in drafts
        ]
        customer_ids = conn.scalars(
            insert(Customer).returning(col(Customer.id), sort_by_parameter_order=True), customer_rows
        ).all()
        phone_rows: list[dict[str, Any]] = []
        policy_rows: list[dict[str, Any]] = []
        for d, customer_id in zip(drafts, customer_ids, strict=True):
            phone_rows += [{"customer_id": customer_id, "e164": e164, "label": label} for e164, label in d.phones]
            for p in d.policies:
                number = f"{LINE_CODES[p.line]}-{p.start_date.year}-{len(policy_rows) + 1:07d}"
                policy_rows.append(
                    {
                        "customer_id": customer_id,
                        "policy_number": number,
                        "line": p.line,
                        "premium": p.premium,
                        "start_date": p.start_date,
                        "end_date": p.end_date,
                    }
                )
        conn.execute(insert(CustomerPhone), phone_rows)
        policy_ids = conn.scalars(
            insert(Policy).returning(col(Policy.id), sort_by_parameter_order=True), policy_rows
        ).all()
        claim_rows: list[dict[str, Any]] = []
        blacklist_rows: list[dict[str, Any]] = []
        first_policy = 0
        for d, customer_id in zip(drafts, customer_ids, strict=True):
            for c in d.claims:
                claim_rows.append(
                    {
                        "customer_id": customer_id,
                        "policy_id": policy_ids[first_policy + c.policy],
                        "claim_number": f"CL-{c.occurred_on.year}-{len(claim_rows) + 1:07d}",
                        "occurred_on": c.occurred_on,
                        "paid_amount": c.paid_amount,
                        "status": c.status,
                        # Settled one to seven weeks after the loss (no draw from the rng: the data stay the same).
                        "closed_on": None
                        if c.status == "open"
                        else min(self.as_of, c.occurred_on + timedelta(days=7 + len(claim_rows) % 43)),
                    }
                )
            first_policy += len(d.policies)
            if d.blacklist_reason:
                # Listed by the branch's center manager, which is also the approval: these entries are in force.
                listed_at = datetime.combine(self.as_of - timedelta(days=30), time(9), tzinfo=UTC)
                blacklist_rows.append(
                    {
                        "customer_id": customer_id,
                        "reason": d.blacklist_reason,
                        "proposed_by_id": self.center_managers[d.org_unit_id],
                        "created_at": listed_at,
                        "approved_by_id": self.center_managers[d.org_unit_id],
                        "approved_at": listed_at,
                    }
                )
        if claim_rows:
            conn.execute(insert(Claim), claim_rows)
        if blacklist_rows:
            conn.execute(insert(BlacklistEntry), blacklist_rows)
