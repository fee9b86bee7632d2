"""The months' complaint analyses as the workers store them, and the corrective actions (시정 조치) attached to a
month's findings, followed until closed: done by their owner, their effect checked, then closed.

The workers generate each month's analysis at the start of the following month for the head office and every
province and city unit (`generate_month_reports`); anyone may have one generated again on demand for a unit in
their scope. Corrective actions are kept by center managers and executives of the unit's part of the organisation;
each change is audited.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import Field
from sqlmodel import Session, col, select

from crm_store.audit import record_change
from crm_store.calendar import KST
from crm_store.complaints.analysis import ComplaintAnalysis, monthly_analysis
from crm_store.complaints.tables import ComplaintMonthReport, CorrectiveAction
from crm_store.errors import NotFound
from crm_store.org.scope import CommandLine, Viewer, unit_in_scope
from crm_store.org.tables import OrgUnit, Role, Staff
from crm_store.types import Answer, Input
from crm_store.upsert import insert_ignoring_conflict
from crm_store.validation import Conflict, InvalidInput, NotAllowed

Actor = Viewer | CommandLine
# Units whose analysis the workers store every month: head office, provinces, cities.
REPORT_LEVELS = 2
ACTION_KEEPERS = frozenset({Role.CENTER_MANAGER, Role.EXECUTIVE, Role.ADMIN})


class MonthReportPublic(Answer):
    """A month's stored analysis of a unit's part of the organisation."""

    month: str = Field(description="YYYY-MM")
    org_unit_id: int = Field(description="the unit")
    generated_at: str = Field(description="when the workers (or someone on demand) generated it, KST")
    generated_by: str = Field(description="who generated it")
    analysis: ComplaintAnalysis = Field(description="the figures")


class ActionCreate(Input):
    """A corrective action on a month's findings."""

    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="the month whose findings it answers, YYYY-MM")
    org_unit_id: int = Field(ge=1, description="the unit it belongs to")
    finding: str = Field(min_length=1, max_length=2000, description="what the analysis found")
    what: str = Field(min_length=1, max_length=2000, description="what is to be done")
    owner: str = Field(min_length=1, max_length=64, description="username of its owner")
    due_date: date = Field(description="by when")


class ActionUpdate(Input):
    """A step in following a corrective action: done (by its owner), its effect checked, closed."""

    event: str = Field(pattern=r"^(done|effect_checked|closed)$", description="done, effect_checked or closed")
    note: str = Field(min_length=1, max_length=2000, description="what was done, the effect found, why closed")


class ActionPublic(Answer):
    """A corrective action and how far it has been followed."""

    id: int = Field(description="its id")
    month: str = Field(description="YYYY-MM")
    org_unit_id: int = Field(description="the unit")
    finding: str = Field(description="what the analysis found")
    what: str = Field(description="what is to be done")
    owner_id: int = Field(description="its owner")
    due_date: str = Field(description="by when (YYYY-MM-DD)")
    done_at: str | None = Field(description="when its owner marked it done")
    done_note: str | None = Field(description="what was done")
    effect_checked_at: str | None = Field(description="when its effect was checked")
    effect: str | None = Field(description="the effect found")
    closed_at: str | None = Field(description="when it was closed; null while followed")
    overdue: bool = Field(description="not done by its due date")


def _month(text: str) -> date:
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def _kst(moment: datetime | None) -> str | None:
    return moment.astimezone(KST).isoformat() if moment is not None else None


def store_month_report(
    session: Session, actor: Actor, unit_id: int, month: date, *, now: datetime
) -> ComplaintMonthReport:
    """Generate the month's analysis of the unit's part of the organisation and store it (replacing one stored
    before: a regeneration on demand)."""
    first = month.replace(day=1)
    figures = monthly_analysis(session, unit_id, month=first, now=now).model_dump(mode="json")
    existing = session.exec(
        select(ComplaintMonthReport).where(
            col(ComplaintMonthReport.month) == first, col(ComplaintMonthReport.org_unit_id) == unit_id
        )
    ).first()
    if existing is None:
        session.exec(insert_ignoring_conflict(
            session.bind.dialect.name, ComplaintMonthReport,  # type: ignore[union-attr]
            {"month": first, "org_unit_id": unit_id, "figures": figures, "generated_at": now,
             "generated_by": actor.username[:64]},
        ))  # fmt: skip
        existing = session.exec(
            select(ComplaintMonthReport).where(
                col(ComplaintMonthReport.month) == first, col(ComplaintMonthReport.org_unit_id) == unit_id
            )
        ).one()
    else:
        existing.figures, existing.generated_at, existing.generated_by = figures, now, actor.username[:64]
        session.add(existing)
    return existing


def generate_month_reports(session: Session, month: date, *, now: datetime, actor: Actor) -> list[int]:
    """The month's analysis of the head office and every active province and city unit, stored; the unit ids."""
    units = session.exec(
        select(col(OrgUnit.id))
        .where(col(OrgUnit.level) <= REPORT_LEVELS, col(OrgUnit.active))
        .order_by(col(OrgUnit.level), col(OrgUnit.id))
    ).all()
    done = [int(unit_id) for unit_id in units if unit_id is not None]
    for unit_id in done:
        store_month_report(session, actor, unit_id, month, now=now)
    return done


def month_reports_done(session: Session, month: date) -> bool:
    """Whether the head office's report of the month was generated after the month ended (by the workers)."""
    first = month.replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    head = session.exec(
        select(ComplaintMonthReport)
        .join(OrgUnit, col(OrgUnit.id) == col(ComplaintMonthReport.org_unit_id))
        .where(col(ComplaintMonthReport.month) == first, col(OrgUnit.level) == 0)
    ).first()
    return head is not None and head.generated_at >= datetime.combine(following, time(), tzinfo=KST)


def month_report_public(report: ComplaintMonthReport) -> MonthReportPublic:
    """The stored report as readers see it."""
    return MonthReportPublic(
        month=f"{report.month:%Y-%m}",
        org_unit_id=report.org_unit_id,
        generated_at=_kst(report.generated_at) or "",
        generated_by=report.generated_by,
        analysis=ComplaintAnalysis.model_validate(report.figures),
    )


def month_report(session: Session, viewer: Viewer, unit_id: int | None, month: date) -> ComplaintMonthReport | None:
    """The stored report of the month for the unit (the viewer's own when None), if the viewer sees the unit."""
    unit_id = unit_id or viewer.org_unit_id
    if not _sees(session, viewer, unit_id):
        raise NotFound(f"no org unit {unit_id} in your part of the organisation")
    return session.exec(
        select(ComplaintMonthReport).where(
            col(ComplaintMonthReport.month) == month.replace(day=1), col(ComplaintMonthReport.org_unit_id) == unit_id
        )
    ).first()


# -- corrective actions ---------------------------------------------------------------------------------------------


def action_public(action: CorrectiveAction, today: date) -> ActionPublic:
    """The action as readers see it (overdue: not done by its due date)."""
    return ActionPublic(
        id=int(action.id or 0),
        month=f"{action.month:%Y-%m}",
        org_unit_id=action.org_unit_id,
        finding=action.finding,
        what=action.what,
        owner_id=action.owner_id,
        due_date=action.due_date.isoformat(),
        done_at=_kst(action.done_at),
        done_note=action.done_note,
        effect_checked_at=_kst(action.effect_checked_at),
        effect=action.effect,
        closed_at=_kst(action.closed_at),
        overdue=action.done_at is None and action.closed_at is None and action.due_date < today,
    )


def _sees(session: Session, actor: Actor, unit_id: int) -> bool:
    """Whether the unit is in the actor's part of the organisation (the command line sees all)."""
    if isinstance(actor, CommandLine):
        return True
    query = select(col(OrgUnit.id)).where(col(OrgUnit.id) == unit_id, unit_in_scope(actor, col(OrgUnit.id)))
    return session.exec(query).first() is not None


def check_keeper(session: Session, actor: Actor, unit_id: int, *, outside: type[Exception] = NotFound) -> None:
    """NotAllowed unless a center manager, executive or administrator (or the command line); `outside` (NotFound, or
    InvalidInput for a unit named in a body) for a unit outside the actor's part of the organisation."""
    if isinstance(actor, Viewer) and actor.role not in ACTION_KEEPERS:
        raise NotAllowed("kept by center managers, executives and administrators")
    if not _sees(session, actor, unit_id):
        if outside is InvalidInput:
            raise InvalidInput({"org_unit_id": "not in your part of the organisation"})
        raise NotFound(f"no org unit {unit_id} in your part of the organisation")


def add_action(session: Session, actor: Actor, data: ActionCreate, *, now: datetime) -> CorrectiveAction:
    """Attach a corrective action to a month's findings of a unit in the actor's scope; audited."""
    check_keeper(session, actor, data.org_unit_id, outside=InvalidInput)
    owner = session.exec(select(Staff).where(col(Staff.username) == data.owner, col(Staff.active))).first()
    if owner is None:
        raise InvalidInput({"owner": f"no active staff member {data.owner}"})
    action = CorrectiveAction(
        month=_month(data.month), org_unit_id=data.org_unit_id, finding=data.finding, what=data.what,
        owner_id=int(owner.id or 0), due_date=data.due_date, created_by=actor.username[:64], created_at=now,
        updated_at=now,
    )  # fmt: skip
    session.add(action)
    session.flush()
    _audit(session, actor, action, "created", {"what": data.what, "owner": data.owner}, now)
    return action


def _audit(session: Session, actor: Actor, action: CorrectiveAction, event: str, detail: dict[str, Any],
           now: datetime) -> None:  # fmt: skip
    record_change(session, actor, action=f"corrective.{event}"[:32], target=f"corrective_action:{action.id}",
                  org_unit_id=action.org_unit_id, detail=detail, now=now)  # fmt: skip


def follow_action(
    session: Session, actor: Actor, action_id: int, update: ActionUpdate, *, now: datetime
) -> CorrectiveAction:
    """One step of following: `done` by its owner (wherever they work) or a keeper, then `effect_checked` and
    `closed` by a keeper of the unit, in that order; a closed action takes no more."""
    action = session.get(CorrectiveAction, action_id)
    is_owner = action is not None and isinstance(actor, Viewer) and actor.staff_id == action.owner_id
    if action is None or not (is_owner or _sees(session, actor, action.org_unit_id)):
        raise NotFound(f"no corrective action {action_id}")
    if not (update.event == "done" and is_owner):
        check_keeper(session, actor, action.org_unit_id, outside=InvalidInput)
    if action.closed_at is not None:
        raise Conflict({"event": "the action is closed"}, "closed")
    if update.event == "done":
        if action.done_at is not None:
            raise Conflict({"event": "already done"}, "already done")
        action.done_at, action.done_note = now, update.note
    elif update.event == "effect_checked":
        if action.done_at is None:
            raise Conflict({"event": "its effect is checked once it is done"}, "not done yet")
        action.effect_checked_at, action.effect = now, update.note
    else:
        if action.effect_checked_at is None:
            raise Conflict({"event": "closed once its effect is checked"}, "effect not checked")
        action.closed_at = now
    action.updated_at = now
    session.add(action)
    _audit(session, actor, action, update.event, {"note": update.note}, now)
    return action


def actions_of(session: Session, viewer: Viewer, *, month: date | None = None, open_only: bool = False,
               limit: int = 200) -> list[CorrectiveAction]:  # fmt: skip
    """Corrective actions of the viewer's part of the organisation, soonest due first."""
    query = select(CorrectiveAction).where(unit_in_scope(viewer, col(CorrectiveAction.org_unit_id)))
    if month is not None:
        query = query.where(col(CorrectiveAction.month) == month.replace(day=1))
    if open_only:
        query = query.where(col(CorrectiveAction.closed_at).is_(None))
    return list(
        session.exec(query.order_by(col(CorrectiveAction.due_date), col(CorrectiveAction.id)).limit(limit)).all()
    )
