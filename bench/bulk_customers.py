"""Load a million customers (with phones, optionally policies and claims) into PostgreSQL with COPY, timed.

    python bench/bulk_customers.py --database-url postgresql://postgres@127.0.0.1:5432/hotline_bench \\
        --customers 1000000 [--policies-per-customer 3 --claims 2000000] [--reset]

Runs the migrations and the demo seed first (org tree, staff, the two demo callers), then streams the
bulk rows with COPY in one transaction while a second thread generates the next chunk. Writes
bench/results/phones.txt (a random sample of existing caller numbers, E.164, one a line) and
bench/results/phones_unknown.txt (numbers verified absent) for the lookup benchmarks.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import math
import os
import queue
import random
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import phonenumbers
import psycopg
from sqlalchemy.engine import make_url

from crm_store.customers.identity import registration_hash, registration_mask
from crm_store.customers.phones import normalise_phone
from crm_store.customers.tables import CustomerKind, Segment
from crm_store.db import make_engine
from crm_store.migrate import upgrade
from demo_seed.people import business_number, korean_company_name, korean_person_name, resident_number
from demo_seed.seed import (
    BLACKLIST_REASONS,
    LINE_CODES,
    LINE_WEIGHTS,
    PREMIUM_RANGES,
    ClaimDraft,
    PolicyDraft,
    demo_segment,
    seed_demo,
)

RESULTS = Path(__file__).resolve().parent / "results"
DEMO_CUSTOMERS = 1200
# Bulk policy and claim numbers count from here, apart from the demo's (AU-2025-10000001).
BULK_SERIAL_BASE = 10_000_000
DEFAULT_SECRET_KEY = "hotline-development-secret-key"  # workers.settings.DEV_SECRET_KEY

CUSTOMER_COLUMNS = (
    "id, kind, name, org_unit_id, registration_hash, registration_masked, segment, blacklisted, created_at"
)
PHONE_COLUMNS = "customer_id, e164, label"
POLICY_COLUMNS = "id, customer_id, policy_number, line, premium, start_date, end_date"
CLAIM_COLUMNS = "customer_id, policy_id, claim_number, occurred_on, paid_amount, status"
# Listed by the branch's center manager, who approves at once (only approved entries match).
BLACKLIST_COLUMNS = "customer_id, reason, proposed_by_id, created_at, approved_by_id, approved_at"


class PhoneSpace:
    """Distinct numbers under one prefix in a scrambled order: index i maps to low + (a*i + b) mod size."""

    def __init__(self, prefix: str, rng: random.Random, low: int = 20_000_000, high: int = 100_000_000) -> None:
        self.prefix, self.low, self.size = prefix, low, high - low
        self.a = rng.randrange(self.size // 3, self.size)
        while math.gcd(self.a, self.size) != 1:
            self.a += 1
        self.b = rng.randrange(self.size)
        self.next_index = 0
        # Blocks the numbering plan never assigns (010-597x to 010-599x): possible numbers, but not valid ones.
        self.unassigned = {
            block
            for block in range(low // 10_000, high // 10_000)
            if not phonenumbers.is_valid_number(phonenumbers.parse(f"{prefix}{block}1234"))
        }

    def take(self, taken: set[str]) -> str:
        """The next number not yet used, skipping numbers that were in the database before."""
        while True:
            subscriber = self.low + (self.a * self.next_index + self.b) % self.size
            self.next_index += 1
            e164 = f"{self.prefix}{subscriber}"
            if subscriber // 10_000 not in self.unassigned and e164 not in taken:
                return e164


@dataclass
class Chunk:
    customers: int
    customer_rows: str
    phone_rows: str
    policy_rows: str
    claim_rows: str
    blacklist_rows: str
    policies: int
    claims: int
    phones: int


@dataclass
class Plan:
    customers: int
    policies_per_customer: int
    claims: int
    chunk: int
    seed: int
    secret_key: str
    as_of: date
    customer_base: int
    policy_base: int
    units: list[tuple[int, str]]  # (org unit id, landline prefix) of city and county branches
    center_managers: dict[int, int]
    taken_phones: set[str]


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def claims_per_customer(rng: random.Random, customers: int, total: int) -> bytearray:
    """How many claims each customer gets: about half are claimants, skewed, summing exactly to `total`."""
    counts = bytearray(customers)
    if not total:
        return counts
    claimants = rng.sample(range(customers), min(customers, total, max(1, int(customers * 0.5))))
    if total > 20 * len(claimants):
        raise SystemExit(f"--claims {total:,} is more than 20 per claimant; load more customers")
    mean_extra = max(0.0, total / len(claimants) - 1)
    assigned = 0
    for i in claimants:
        # 1 + a geometric number of further claims: most have one or two, a few have many.
        extra = int(math.log(1 - rng.random()) / math.log(mean_extra / (1 + mean_extra))) if mean_extra else 0
        counts[i] = min(1 + extra, 20)
        assigned += counts[i]
    while assigned != total:
        i = claimants[rng.randrange(len(claimants))]
        if assigned < total and counts[i] < 20:
            counts[i] += 1
            assigned += 1
        elif assigned > total and counts[i] > 1:
            counts[i] -= 1
            assigned -= 1
    return counts


def generate(plan: Plan) -> Iterator[Chunk]:
    """The bulk rows, chunk by chunk, in COPY text format."""
    rng = random.Random(plan.seed)
    key = plan.secret_key.encode()
    spaces = {prefix: PhoneSpace(prefix, rng) for prefix in ("+8210", "+822", "+8231", "+8251", "+8255")}
    claim_counts = claims_per_customer(rng, plan.customers, plan.claims)
    if plan.claims and not plan.policies_per_customer:
        raise SystemExit("--claims needs --policies-per-customer of at least 1")
    as_of = plan.as_of
    window = 4 * 365
    policy_id, claim_serial = plan.policy_base, BULK_SERIAL_BASE
    lines = {kind: (list(w), list(w.values())) for kind, w in LINE_WEIGHTS.items()}
    for first in range(0, plan.customers, plan.chunk):
        customers: list[str] = []
        phones: list[str] = []
        policies: list[str] = []
        claims: list[str] = []
        blacklist: list[str] = []
        n_policies = n_claims = 0
        for k in range(first, min(first + plan.chunk, plan.customers)):
            customer_id = plan.customer_base + k + 1
            unit_id, area = plan.units[int(rng.random() * len(plan.units))]
            if rng.random() < 0.15:
                kind = CustomerKind.CORPORATE
                name = korean_company_name(rng)
                raw = business_number(rng)
                numbers = [(spaces[area].take(plan.taken_phones), "office")]
                if rng.random() < 0.4:
                    numbers.append((spaces["+8210"].take(plan.taken_phones), "mobile"))
            else:
                kind = CustomerKind.INDIVIDUAL
                born, male = as_of.year - rng.randint(20, 80), rng.random() < 0.5
                name = korean_person_name(rng, born=born, male=male)
                raw = resident_number(rng, birth=date(born, rng.randint(1, 12), rng.randint(1, 28)), male=male)
                numbers = [(spaces["+8210"].take(plan.taken_phones), "mobile")]
                if rng.random() < 0.5:
                    numbers.append(
                        (spaces[area].take(plan.taken_phones), "home")
                        if rng.random() < 0.4
                        else (spaces["+8210"].take(plan.taken_phones), "mobile")
                    )
            digits = raw.replace("-", "")
            reg_hash = hmac.new(key, b"reg:" + digits.encode(), hashlib.sha256).hexdigest()
            mask = f"{digits[:6]}-{digits[6]}******" if len(digits) == 13 else f"{digits[:3]}-**-*****"
            if k < 50:  # the fast path must agree with crm_store.customers.identity
                assert reg_hash == registration_hash(raw, key=plan.secret_key) and mask == registration_mask(raw)
            phones.extend(f"{customer_id}\t{e164}\t{label}\n" for e164, label in numbers)

            drafts: list[PolicyDraft] = []
            names, weights = lines[kind]
            main = rng.choices(names, weights=weights)[0]
            for j in range(plan.policies_per_customer):
                renewal = j > 0 and drafts[-1].end_date <= as_of and rng.random() < 0.6
                if renewal:  # the same line again from the day the last one ended
                    line, start = drafts[-1].line, drafts[-1].end_date
                    low, high = PREMIUM_RANGES[kind][line]
                    premium = min(high, max(low, int(round(drafts[-1].premium * rng.uniform(0.95, 1.08), -3))))
                else:
                    line = main if j == 0 else rng.choices(names, weights)[0]
                    start = as_of - timedelta(days=rng.randrange(window))
                    low, high = PREMIUM_RANGES[kind][line]
                    premium = int(round(rng.randint(low, high), -3))
                end = _years_later(start, 1)
                drafts.append(PolicyDraft(line, premium, start, end))
                policy_id += 1
                policies.append(
                    f"{policy_id}\t{customer_id}\t{LINE_CODES[line]}-{start.year}-{BULK_SERIAL_BASE + policy_id}"
                    f"\t{line}\t{premium}\t{start}\t{end}\n"
                )
            first_policy_id = policy_id - len(drafts)

            claim_drafts: list[ClaimDraft] = []
            for _ in range(claim_counts[k]):
                i = int(rng.random() * len(drafts))
                p = drafts[i]
                span = max(1, (min(p.end_date, as_of) - p.start_date).days)
                occurred = p.start_date + timedelta(days=int(rng.random() * span))
                if (as_of - occurred).days < 90:
                    status = "open" if rng.random() < 0.6 else "paid"
                else:
                    status = rng.choices(("paid", "closed", "rejected"), cum_weights=(55, 85, 100))[0]
                paid = int(round(p.premium * min(rng.lognormvariate(-0.7, 0.8), 12.0), -3))
                paid = paid if status in ("paid", "closed") else 0
                claim_drafts.append(ClaimDraft(i, occurred, paid, status))
                claim_serial += 1
                claims.append(
                    f"{customer_id}\t{first_policy_id + i + 1}\tCL-{occurred.year}-{claim_serial}"
                    f"\t{occurred}\t{paid}\t{status}\n"
                )

            blacklisted = rng.random() < 0.01
            if drafts:
                segment = demo_segment(kind, drafts, claim_drafts, as_of=as_of, blacklisted=blacklisted)
                since = min(p.start_date for p in drafts)
            else:
                roll = rng.random()
                segment = (
                    Segment.INFERIOR
                    if blacklisted or roll < 0.07
                    else Segment.KEY
                    if kind is CustomerKind.CORPORATE and roll < 0.3
                    else Segment.QUALITY
                    if roll < 0.25
                    else Segment.ORDINARY
                )
                since = as_of - timedelta(days=rng.randrange(window))
            if blacklisted:
                reason = BLACKLIST_REASONS[int(rng.random() * len(BLACKLIST_REASONS))]
                manager = plan.center_managers[unit_id]
                at = f"{as_of} 09:00:00+00"
                blacklist.append(f"{customer_id}\t{reason}\t{manager}\t{at}\t{manager}\t{at}\n")
            customers.append(
                f"{customer_id}\t{kind.value}\t{name}\t{unit_id}\t{reg_hash}\t{mask}\t{segment.value}"
                f"\t{'t' if blacklisted else 'f'}\t{since} 09:00:00+00\n"
            )
            n_policies += len(drafts)
            n_claims += len(claim_drafts)
        yield Chunk(
            len(customers),
            "".join(customers),
            "".join(phones),
            "".join(policies),
            "".join(claims),
            "".join(blacklist),
            n_policies,
            n_claims,
            len(phones),
        )


def _prefetch(chunks: Iterator[Chunk], depth: int = 3) -> Iterator[Chunk]:
    """Generate the next chunks in a thread while the current one is being copied."""
    buffer: queue.Queue[Chunk | BaseException | None] = queue.Queue(maxsize=depth)

    def produce() -> None:
        try:
            for chunk in chunks:
                buffer.put(chunk)
            buffer.put(None)
        except BaseException as err:  # handed to the consumer, which re-raises it
            buffer.put(err)

    threading.Thread(target=produce, name="generate", daemon=True).start()
    while (item := buffer.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


def _reserve_ids(conn: psycopg.Connection, table: str, how_many: int) -> int:
    """Move the table's id sequence past a block of `how_many` ids and return the id before the block."""
    seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()[0]  # type: ignore[index]
    top = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]  # type: ignore[index]
    last, called = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()  # type: ignore[misc]
    base = max(top, last if called else last - 1)
    if how_many:
        conn.execute("SELECT setval(%s, %s)", (seq, base + how_many))
    return int(base)


def _copy(conn: psycopg.Connection, table: str, columns: str, data: str) -> None:
    if data:
        with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(data)


def _write_samples(conn: psycopg.Connection, plan_rng: random.Random, sample: int) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    conn.execute("SELECT setseed(0.20261125)")
    known = [row[0] for row in conn.execute("SELECT e164 FROM customer_phone ORDER BY random() LIMIT %s", (sample,))]
    known_path = RESULTS / "phones.txt"
    known_path.write_text("\n".join(known) + "\n", encoding="ascii")
    # Unknown numbers: well-formed Korean mobiles checked against the table, for "no customer" lookups.
    unknown: list[str] = []
    while len(unknown) < max(1, sample // 10):
        candidates = [f"+8210{plan_rng.randrange(20_000_000, 100_000_000)}" for _ in range(sample)]
        present = {
            row[0] for row in conn.execute("SELECT e164 FROM customer_phone WHERE e164 = ANY(%s)", (candidates,))
        }
        unknown += [
            c
            for c in dict.fromkeys(candidates)
            if c not in present and normalise_phone(c) == c and phonenumbers.is_valid_number(phonenumbers.parse(c))
        ]
    unknown_path = RESULTS / "phones_unknown.txt"
    unknown_path.write_text("\n".join(unknown[: max(1, sample // 10)]) + "\n", encoding="ascii")
    return known_path, unknown_path


def main(argv: list[str] | None = None) -> int:
    """Run the bulk load and print its timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), required="DATABASE_URL" not in os.environ
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--policies-per-customer", type=int, default=0)
    parser.add_argument("--claims", type=int, default=0, help="total claims, spread over about half the customers")
    parser.add_argument("--chunk", type=int, default=20_000, help="customers per generated chunk")
    parser.add_argument("--seed", type=int, default=1_000_003)
    parser.add_argument("--secret-key", default=os.environ.get("HOTLINE_SECRET_KEY", DEFAULT_SECRET_KEY))
    parser.add_argument("--sample", type=int, default=10_000, help="caller numbers written to results/phones.txt")
    parser.add_argument("--reset", action="store_true", help="empty the organisation and customer tables first")
    args = parser.parse_args(argv)
    if make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("the bulk load uses PostgreSQL COPY: give a postgresql:// URL")

    started = time.perf_counter()
    upgrade(args.database_url)
    with psycopg.connect(_libpq_url(args.database_url), autocommit=True) as conn:
        if args.reset:
            conn.execute("TRUNCATE org_unit RESTART IDENTITY CASCADE")
    engine = make_engine(args.database_url)
    try:
        demo = seed_demo(engine, secret_key=args.secret_key, customers=DEMO_CUSTOMERS)
    finally:
        engine.dispose()
    prepared = time.perf_counter()
    print(f"migrations and demo seed: {prepared - started:.1f} s ({demo.customers:,} customers present)")
    if demo.customers > DEMO_CUSTOMERS:
        print(
            f"the database already holds {demo.customers:,} customers; run again with --reset to reload",
            file=sys.stderr,
        )
        return 1

    with psycopg.connect(_libpq_url(args.database_url)) as conn:
        units = [
            (uid, code) for uid, code in conn.execute("SELECT id, code FROM org_unit WHERE level IN (2, 3) ORDER BY id")
        ]
        area = {"SEOUL": "+822", "GYEONGGI": "+8231", "BUSAN-CHANGWON": "+8255", "BUSAN": "+8251"}
        plan_units = [(uid, next(v for k, v in area.items() if code.startswith(k))) for uid, code in units]
        center_managers: dict[int, int] = dict(
            conn.execute(
                "SELECT org_unit_id, min(id) FROM staff WHERE role = 'center_manager' GROUP BY org_unit_id"
            ).fetchall()
        )
        taken = {row[0] for row in conn.execute("SELECT e164 FROM customer_phone")}
        policy_count = args.customers * args.policies_per_customer
        plan = Plan(
            customers=args.customers,
            policies_per_customer=args.policies_per_customer,
            claims=args.claims,
            chunk=args.chunk,
            seed=args.seed,
            secret_key=args.secret_key,
            as_of=date.today(),
            customer_base=_reserve_ids(conn, "customer", args.customers),
            policy_base=_reserve_ids(conn, "policy", policy_count),
            units=plan_units,
            center_managers=center_managers,
            taken_phones=taken,
        )
        conn.commit()  # the reserved id blocks hold whatever happens to the load

        totals = {"customers": 0, "phones": 0, "policies": 0, "claims": 0}
        seconds = {"customer": 0.0, "customer_phone": 0.0, "policy": 0.0, "claim": 0.0}
        with conn.transaction():
            for chunk in _prefetch(generate(plan)):
                for table, columns, data in (
                    ("customer", CUSTOMER_COLUMNS, chunk.customer_rows),
                    ("customer_phone", PHONE_COLUMNS, chunk.phone_rows),
                    ("policy", POLICY_COLUMNS, chunk.policy_rows),
                    ("claim", CLAIM_COLUMNS, chunk.claim_rows),
                    ("blacklist_entry", BLACKLIST_COLUMNS, chunk.blacklist_rows),
                ):
                    t = time.perf_counter()
                    _copy(conn, table, columns, data)
                    seconds[table] = seconds.get(table, 0.0) + time.perf_counter() - t
                totals["customers"] += chunk.customers
                totals["phones"] += chunk.phones
                totals["policies"] += chunk.policies
                totals["claims"] += chunk.claims
                if totals["customers"] % (10 * args.chunk) == 0:
                    print(
                        f"  {totals['customers']:>10,} customers, {time.perf_counter() - prepared:6.1f} s", flush=True
                    )
        loaded = time.perf_counter()
        conn.autocommit = True
        conn.execute("ANALYZE customer, customer_phone, policy, claim, blacklist_entry")
        analysed = time.perf_counter()
        known_path, unknown_path = _write_samples(conn, random.Random(args.seed + 1), args.sample)
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]  # type: ignore[index]

    load = loaded - prepared
    print(
        f"loaded {totals['customers']:,} customers, {totals['phones']:,} phones, {totals['policies']:,} policies, "
        f"{totals['claims']:,} claims in {load:.1f} s ({totals['customers'] / load:,.0f} customers/s)"
    )
    print("  time waiting on COPY per table: " + ", ".join(f"{t} {s:.1f} s" for t, s in seconds.items()))
    print(
        f"ANALYZE: {analysed - loaded:.1f} s; total with migrations and seed: {analysed - started:.1f} s; "
        f"database size {size}"
    )
    print(f"wrote {known_path} and {unknown_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
