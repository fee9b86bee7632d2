"""The operators' review of call records: scope of calls, the queue, taking an item, corrections, customer-info
changes decided field by field, forwarding to the upper level, closing. Every step leaves a review event.

An item is worked by one operator at a time: taking it is a conditional UPDATE (state open, the viewer's own
queue), so of two operators pressing "take" at once exactly one wins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import Field as PField
from sqlalchemy import ColumnElement, case, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_read
from crm_store.calls.tables import Call, CallType
from crm_store.customers.blacklist import normalise_plate
from crm_store.customers.phones import normalise_phone
from crm_store.customers.tables import Customer, CustomerPhone, Vehicle
from crm_store.errors import CallNotFound, NotFound
from crm_store.org.clearance import load_field_grades, mask_fields, masked_items
from crm_store.org.scope import Viewer, customer_in_scope, unit_in_scope
from crm_store.org.tables import OrgUnit, Role
from crm_store.review.routing import load_routing_rules
from crm_store.review.tables import ClassificationCorrection, ReviewEvent, ReviewItem, ReviewState
from crm_store.types import Answer, Moment
from crm_store.validation import Conflict, InvalidInput, NotAllowed

REVIEWERS = frozenset({Role.OPERATOR, Role.CENTER_MANAGER, Role.ADMIN})
TRAINING_DATA_READERS = frozenset({Role.ADMIN, Role.EXECUTIVE})
URGENCY_ORDER = {"high": 0, "normal": 1, "low": 2}
# Fields of a proposed change kept in the customer's profile document (others have tables of their own).
PROFILE_FIELDS = frozenset(
    {
        "address",
        "email",
        "occupation",
        "beneficiary",
        "policyholder",
        "vehicle_model",
        "vehicle_status",
        "policy_status",
    }
)
_ROOT = aliased(OrgUnit, name="viewer_root")
# (kind, value typed by a person) -> the value safe to store: the classifier's redaction, which lives in `workers`
# (the store imports nothing of ours), so the caller passes it in.
EntityRedactor = Callable[[str, str], str]


def _viewer_is_head_office(viewer: Viewer) -> ColumnElement[bool]:
    return exists().where(col(_ROOT.id) == viewer.org_unit_id, col(_ROOT.parent_id).is_(None))


def call_in_scope(viewer: Viewer) -> ColumnElement[bool]:
    """A call is visible when its customer is, when its review item sits in the viewer's subtree, or to head office."""
    item = aliased(ReviewItem, name="scope_item")
    owner = aliased(Customer, name="scope_customer")
    return or_(
        exists().where(col(owner.id) == col(Call.customer_id), unit_in_scope(viewer, col(owner.org_unit_id))),
        exists().where(col(item.call_sid) == col(Call.call_sid), unit_in_scope(viewer, col(item.org_unit_id))),
        _viewer_is_head_office(viewer),
    )


async def visible_call(session: AsyncSession, viewer: Viewer, call_sid: str) -> Call:
    """The call with this CallSid if the viewer may see it; CallNotFound otherwise (no hint that it exists)."""
    call = (await session.exec(select(Call).where(col(Call.call_sid) == call_sid, call_in_scope(viewer)))).first()
    if call is None:
        raise CallNotFound(call_sid)
    return call


def visible_calls_page(viewer: Viewer, *, limit: int, before_id: int | None = None) -> Any:
    """Newest calls the viewer may see, keyset-paged by id."""
    query = select(Call).where(call_in_scope(viewer)).order_by(col(Call.id).desc()).limit(limit)
    if before_id is not None:
        query = query.where(col(Call.id) < before_id)
    return query


# -- the queue -------------------------------------------------------------------------------------


def queue_query(
    viewer: Viewer, *, type_: str | None = None, urgency: str | None = None, state: str | None = None, limit: int = 100
) -> Any:
    """The viewer's own unit's queue: most urgent first, then newest; closed items only when asked for."""
    urgency_rank = case(URGENCY_ORDER, value=col(ReviewItem.urgency), else_=3)
    query = (
        select(ReviewItem, Call)
        .join(Call, col(Call.call_sid) == col(ReviewItem.call_sid))
        .where(col(ReviewItem.org_unit_id) == viewer.org_unit_id)
    )
    if state:
        query = query.where(col(ReviewItem.state) == state)
    else:
        query = query.where(col(ReviewItem.state) != ReviewState.CLOSED.value)
    if type_:
        query = query.where(col(ReviewItem.type) == type_)
    if urgency:
        query = query.where(col(ReviewItem.urgency) == urgency)
    return query.order_by(urgency_rank, col(ReviewItem.created_at).desc(), col(ReviewItem.id).desc()).limit(limit)


async def review_queue(session: AsyncSession, viewer: Viewer, **filters: Any) -> list[tuple[ReviewItem, Call]]:
    """The items of the viewer's queue with their calls."""
    return [(item, call) for item, call in (await session.exec(queue_query(viewer, **filters))).all()]


def item_public(item: ReviewItem) -> ReviewItemPublic:
    """A review item as the API shows it."""
    return ReviewItemPublic.model_validate(item, from_attributes=True)


async def visible_item(session: AsyncSession, viewer: Viewer, item_id: int) -> ReviewItem:
    """An item in a queue of the viewer's unit or below; NotFound otherwise."""
    item = (
        await session.exec(
            select(ReviewItem).where(col(ReviewItem.id) == item_id, unit_in_scope(viewer, col(ReviewItem.org_unit_id)))
        )
    ).first()
    if item is None:
        raise NotFound(f"no review item {item_id}")
    return item


def _require_reviewer(viewer: Viewer) -> None:
    if viewer.role not in REVIEWERS:
        raise NotAllowed("only operators and center managers review call records")


async def take_item(session: AsyncSession, viewer: Viewer, item_id: int, *, now: datetime) -> ReviewItem:
    """Take an open item of the viewer's own queue; Conflict if another operator was first."""
    _require_reviewer(viewer)
    await visible_item(session, viewer, item_id)
    result = await session.exec(
        update(ReviewItem)  # type: ignore[call-overload]
        .where(
            col(ReviewItem.id) == item_id,
            col(ReviewItem.state) == ReviewState.OPEN.value,
            col(ReviewItem.org_unit_id) == viewer.org_unit_id,
        )
        .values(state=ReviewState.TAKEN.value, taken_by_id=viewer.staff_id, taken_at=now, updated_at=now)
    )
    if not result.rowcount:
        raise Conflict({"item": "already taken, closed, or not in your queue"}, "item not available")
    session.add(ReviewEvent(item_id=item_id, staff_id=viewer.staff_id, action="taken", created_at=now))
    item = await visible_item(session, viewer, item_id)
    await session.refresh(item)
    return item


async def _worked_item(session: AsyncSession, viewer: Viewer, item_id: int) -> ReviewItem:
    _require_reviewer(viewer)
    item = await visible_item(session, viewer, item_id)
    if item.state != ReviewState.TAKEN or item.taken_by_id != viewer.staff_id:
        raise NotAllowed("take the item first: only the operator working it may change it")
    return item


def entities_for_viewer(
    viewer: Viewer, entities: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The call's entities split for a reviewer: those they may see and edit, and those above their clearance
    (masked), which are shown read-only and kept as they are when the classification is saved."""
    hidden = masked_items(viewer, "call", "entities", entities)
    editable = [entity for index, entity in enumerate(entities) if index not in hidden]
    masked = mask_fields(viewer, "call", {"entities": [entities[index] for index in sorted(hidden)]})["entities"]
    return editable, masked


def _entity_value(entity: dict[str, Any]) -> str:
    return str(entity.get("value", entity.get("text")) or "")


def _canonical(entity: dict[str, Any]) -> str:
    return json.dumps(entity, sort_keys=True, ensure_ascii=False, default=str)


def merge_entities(
    viewer: Viewer, current: list[dict[str, Any]], submitted: list[dict[str, Any]], *, redact: EntityRedactor
) -> list[dict[str, Any]]:
    """The entities to store when a reviewer submits `submitted` for a call holding `current`.

    Entities above the reviewer's clearance are kept unchanged: the reviewer never saw them, so nothing they
    submit replaces them, and a value carrying the mask is dropped (it stands for a hidden original, never for
    data). Typed values are redacted like the classifier's; an entity submitted unchanged keeps its offsets."""
    mask = load_field_grades().mask
    hidden = masked_items(viewer, "call", "entities", current)
    unmatched = [entity for index, entity in enumerate(current) if index not in hidden]
    merged: list[dict[str, Any]] = []
    for entity in submitted:
        kind, value = str(entity.get("kind") or "").strip(), _entity_value(entity).strip()
        if not kind or not value or mask in kind or mask in value:
            continue
        value = redact(kind, value)
        same = next((e for e in unmatched if e.get("kind") == kind and _entity_value(e) == value), None)
        if same is not None:
            unmatched.remove(same)
            merged.append(same)
        else:
            merged.append({"kind": kind, "value": value})
    merged += [current[index] for index in sorted(hidden)]
    if sorted(map(_canonical, merged)) == sorted(map(_canonical, current)):
        return list(current)  # confirmed as it was: same order, so that the training row says "unchanged"
    return merged


async def correct_classification(
    session: AsyncSession,
    viewer: Viewer,
    item_id: int,
    *,
    type_: str,
    topic: str,
    entities: list[dict[str, Any]],
    redact: EntityRedactor,
    now: datetime,
) -> ClassificationCorrection:
    """Confirm or correct type, topic and entities; the call is updated and the correction kept as training data.

    `entities` are those the reviewer may see (`entities_for_viewer`); the rest are kept (`merge_entities`)."""
    item = await _worked_item(session, viewer, item_id)
    if type_ not in {t.value for t in CallType}:
        raise InvalidInput({"type": "one of " + ", ".join(t.value for t in CallType)})
    if not topic.startswith(f"{type_}."):
        raise InvalidInput({"topic": f"a topic of the type, such as {type_}.other"})
    call = (await session.exec(select(Call).where(col(Call.call_sid) == item.call_sid))).one()
    current = list(call.entities or [])
    predicted = {"type": call.type, "topic": call.topic, "entities": current}
    merged = merge_entities(viewer, current, entities, redact=redact)
    corrected: dict[str, Any] = {"type": type_, "topic": topic, "entities": merged}
    changed = predicted != corrected
    correction = ClassificationCorrection(
        call_sid=call.call_sid,
        item_id=item.id,
        staff_id=viewer.staff_id,
        predicted=predicted,
        corrected=corrected,
        changed=changed,
        model=(call.classification or {}).get("model"),
        created_at=now,
    )
    session.add(correction)
    call.type, call.topic, call.entities, call.updated_at = CallType(type_), topic, merged, now
    item.type, item.topic, item.updated_at = type_, topic, now
    session.add_all([call, item])
    session.add(
        ReviewEvent(
            item_id=item_id,
            staff_id=viewer.staff_id,
            action="corrected" if changed else "confirmed",
            detail={"from": predicted, "to": corrected},
            created_at=now,
        )
    )
    await session.flush()
    return correction


def proposed_changes(call: Call) -> list[dict[str, Any]]:
    """The classifier's proposed customer-info changes of a call, in order."""
    return list((call.classification or {}).get("proposed_changes") or [])


def current_value(field: str, picture: dict[str, Any]) -> Any:
    """What the customer record holds now for a proposed change's field (from the customer picture)."""
    if field == "phone":
        return ", ".join(p["number"] for p in picture.get("phones", []))
    if field == "vehicle_plate":
        return ", ".join(picture.get("vehicles", []))
    return (picture.get("profile") or {}).get(field)


async def decide_change(
    session: AsyncSession,
    viewer: Viewer,
    item_id: int,
    *,
    index: int,
    apply: bool,
    value: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Apply (with the operator's supplemented value) or reject one proposed change of the item's call."""
    item = await _worked_item(session, viewer, item_id)
    call = (await session.exec(select(Call).where(col(Call.call_sid) == item.call_sid))).one()
    changes = proposed_changes(call)
    if not 0 <= index < len(changes):
        raise InvalidInput({"index": "no such proposed change"})
    field = str(changes[index]["field"])
    decision: dict[str, Any] = {"index": index, "field": field, "proposed": changes[index].get("value")}
    if apply:
        if item.customer_id is None:
            raise InvalidInput({"customer": "an unknown caller's call has no customer record to update"})
        customer = (
            await session.exec(select(Customer).where(col(Customer.id) == item.customer_id, customer_in_scope(viewer)))
        ).first()
        if customer is None or customer.id is None:
            raise NotFound(f"no customer {item.customer_id}")
        new = (value or "").strip()
        if not new:
            raise InvalidInput({"value": "the value to store is required"})
        if load_field_grades().mask in new:
            raise InvalidInput({"value": "a masked value stands for hidden data: type the value to store"})
        if field == "phone":
            e164 = normalise_phone(new)
            if e164 is None:
                raise InvalidInput({"value": "not a Korean phone number"})
            taken = (await session.exec(select(CustomerPhone).where(col(CustomerPhone.e164) == e164))).first()
            if taken is not None and taken.customer_id != customer.id:
                raise Conflict({"value": "already another customer's number"}, "phone number already registered")
            if taken is None:
                session.add(CustomerPhone(customer_id=customer.id, e164=e164, label="mobile"))
            new = e164
        elif field == "vehicle_plate":
            plate = normalise_plate(new)
            if plate is None:
                raise InvalidInput({"value": "not a vehicle plate such as 12가3456"})
            session.add(Vehicle(customer_id=customer.id, plate=plate))
            new = plate
        else:
            key = field if field in PROFILE_FIELDS else f"note_{field}"
            decision["old"] = (customer.profile or {}).get(key)
            customer.profile = {**(customer.profile or {}), key: new}
            session.add(customer)
        decision["applied"] = new
    session.add(
        ReviewEvent(
            item_id=item_id,
            staff_id=viewer.staff_id,
            action="change_applied" if apply else "change_rejected",
            detail=decision,
            created_at=now,
        )
    )
    await session.flush()
    return decision


async def forward_item(session: AsyncSession, viewer: Viewer, item_id: int, *, note: str, now: datetime) -> ReviewItem:
    """Send the item with a note to the queue of the upper-level center (it is open again there)."""
    item = await _worked_item(session, viewer, item_id)
    if not note.strip():
        raise InvalidInput({"note": "say why it goes up"})
    unit = await session.get(OrgUnit, item.org_unit_id)
    assert unit is not None
    if unit.parent_id is None:
        raise InvalidInput({"note": "the head office has no upper level"})
    parent = await session.get(OrgUnit, unit.parent_id)
    assert parent is not None
    rules = load_routing_rules()
    session.add(
        ReviewEvent(
            item_id=item_id,
            staff_id=viewer.staff_id,
            action="forwarded",
            from_unit_id=unit.id,
            to_unit_id=parent.id,
            note=note.strip()[:1000],
            created_at=now,
        )
    )
    item.org_unit_id = parent.id  # type: ignore[assignment]
    item.state, item.taken_by_id, item.taken_at = ReviewState.OPEN, None, None
    item.note = note.strip()[:1000]
    item.due_at = now + rules.time_limit(parent.level, item.urgency)
    item.updated_at = now
    session.add(item)
    await session.flush()
    return item


async def close_item(session: AsyncSession, viewer: Viewer, item_id: int, *, note: str, now: datetime) -> ReviewItem:
    """Close a reviewed item."""
    item = await _worked_item(session, viewer, item_id)
    item.state, item.closed_at, item.updated_at = ReviewState.CLOSED, now, now
    if note.strip():
        item.note = note.strip()[:1000]
    session.add(item)
    session.add(
        ReviewEvent(
            item_id=item_id, staff_id=viewer.staff_id, action="closed", note=note.strip()[:1000] or None, created_at=now
        )
    )
    await session.flush()
    return item


async def item_events(session: AsyncSession, item_id: int) -> list[ReviewEvent]:
    """The history of an item, oldest first."""
    query = select(ReviewEvent).where(col(ReviewEvent.item_id) == item_id).order_by(col(ReviewEvent.id))
    return list((await session.exec(query)).all())


# What a training row tells about the caller: each export is in the trail of every customer it names.
CORRECTION_FIELDS = ("correction.entities", "correction.predicted", "correction.text")
CORRECTIONS_EXPORT = "corrections-export"


def _correction_row(viewer: Viewer, correction: ClassificationCorrection, transcript: str | None) -> dict[str, Any]:
    """A training row as this viewer may see it: the entities (corrected and predicted) masked by the call's grades."""
    corrected = mask_fields(viewer, "call", {"entities": correction.corrected.get("entities") or []})
    predicted = mask_fields(viewer, "call", {"entities": (correction.predicted or {}).get("entities") or []})
    return {
        "id": correction.id,
        "call_sid": correction.call_sid,
        "text": transcript,
        "type": correction.corrected.get("type"),
        "topic": correction.corrected.get("topic"),
        "entities": corrected["entities"],
        "predicted": {**(correction.predicted or {}), "entities": predicted["entities"]},
        "changed": correction.changed,
        "model": correction.model,
        "at": correction.created_at.isoformat(),
        "masked_fields": corrected["masked_fields"] + [f"predicted.{path}" for path in predicted["masked_fields"]],
    }


async def corrections_export(
    session: AsyncSession, viewer: Viewer, *, after_id: int | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Corrections of the calls in the viewer's scope as training rows (redacted transcript, predicted, corrected),
    graded entities masked by the viewer's clearance; administrators and executives. The export is a read of
    every customer it names: one audit entry each, appended in the session."""
    if viewer.role not in TRAINING_DATA_READERS:
        raise NotAllowed("training data is exported by administrators and executives")
    query = (
        select(ClassificationCorrection, Call.transcript, Call.customer_id)
        .join(Call, col(Call.call_sid) == col(ClassificationCorrection.call_sid))
        .where(call_in_scope(viewer))
        .order_by(col(ClassificationCorrection.id))
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(col(ClassificationCorrection.id) > after_id)
    rows = (await session.exec(query)).all()
    for customer_id in sorted({customer_id for _c, _t, customer_id in rows if customer_id is not None}):
        record_read(session, viewer, customer_id=customer_id, fields=CORRECTION_FIELDS, purpose=CORRECTIONS_EXPORT)
    return [_correction_row(viewer, correction, transcript) for correction, transcript, _customer in rows]


# -- wire models -------------------------------------------------------------------------------------


class ReviewItemPublic(Answer):
    """A review item as the API shows it."""

    id: int = PField(description="the item's id")
    call_sid: str = PField(description="the call under review")
    customer_id: int | None = PField(description="the caller, when recognised")
    org_unit_id: int = PField(description="the unit whose operators review it")
    state: str = PField(description="open, taken, forwarded or closed")
    type: str | None = PField(description="the call's type as classified")
    topic: str | None = PField(description="the call's topic as classified")
    urgency: str | None = PField(description="urgency as classified")
    route_reason: str | None = PField(description="why the item went to this queue")
    due_at: Moment = PField(description="when it should be handled (UTC)")
    escalations: int = PField(description="how often it was escalated for being late")
    taken_by_id: int | None = PField(description="the staff member who took it")
    created_at: Moment = PField(description="when it was queued (UTC)")


class ReviewItemList(Answer):
    """GET /api/v1/review-items."""

    items: list[ReviewItemPublic] = PField(description="the viewer's queue, most urgent first")


class CorrectionRow(Answer):
    """An operator's correction of a call, as a training row."""

    id: int = PField(description="the correction's id (pass as `after` for the next page)")
    call_sid: str = PField(description="the corrected call")
    at: Moment = PField(description="when it was corrected (UTC)")
    text: str | None = PField(description="the redacted transcript")
    type: str | None = PField(description="the type the operator chose")
    topic: str | None = PField(description="the topic the operator chose")
    entities: list[Any] = PField(description="the entities as corrected (graded values masked)")
    predicted: dict[str, Any] = PField(description="what the classifier had said: type, topic, entities")
    model: str | None = PField(description="the classifier's model")
    changed: bool = PField(description="the operator changed the classification")
    masked_fields: list[str] = PField(description="fields hidden from the viewer's clearance")


class CorrectionList(Answer):
    """GET /api/v1/corrections."""

    items: list[CorrectionRow] = PField(description="corrections of calls in the viewer's scope, oldest first")
