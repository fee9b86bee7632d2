"""Coordination's sub-tasks marked done or undone again, on a complaint in the actor's scope: the dossier and the
audit trail record each change."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from crm_store.complaints.coordination import SubtaskMark, subtask_change
from crm_store.complaints.store import Actor, append_entry, get_complaint
from crm_store.complaints.tables import Complaint


def mark_subtask(
    session: Session, actor: Actor, complaint_id: int, subtask_id: int, mark: SubtaskMark, *, now: datetime
) -> Complaint:
    """Mark a sub-task of a complaint in the actor's scope done or undone (its owner, a center manager or an
    executive); a dossier entry and an audit entry record it."""
    complaint = get_complaint(session, actor, complaint_id)
    _task, form = subtask_change(session, actor, complaint, subtask_id, mark, now=now)
    complaint.updated_at = now
    session.add(complaint)
    action = "subtask_done" if mark.done else "subtask_undone"
    append_entry(session, actor, complaint, action=action, from_state=complaint.state, form=form, now=now)
    return complaint
