"""The customer lists of the reports: quality, key and inferior customers (their segment now), the new entrants and
leavers of a segment in a month (from the segment history), and the customers with alerts raised in a month; of a
unit in the viewer's scope (their own by default) and the units below it.

Every row is masked by the viewer's clearance like the customer picture (`crm_store.org.clearance`, document
`customer`: the registration number, a blacklist alert's reason), and every export is in the audit trail: one line
for the export (which list, unit, month, format, how many rows) and one read per customer listed, in the customer's
own trail."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field
from sqlalchemy import insert
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry, record_change
from crm_store.customers.tables import Customer, CustomerEvent, CustomerStats, Segment, SegmentChange
from crm_store.org.clearance import mask_fields
from crm_store.org.scope import Viewer
from crm_store.org.tables import OrgUnit
from crm_store.reports.monthly import report_unit
from crm_store.reports.rollup import month_bounds, month_start
from crm_store.types import Answer

# At most this many customers in one list (a page shows the first 200; an export all of them up to this).
MAX_ROWS = 5000
EXPORTED = "customer_list.exported"


class ListKind(StrEnum):
    QUALITY = "quality"
    KEY = "key"
    INFERIOR = "inferior"
    ENTERED = "entered"  # entered `segment` in the month
    LEFT = "left"  # left `segment` in the month
    ALERTS = "alerts"  # alerts raised in the month


class ListedCustomer(Answer):
    customer_id: int = Field(description="the customer's id")
    name: str = Field(description="the customer's name")
    kind: str = Field(description="individual or corporate")
    registration_number: str | None = Field(description="masked below its grade")
    segment: str = Field(description="quality, key, ordinary or inferior (now)")
    org_unit_name: str = Field(description="the customer's unit")
    premium_total: int = Field(description="premium of the customer's policies (won)")
    claim_count: int = Field(description="claims filed")
    paid_total: int = Field(description="claims paid (won)")
    loss_ratio: float | None = Field(description="paid / premium, null without premium")
    detail: str = Field(description="the segment change or the alerts of the month (a graded reason masked)")
    masked_fields: list[str] = Field(description="the fields hidden below the viewer's clearance")


class CustomerList(Answer):
    kind: ListKind = Field(description="quality, key, inferior, entered, left or alerts")
    segment: str | None = Field(description="the segment entered or left (lists entered and left), else null")
    month: str = Field(description="YYYY-MM: the month of the entrants, leavers or alerts")
    org_unit_id: int = Field(description="the unit listed, with the units below it")
    org_unit_name: str = Field(description="its name")
    total: int = Field(description="customers in the list (the rows stop at the limit asked)")
    rows: list[ListedCustomer] = Field(description="highest premium first, masked by the viewer's clearance")


def _query(kind: ListKind, segment: str | None, unit: OrgUnit, month: date) -> Any:
    start, end = month_bounds(month)
    subtree = select(col(OrgUnit.id)).where(col(OrgUnit.path).startswith(unit.path, autoescape=True))
    query = (
        select(Customer, CustomerStats, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == col(Customer.org_unit_id))
        .outerjoin(CustomerStats, col(CustomerStats.customer_id) == col(Customer.id))
        .where(col(Customer.org_unit_id).in_(subtree))
    )
    if kind in (ListKind.QUALITY, ListKind.KEY, ListKind.INFERIOR):
        return query.where(col(Customer.segment) == kind.value)
    if kind is ListKind.ALERTS:
        raised = select(col(CustomerEvent.customer_id)).where(
            col(CustomerEvent.created_at) >= start, col(CustomerEvent.created_at) < end
        )
        return query.where(col(Customer.id).in_(raised))
    wanted = Segment(segment or Segment.QUALITY.value).value
    moved = col(SegmentChange.new_segment) == wanted
    if kind is ListKind.LEFT:
        moved = (col(SegmentChange.old_segment) == wanted) & (col(SegmentChange.new_segment) != wanted)
    changed = select(col(SegmentChange.customer_id)).where(
        col(SegmentChange.changed_at) >= start, col(SegmentChange.changed_at) < end, moved
    )
    return query.where(col(Customer.id).in_(changed))


def _details(session: Session, kind: ListKind, ids: list[int], month: date) -> dict[int, dict[str, Any]]:
    """Per customer, what the row says of the month: its segment changes, or its alerts (kind and reason)."""
    start, end = month_bounds(month)
    found: dict[int, dict[str, Any]] = {}
    if kind in (ListKind.ENTERED, ListKind.LEFT):
        for change in session.exec(
            select(SegmentChange)
            .where(col(SegmentChange.customer_id).in_(ids), col(SegmentChange.changed_at) >= start)
            .where(col(SegmentChange.changed_at) < end)
            .order_by(col(SegmentChange.changed_at))
        ).all():
            found.setdefault(change.customer_id, {"changes": []})["changes"].append(
                f"{change.old_segment or '-'}→{change.new_segment}: {change.reason}"
            )
    if kind is ListKind.ALERTS:
        for event in session.exec(
            select(CustomerEvent)
            .where(col(CustomerEvent.customer_id).in_(ids), col(CustomerEvent.created_at) >= start)
            .where(col(CustomerEvent.created_at) < end)
            .order_by(col(CustomerEvent.created_at))
        ).all():
            found.setdefault(event.customer_id, {"alerts": []})["alerts"].append(
                {"kind": event.kind, "reason": event.reason}
            )
    return found


def customer_list(
    session: Session,
    viewer: Viewer,
    kind: ListKind,
    *,
    month: date,
    unit_id: int | None = None,
    segment: str | None = None,
    limit: int = MAX_ROWS,
) -> CustomerList:
    """The list of a unit in the viewer's scope (NotAllowed for roles that read no reports, UnitNotFound outside),
    each row masked by the viewer's clearance; highest premium first."""
    unit = report_unit(session, viewer, unit_id)
    assert unit.id is not None
    month = month_start(month)
    query = _query(kind, segment, unit, month)
    total = len(session.exec(query.with_only_columns(col(Customer.id)).limit(MAX_ROWS)).all())
    rows = session.exec(
        query.order_by(col(CustomerStats.premium_total).desc().nulls_last(), col(Customer.id)).limit(
            min(limit, MAX_ROWS)
        )
    ).all()
    details = _details(session, kind, [int(c.id) for c, _s, _u in rows], month)  # type: ignore[arg-type]
    listed = []
    for customer, stats, unit_of in rows:
        assert customer.id is not None
        extra = details.get(customer.id, {})
        shown = mask_fields(
            viewer,
            "customer",
            {"registration_number": customer.registration_masked, "alerts": extra.get("alerts", [])},
        )
        premium, paid = (stats.premium_total, stats.paid_total) if stats else (0, 0)
        words = extra.get("changes") or [f"{a['kind']}: {a['reason']}" for a in shown["alerts"]]
        listed.append(
            ListedCustomer(
                customer_id=customer.id,
                name=customer.name,
                kind=customer.kind,
                registration_number=shown["registration_number"],
                segment=customer.segment,
                org_unit_name=unit_of.name,
                premium_total=premium,
                claim_count=stats.claim_count if stats else 0,
                paid_total=paid,
                loss_ratio=round(paid / premium, 4) if premium else None,
                detail=" / ".join(words),
                masked_fields=shown["masked_fields"],
            )
        )
    return CustomerList(
        kind=kind,
        segment=segment if kind in (ListKind.ENTERED, ListKind.LEFT) else None,
        month=month.strftime("%Y-%m"),
        org_unit_id=unit.id,
        org_unit_name=unit.name,
        total=total,
        rows=listed,
    )


def record_export(session: Session, viewer: Viewer, listed: CustomerList, fmt: str, *, now: datetime) -> None:
    """The export's line in the trail (list, unit, month, format, rows) and a read of each customer listed."""
    record_change(
        session,
        viewer,
        action=EXPORTED,
        target=f"customer_list:{listed.kind.value}",
        org_unit_id=listed.org_unit_id,
        detail={"list": listed.kind.value, "month": listed.month, "format": fmt, "rows": len(listed.rows)},
        now=now,
    )
    if listed.rows:
        fields = ["name", "registration_number", "segment", "stats"]
        session.execute(
            insert(AuditEntry),
            [
                {
                    "staff_id": viewer.staff_id,
                    "username": viewer.username,
                    "customer_id": row.customer_id,
                    "action": "read",
                    "fields": sorted(f for f in fields if f not in row.masked_fields),
                    "purpose": "customer_list",
                    "remote_addr": (viewer.remote_addr or "")[:64] or None,
                    "created_at": now,
                }
                for row in listed.rows
            ],
        )
