"""The survey report: what the surveyor files on site (damage, liability, estimate, photos, the customer's
signature), attached to the customer's open claim (one is opened for the request when the customer has none), whose
stage becomes `survey_reported` with the report's id; filing it closes the survey (reporting, then done).

Photos and the signature are checked here by their first bytes (JPEG, PNG or WebP; the signature a PNG) and bounded
in number and size: the gateway bounds the body before it reaches the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import Actor
from crm_store.customers.records import SURVEY_REPORTED, ClaimCreate, open_claim
from crm_store.customers.rules import Rules
from crm_store.customers.tables import Claim, Policy
from crm_store.dispatch.assignment import advance
from crm_store.dispatch.errors import DispatchNotFound, InvalidDispatch, WrongState
from crm_store.dispatch.requests import audit_request, get_request
from crm_store.dispatch.tables import DispatchRequest, SurveyPhoto, SurveyReport
from crm_store.types import Answer, Input, Moment, iso, utcnow
from crm_store.validation import BUSINESS_TZ, InvalidInput

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_SIGNATURE_BYTES = 256 * 1024
# The first bytes of each image type accepted, by content type.
MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
}
OPEN_CLAIM = "open"


class SurveyFindings(Input):
    """What the surveyor writes in the report."""

    damage: str = Field(min_length=2, max_length=4000, description="the damage seen at the scene")
    liability_percent: int = Field(ge=0, le=100, description="our insured's share of the liability, percent")
    estimate_won: int = Field(ge=0, le=10_000_000_000, description="estimated cost of the loss, KRW")


@dataclass(frozen=True)
class Upload:
    """A file as uploaded: the type the browser named and the bytes."""

    content_type: str
    data: bytes


class SurveyReportPublic(Answer):
    """A filed survey report."""

    id: int = Field(description="the report's number")
    request_id: int = Field(description="the survey request")
    claim_id: int | None = Field(description="the claim it is attached to")
    claim_number: str | None = Field(description="that claim's number")
    claim_status: str | None = Field(default=None, description="that claim's status: open, paid, closed, rejected")
    claim_stage: str | None = Field(
        default=None, description="how far that claim's handling has come, e.g. survey_reported"
    )
    damage: str = Field(description="the damage seen")
    liability_percent: int = Field(description="our insured's share of the liability, percent")
    estimate_won: int = Field(description="estimated cost, KRW")
    photo_ids: list[int] = Field(description="the photos, in upload order")
    signed: bool = Field(description="the customer signed")
    created_at: Moment = Field(description="when it was filed")


def checked_image(upload: Upload, *, limit: int, allowed: frozenset[str], field: str) -> Upload:
    """The upload when its type is allowed, its bytes are of that type and it is not too large; InvalidDispatch
    naming `field` otherwise."""
    kind = upload.content_type.split(";")[0].strip().lower()
    if kind not in allowed:
        raise InvalidDispatch(f"{field}: {kind or 'unknown'} is not accepted", fields={field: "JPEG, PNG or WebP"})
    if not upload.data or len(upload.data) > limit:
        raise InvalidDispatch(f"{field}: empty or over {limit} bytes", fields={field: f"at most {limit} bytes"})
    if not upload.data.startswith(MAGIC[kind]) or (kind == "image/webp" and upload.data[8:12] != b"WEBP"):
        raise InvalidDispatch(f"{field}: the file is not a {kind}", fields={field: f"not a {kind}"})
    return Upload(kind, upload.data)


async def _claim_for(session: AsyncSession, request: DispatchRequest) -> Claim | None:
    """The claim a survey belongs to: the newest open claim of its policy, else of its customer."""
    if request.customer_id is None:
        return None
    query = select(Claim).where(col(Claim.customer_id) == request.customer_id, col(Claim.status) == OPEN_CLAIM)
    if request.policy_id is not None:
        on_policy = (
            await session.exec(query.where(col(Claim.policy_id) == request.policy_id).order_by(col(Claim.id).desc()))
        ).first()
        if on_policy is not None:
            return on_policy
    return (await session.exec(query.order_by(col(Claim.id).desc()))).first()


async def _claim_opened(
    session: AsyncSession, actor: Actor, request: DispatchRequest, *, rules: Rules, now: datetime
) -> Claim | None:
    """A claim opened for the request of a customer with none open (the accident is the day the request was made,
    on its policy or else the customer's policy in force that day, newest first); None without customer or a policy
    covering that day."""
    if request.customer_id is None:
        return None
    occurred_on = request.created_at.astimezone(BUSINESS_TZ).date()
    policy_id = request.policy_id
    if policy_id is None:
        policy_id = (
            await session.exec(
                select(col(Policy.id))
                .where(
                    col(Policy.customer_id) == request.customer_id,
                    col(Policy.start_date) <= occurred_on,
                    col(Policy.end_date) > occurred_on,
                )
                .order_by(col(Policy.start_date).desc(), col(Policy.id).desc())
            )
        ).first()
    if policy_id is None:
        return None
    try:
        claim, _segment, _alerts = await open_claim(
            session,
            request.customer_id,
            ClaimCreate(policy_id=policy_id, occurred_on=occurred_on),
            rules=rules,
            as_of=max(occurred_on, now.astimezone(BUSINESS_TZ).date()),
            changed_by=actor.username,
        )
    except InvalidInput:
        return None  # the request's policy did not cover that day: the report stays without a claim
    return claim


async def file_report(
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    findings: SurveyFindings,
    *,
    photos: list[Upload],
    signature: Upload | None,
    rules: Rules,
    now: datetime | None = None,
) -> SurveyReport:
    """File the survey's report (the surveyor sent, on site or reporting): stored with its photos and signature,
    attached to the customer's open claim, or to one opened for the request when there is none; the claim's stage
    becomes survey reported with the report's id; the request is done and the surveyor available again. Audited."""
    now = now or utcnow()
    request = await get_request(session, request_id, lock=True)
    if request.kind != "survey":
        raise WrongState(f"request {request_id} is a {request.kind}: no survey report", state=request.state)
    if request.state not in ("on_site", "reporting"):
        raise WrongState(f"request {request_id} is {request.state}: report once on site", state=request.state)
    if len(photos) > MAX_PHOTOS:
        raise InvalidDispatch(f"photos: at most {MAX_PHOTOS}", fields={"photos": f"at most {MAX_PHOTOS}"})
    kept = [checked_image(p, limit=MAX_PHOTO_BYTES, allowed=frozenset(MAGIC), field="photos") for p in photos if p.data]
    signed = None
    if signature is not None and signature.data:
        signed = checked_image(
            signature, limit=MAX_SIGNATURE_BYTES, allowed=frozenset({"image/png"}), field="signature"
        ).data
    if request.state == "on_site":
        await advance(session, actor, request_id, "reporting", now=now)
    claim = await _claim_for(session, request)
    opened = claim is None
    if claim is None:
        claim = await _claim_opened(session, actor, request, rules=rules, now=now)
    report = SurveyReport(
        request_id=request_id,
        claim_id=claim.id if claim is not None else None,
        surveyor_id=request.surveyor_id,
        damage=findings.damage,
        liability_percent=findings.liability_percent,
        estimate_won=findings.estimate_won,
        signature_png=signed,
        created_at=now,
    )
    session.add(report)
    await session.flush()
    assert report.id is not None
    session.add_all(
        SurveyPhoto(report_id=report.id, content_type=p.content_type, size=len(p.data), data=p.data, created_at=now)
        for p in kept
    )
    if claim is not None:
        claim.stage, claim.survey_report_id = SURVEY_REPORTED, report.id
        session.add(claim)
    detail = {
        "report": report.id,
        "claim": claim.claim_number if claim is not None else None,
        "claim_opened": opened and claim is not None,
        "photos": len(kept),
        "signed": signed is not None,
    }
    audit_request(session, actor, request, "survey_reported", detail, now)
    await advance(session, actor, request_id, "done", now=now)
    return report


async def report_of(session: AsyncSession, request_id: int) -> SurveyReportPublic | None:
    """The report filed for a request, with its claim's number and its photos; None before it is filed."""
    row = (
        await session.exec(
            select(SurveyReport, col(Claim.claim_number), col(Claim.status), col(Claim.stage))
            .outerjoin(Claim, col(Claim.id) == col(SurveyReport.claim_id))
            .where(col(SurveyReport.request_id) == request_id)
        )
    ).first()
    if row is None:
        return None
    report, claim_number, claim_status, claim_stage = row
    photo_ids = (
        await session.exec(
            select(col(SurveyPhoto.id)).where(col(SurveyPhoto.report_id) == report.id).order_by(col(SurveyPhoto.id))
        )
    ).all()
    return SurveyReportPublic(
        id=report.id or 0,
        request_id=report.request_id,
        claim_id=report.claim_id,
        claim_number=claim_number,
        claim_status=claim_status,
        claim_stage=claim_stage,
        damage=report.damage,
        liability_percent=report.liability_percent,
        estimate_won=report.estimate_won,
        photo_ids=[int(i) for i in photo_ids if i is not None],
        signed=report.signature_png is not None,
        created_at=iso(report.created_at) or "",
    )


async def reports_of_claim(session: AsyncSession, claim_id: int) -> list[SurveyReportPublic]:
    """The survey reports attached to a claim, oldest first."""
    ids = (
        await session.exec(
            select(col(SurveyReport.request_id))
            .where(col(SurveyReport.claim_id) == claim_id)
            .order_by(col(SurveyReport.id))
        )
    ).all()
    found = [await report_of(session, request_id) for request_id in ids]
    return [report for report in found if report is not None]


async def photo_of(session: AsyncSession, request_id: int, photo_id: int) -> SurveyPhoto:
    """A photo of the request's report; DispatchNotFound when it is not one of them."""
    photo = (
        await session.exec(
            select(SurveyPhoto)
            .join(SurveyReport, col(SurveyReport.id) == col(SurveyPhoto.report_id))
            .where(col(SurveyPhoto.id) == photo_id, col(SurveyReport.request_id) == request_id)
        )
    ).first()
    if photo is None:
        raise DispatchNotFound(f"no photo {photo_id} of request {request_id}")
    return photo


async def signature_of(session: AsyncSession, request_id: int) -> bytes:
    """The customer's signature of the request's report (PNG); DispatchNotFound when there is none."""
    data = (
        await session.exec(select(col(SurveyReport.signature_png)).where(col(SurveyReport.request_id) == request_id))
    ).first()
    if not data:
        raise DispatchNotFound(f"no signature for request {request_id}")
    return bytes(data)
