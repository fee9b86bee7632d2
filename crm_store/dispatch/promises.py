"""The promise a request carries: minutes to reach the scene by kind and region, shorter for customers entitled
to the fast service of their segment (crm_store/customers/rules.json); and the timers against it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.picture import entitlements_for
from crm_store.customers.rules import Rules
from crm_store.customers.tables import Customer, CustomerKind, Policy, Segment
from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.tables import DispatchRequest

REGION_LABELS = {"city": "시 지역", "county": "군 지역"}
KIND_LABELS = {"survey": "현장 조사", "tow": "견인", "rescue": "긴급 출동"}
# States in which the promise still runs: nobody has reached the scene yet.
RUNNING = frozenset({"open", "assigned", "accepted", "en_route"})
CLOSED = frozenset({"done", "cancelled"})


@dataclass(frozen=True)
class Promise:
    """Minutes to reach the scene, and why (Korean)."""

    minutes: int
    reason: str


def region_of_level(level: int | None) -> str:
    """`county` for a county branch's area (level 3), `city` for everything above it or unknown."""
    return "county" if level == 3 else "city"


def promise_for(config: DispatchConfig, *, kind: str, region: str, services: frozenset[str] | set[str]) -> Promise:
    """The promise of a request of `kind` in `region` for a customer entitled to `services` (entitlement codes)."""
    normal = config.promises[kind].of(region)
    base = f"{KIND_LABELS[kind]} {REGION_LABELS[region]} {normal}분"
    fast = config.fast.get(kind)
    if fast is not None and fast.service in services:
        return Promise(fast.of(region), f"{KIND_LABELS[kind]} {REGION_LABELS[region]} {fast.of(region)}분 (우대 고객)")
    return Promise(normal, base)


async def customer_services(session: AsyncSession, rules: Rules, customer_id: int, *, as_of: date) -> frozenset[str]:
    """The entitlement codes of a customer today: by segment, kind and the lines of the policies in force."""
    customer = await session.get(Customer, customer_id)
    if customer is None:
        return frozenset()
    lines = await session.exec(
        select(col(Policy.line))
        .where(col(Policy.customer_id) == customer_id)
        .where(col(Policy.start_date) <= as_of, col(Policy.end_date) >= as_of)
    )
    codes = entitlements_for(rules, Segment(customer.segment), CustomerKind(customer.kind), set(lines.all()))
    return frozenset(c["code"] for c in codes)


def time_left(request: DispatchRequest, now: datetime) -> timedelta | None:
    """Time left until the promise is due (negative once missed); None when it no longer runs or has no due time."""
    if request.due_at is None or request.state not in RUNNING:
        return None
    return request.due_at - now


def is_late(request: DispatchRequest, now: datetime) -> bool:
    """True when the promise was missed: nobody on site by the due time (arrival after it counts too)."""
    if request.due_at is None or request.state in ("draft", "cancelled"):
        return False
    arrived = request.on_site_at
    if arrived is not None:
        return arrived > request.due_at
    if request.state == "done":
        return False
    return now > request.due_at


def urgency(request: DispatchRequest, now: datetime, config: DispatchConfig) -> str:
    """The board's colour: `late` (red), `soon` (less than the configured share of the promise left), `ok`, or
    `closed` once someone is on site, the request is done or cancelled."""
    if request.state == "draft":
        return "ok"
    left = time_left(request, now)
    if left is None:
        return "late" if is_late(request, now) and request.state not in CLOSED else "closed"
    if left < timedelta(0):
        return "late"
    promised = timedelta(minutes=request.promise_minutes or 0)
    return "soon" if left <= promised * config.soon_share else "ok"


def minutes_text(delta: timedelta) -> str:
    """A duration as the board shows it: "12분 남음", or "5분 지연" once missed."""
    minutes = int(abs(delta.total_seconds()) // 60)
    return f"{minutes}분 남음" if delta >= timedelta(0) else f"{minutes}분 지연"
