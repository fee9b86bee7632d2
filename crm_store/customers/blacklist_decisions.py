"""Blacklist decisions and oversight: proposals, approval by a center manager, revocation, and the listing center
managers review.

An entry is a proposal until a center manager (or an administrator) whose scope holds the listed customer approves
it; a center manager's own listing is approved at once. Only approved, unrevoked entries match anywhere (customer
picture, incoming calls, segments: `crm_store.customers.blacklist.in_force`), and approval does at once everything a
listing implies: the listed customer's flag, the event to the account manager, the segments of every customer the entry
matches company-wide. A center manager revokes an entry (a pending one: rejects the proposal) with a reason; who and
why are in the audit trail, in the listed customer's trail. Entries in force past their review date are listed with
`review_due` (`GET /api/v1/blacklist?state=review_due`). Events name the entry, never its graded reason.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field as PField
from pydantic import field_validator
from sqlalchemy.orm import aliased
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import AuditEntry, record_change, record_read
from crm_store.customers.blacklist import (
    APPROVERS,
    BlacklistCreate,
    customers_matching_entry,
    in_force,
    keys_of_customer,
)
from crm_store.customers.events import add_event
from crm_store.customers.rules import Rules
from crm_store.customers.segments import recompute_customer
from crm_store.customers.tables import AlertLevel, BlacklistEntry, BlacklistKey, Customer
from crm_store.errors import CustomerNotFound, NotFound
from crm_store.org.clearance import mask_fields
from crm_store.org.scope import SUPERVISORS, Viewer, customer_in_scope
from crm_store.org.tables import OrgUnit, Staff
from crm_store.paging import newest_first
from crm_store.types import TWO_CHARACTERS, Answer, Day, Input, Moment, utcnow
from crm_store.validation import Conflict, NotAllowed, readable_reason


class BlacklistRevoke(Input):
    """POST /api/v1/blacklist/{id}/revoke: why the listing is lifted (or the proposal rejected)."""

    reason: str = Field(
        schema_extra=TWO_CHARACTERS,
        min_length=2,
        max_length=500,
        description="why the listing is lifted or the proposal rejected",
    )

    _reason = field_validator("reason")(readable_reason)


async def list_customer(
    session: AsyncSession, viewer: Viewer, data: BlacklistCreate, *, rules: Rules, as_of: date
) -> BlacklistEntry:
    """Propose listing a customer the viewer can see; a center manager's (or administrator's) listing is approved
    at once, anyone else's waits for one (and matches nothing meanwhile)."""
    customer = (
        await session.exec(select(Customer).where(col(Customer.id) == data.customer_id, customer_in_scope(viewer)))
    ).first()
    if customer is None:
        raise CustomerNotFound(f"no customer {data.customer_id}")
    listed = data.model_dump(include={"customer_id", "reason", "evidence", "review_on"})
    entry = BlacklistEntry(**listed, proposed_by_id=viewer.staff_id, created_at=utcnow())
    session.add(entry)
    await session.flush()
    assert entry.id is not None
    keys = {(kind, value) for kind, value in (await session.exec(keys_of_customer(data.customer_id))).all()}
    keys |= {("phone", p) for p in data.phones} | {("plate", p) for p in data.plates}
    for kind, value in sorted(keys):
        session.add(BlacklistKey(entry_id=entry.id, kind=kind, value=value))
    _audit(session, viewer, entry, customer, "blacklist_propose", {"approved_at_once": viewer.role in APPROVERS})
    if viewer.role in APPROVERS:
        await _approve(session, viewer, entry, customer, rules=rules, as_of=as_of)
    return entry


async def _decidable(session: AsyncSession, viewer: Viewer, entry_id: int) -> tuple[BlacklistEntry, Customer]:
    """The entry and its listed customer, if the customer is in the viewer's scope and the viewer decides."""
    row = (
        await session.exec(
            select(BlacklistEntry, Customer)
            .join(Customer, col(Customer.id) == col(BlacklistEntry.customer_id))
            .where(col(BlacklistEntry.id) == entry_id, customer_in_scope(viewer))
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound(f"no blacklist entry {entry_id}")
    if viewer.role not in APPROVERS:
        raise NotAllowed("only a center manager approves or revokes blacklist entries")
    return row[0], row[1]


async def entry_to_decide(session: AsyncSession, viewer: Viewer, entry_id: int) -> BlacklistEntry:
    """NotFound outside the viewer's scope, NotAllowed unless a center manager (or administrator): checked before
    a revocation's reason is read, as for an approval."""
    return (await _decidable(session, viewer, entry_id))[0]


async def approve_entry(
    session: AsyncSession, viewer: Viewer, entry_id: int, *, rules: Rules, as_of: date
) -> BlacklistEntry:
    """A center manager (or administrator) whose scope holds the listed customer approves the proposal: from now
    on it matches company-wide. Approving an approved entry changes nothing; a revoked one cannot be approved."""
    entry, customer = await _decidable(session, viewer, entry_id)
    if entry.revoked_at is not None:
        raise Conflict({"entry_id": "the entry was revoked; propose the listing again"}, "entry revoked")
    if entry.approved_at is None:
        await _approve(session, viewer, entry, customer, rules=rules, as_of=as_of)
    return entry


async def _approve(
    session: AsyncSession, viewer: Viewer, entry: BlacklistEntry, customer: Customer, *, rules: Rules, as_of: date
) -> None:
    """What approval does at once: the entry in force, the customer flagged, the manager told, segments redecided."""
    assert entry.id is not None
    entry.approved_by_id, entry.approved_at = viewer.staff_id, utcnow()
    session.add(entry)
    customer.blacklisted = True
    session.add(customer)
    if entry.proposed_by_id != viewer.staff_id:
        _audit(session, viewer, entry, customer, "blacklist_approve", {})
    # The graded reason stays on the entry (masked by clearance where it is shown); the event names the entry.
    await _tell_and_resegment(
        session,
        viewer,
        entry,
        "blacklisted",
        AlertLevel.CRITICAL,
        f"블랙리스트 등재 승인 (건 #{entry.id})",
        rules,
        as_of,
    )


async def revoke_entry(
    session: AsyncSession, viewer: Viewer, entry_id: int, data: BlacklistRevoke, *, rules: Rules, as_of: date
) -> BlacklistEntry:
    """A center manager (or administrator) whose scope holds the listed customer lifts the entry (or rejects the
    proposal): it matches nothing from now on, the flag goes unless another entry of the customer is in force,
    segments are redecided, the manager is told; who and why are in the audit trail."""
    entry, customer = await _decidable(session, viewer, entry_id)
    if entry.revoked_at is not None:
        raise Conflict({"entry_id": "the entry is already revoked"}, "entry already revoked")
    was_in_force = entry.approved_at is not None
    entry.revoked_at = utcnow()
    session.add(entry)
    _audit(
        session,
        viewer,
        entry,
        customer,
        "blacklist_revoke",
        {"revocation_reason": data.reason, "was": "approved" if was_in_force else "pending"},
    )
    if not was_in_force:
        return entry
    await session.flush()
    others = select(col(BlacklistEntry.id)).where(
        col(BlacklistEntry.customer_id) == entry.customer_id, in_force(BlacklistEntry)
    )
    customer.blacklisted = (await session.exec(others)).first() is not None
    session.add(customer)
    await _tell_and_resegment(
        session, viewer, entry, "blacklist_revoked", AlertLevel.INFO, f"블랙리스트 해제 (건 #{entry.id})", rules, as_of
    )
    return entry


async def _tell_and_resegment(
    session: AsyncSession,
    viewer: Viewer,
    entry: BlacklistEntry,
    kind: str,
    level: AlertLevel,
    reason: str,
    rules: Rules,
    as_of: date,
) -> None:
    """Tell the listed customer's manager (an event), then redecide the listed customer and every customer the
    entry's keys match, company-wide."""
    assert entry.id is not None
    await add_event(session, entry.customer_id, kind=kind, level=level, reason=reason)
    await session.flush()
    matched = {int(c) for (c,) in (await session.exec(customers_matching_entry(entry.id))).all()}
    for customer_id in sorted(matched | {entry.customer_id}):
        await recompute_customer(session, customer_id, rules=rules, as_of=as_of, changed_by=viewer.username)


def _audit(
    session: AsyncSession,
    viewer: Viewer,
    entry: BlacklistEntry,
    customer: Customer,
    action: str,
    detail: dict[str, Any],
) -> None:
    """A change of the blacklist in the audit trail, in the listed customer's trail (never the graded reason)."""
    record_change(
        session,
        viewer,
        action=action,
        target=f"blacklist_entry:{entry.id}",
        org_unit_id=customer.org_unit_id,
        customer_id=customer.id,
        detail={"entry_id": entry.id, "customer_id": customer.id, **detail},
    )


# -- what center managers see ------------------------------------------------------------------------------------
STATES = ("open", "pending", "in_force", "review_due", "revoked", "all")
REVOKE = "blacklist_revoke"


def entry_state(entry: BlacklistEntry) -> str:
    """pending (a proposal), in_force (approved, matching) or revoked."""
    if entry.revoked_at is not None:
        return "revoked"
    return "in_force" if entry.approved_at is not None else "pending"


def review_due(entry: BlacklistEntry, as_of: date) -> bool:
    """An entry in force whose review date has come."""
    return entry_state(entry) == "in_force" and entry.review_on is not None and entry.review_on <= as_of


def entry_public(entry: BlacklistEntry, viewer: Viewer, *, as_of: date, **extra: Any) -> BlacklistEntryPublic:
    """An entry as the API shows it to this viewer: the graded reason and evidence masked by clearance."""
    body = {
        "id": entry.id,
        "customer_id": entry.customer_id,
        "reason": entry.reason,
        "evidence": entry.evidence,
        "state": entry_state(entry),
        "approved": entry.approved_at is not None,
        "approved_at": entry.approved_at.isoformat() if entry.approved_at else None,
        "review_on": entry.review_on.isoformat() if entry.review_on else None,
        "review_due": review_due(entry, as_of),
        "created_at": entry.created_at.isoformat(),
        "revoked_at": entry.revoked_at.isoformat() if entry.revoked_at else None,
        **extra,
    }
    return (BlacklistListing if extra else BlacklistEntryPublic).model_validate(
        mask_fields(viewer, "blacklist_entry", body)
    )


def entries_query(
    viewer: Viewer, *, state: str, as_of: date, customer_id: int | None, limit: int, before_id: int | None
) -> Any:
    """Entries whose listed customer is in the viewer's scope, newest first, with who proposed and approved."""
    entry, proposer, approver = BlacklistEntry, aliased(Staff), aliased(Staff)
    query = (
        select(entry, Customer.name, Customer.org_unit_id, OrgUnit.name, proposer.username, approver.username)  # type: ignore[call-overload]
        .join(Customer, col(Customer.id) == col(entry.customer_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Customer.org_unit_id))
        .outerjoin(proposer, col(proposer.id) == col(entry.proposed_by_id))
        .outerjoin(approver, col(approver.id) == col(entry.approved_by_id))
        .where(customer_in_scope(viewer))
    )
    pending = col(entry.approved_at).is_(None) & col(entry.revoked_at).is_(None)
    wanted = {
        "open": col(entry.revoked_at).is_(None),
        "pending": pending,
        "in_force": in_force(entry),
        "review_due": in_force(entry) & (col(entry.review_on) <= as_of),
        "revoked": col(entry.revoked_at).is_not(None),
    }
    if state in wanted:
        query = query.where(wanted[state])
    if customer_id is not None:
        query = query.where(col(entry.customer_id) == customer_id)
    return newest_first(query, entry.id, before_id=before_id, limit=limit)


async def list_entries(
    session: AsyncSession,
    viewer: Viewer,
    *,
    as_of: date,
    state: str = "open",
    customer_id: int | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[BlacklistEntryPublic]:
    """The entries of the viewer's part of the organisation for center managers (and executives): proposals to
    decide, entries in force with `review_due` once their review date has come, revoked ones with who and why.
    Each customer shown is an audited read."""
    if viewer.role not in SUPERVISORS:
        raise NotAllowed("the blacklist is listed by center managers, executives and administrators")
    if state not in STATES:
        raise ValueError(state)
    rows = (
        await session.exec(
            entries_query(viewer, state=state, as_of=as_of, customer_id=customer_id, limit=limit, before_id=before_id)
        )
    ).all()
    targets = [f"blacklist_entry:{e.id}" for e, *_ in rows if e.revoked_at is not None]
    revocations: dict[str, tuple[str, Any]] = {}
    if targets:
        for target, username, detail in (
            await session.exec(
                select(col(AuditEntry.target), col(AuditEntry.username), col(AuditEntry.detail)).where(
                    col(AuditEntry.action) == REVOKE, col(AuditEntry.target).in_(targets)
                )
            )
        ).all():
            revocations[str(target)] = (username, (detail or {}).get("revocation_reason"))
    items = []
    for entry, name, unit_id, unit_name, proposed_by, approved_by in rows:
        revoked_by, why = revocations.get(f"blacklist_entry:{entry.id}", (None, None))
        items.append(
            entry_public(
                entry,
                viewer,
                as_of=as_of,
                customer_name=name,
                org_unit_id=unit_id,
                org_unit_name=unit_name,
                proposed_by=proposed_by,
                approved_by=approved_by,
                revoked_by=revoked_by,
                revocation_reason=why,
            )
        )
    for listed in sorted({e.customer_id for e, *_ in rows}):
        record_read(session, viewer, customer_id=listed, fields=["blacklist"], purpose="blacklist")
    return items


# -- wire models -------------------------------------------------------------------------------------


class BlacklistEntryPublic(Answer):
    """A blacklist entry as the API shows it to a viewer: the graded reason and evidence masked by clearance."""

    id: int = PField(description="the entry's id")
    customer_id: int = PField(description="the listed customer")
    reason: str = PField(description="why the customer is listed; masked below its confidentiality grade")
    evidence: str | None = PField(description="what supports it; masked below its confidentiality grade")
    state: Literal["pending", "in_force", "revoked"] = PField(
        description="a proposal matches nothing until a center manager approves it"
    )
    approved: bool = PField(description="a center manager approved it")
    approved_at: Moment | None = PField(description="when it was approved (UTC)")
    review_on: Day | None = PField(description="when the listing is to be reviewed")
    review_due: bool = PField(description="in force and its review date has come")
    created_at: Moment = PField(description="when it was proposed (UTC)")
    revoked_at: Moment | None = PField(description="when it was revoked or rejected (UTC)")
    masked_fields: list[str] = PField(description="fields hidden from the viewer's clearance")


class BlacklistListing(BlacklistEntryPublic):
    """An entry in the listing of GET /api/v1/blacklist, with its customer and who decided."""

    customer_name: str = PField(description="the listed customer's name")
    org_unit_id: int = PField(description="the listed customer's unit")
    org_unit_name: str = PField(description="the name of that unit")
    proposed_by: str | None = PField(description="username of the proposer")
    approved_by: str | None = PField(description="username of the approver")
    revoked_by: str | None = PField(description="username of who revoked it")
    revocation_reason: str | None = PField(description="why it was revoked; masked like reason")


class BlacklistPage(Answer):
    """GET /api/v1/blacklist."""

    items: list[BlacklistListing] = PField(description="entries of the viewer's part of the organisation")
    next: str | None = PField(description="the next page's address; null on the last page")
