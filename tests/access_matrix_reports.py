"""The stored reports' and report notices' lines of the access matrix (tests/access_matrix.py): through the API, the
stored reports listed, the target's county report opened and downloaded, its customer lists read and exported (a
supervisor's, within their part); the viewer's notices listed; in the console, a notice marked read (only by the
staff member it was for: the target's county center manager inside, the head office's executive outside) and the
message number set (outside: a number that is none, refused). Importing this module adds them to MATRIX and
EXPECTED; `add_report_notices` announces the stored reports as the workers do (after `add_reports`)."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlmodel import select

from crm_store.db import session_scope
from crm_store.org.scope import SUPERVISORS
from crm_store.reports.notices import announce_reports
from crm_store.reports.tables import ReportNotice
from crm_store.validation import BUSINESS_TZ
from tests.access_matrix import EXPECTED, MATRIX, REPORTS, Target, _report_reader, _unit
from tests.review_helpers import World

NOTICE_OWNERS: dict[Target, str] = {"inside": "center_manager.seocho", "outside": "executive.hq"}
NOTICES: dict[Target, int] = {}


def add_report_notices(world: World, engine: Any) -> None:
    """September's reports announced; the notice of each target's owner."""
    with session_scope(engine) as session:
        announce_reports(session, date(2026, 9, 1), now=datetime(2026, 12, 7, 2, tzinfo=BUSINESS_TZ))
    with session_scope(engine) as session:
        for t, owner in NOTICE_OWNERS.items():
            NOTICES[t] = int(
                session.exec(  # type: ignore[arg-type]
                    select(ReportNotice.id).where(ReportNotice.staff_id == world.staff[owner]["id"])
                ).one()
            )


def _supervisor(ok: int) -> Callable[[World, str, Target], int]:
    return lambda w, u, t: ok if w.staff[u]["role"] in SUPERVISORS else 403


API = "/api/v1/reports"
MATRIX.update({
    ("GET", API + "/stored"): lambda w, t: (API + "/stored", {"month": "2026-09"}, None),
    ("GET", API + "/stored/{report_id}"): lambda w, t: (f"{API}/stored/{REPORTS[t]}", {}, None),
    ("GET", API + "/stored/{report_id}/{format}"): lambda w, t: (f"{API}/stored/{REPORTS[t]}/pdf", {}, None),
    ("GET", API + "/customers"): lambda w, t: (API + "/customers", {"list": "alerts", "unit": str(_unit(w, t))}, None),
    ("GET", API + "/customers/{format}"): lambda w, t: (
        API + "/customers/xlsx", {"list": "quality", "unit": str(_unit(w, t))}, None),
    ("GET", API + "/notices"): lambda w, t: (API + "/notices", {}, None),
    ("POST", "/console/reports/notices/{notice_id}/read"): lambda w, t: (
        f"/console/reports/notices/{NOTICES[t]}/read", {}, {}),
    # Outside: a number that is none (nothing changes for anyone).
    ("POST", "/console/reports/messages"): lambda w, t: (
        "/console/reports/messages", {}, {"sms_to": "" if t == "inside" else "x"}),
})  # fmt: skip
EXPECTED.update({
    ("GET", API + "/stored"): _supervisor(200),
    ("GET", API + "/stored/{report_id}"): _report_reader(200),
    ("GET", API + "/stored/{report_id}/{format}"): _report_reader(200),
    ("GET", API + "/customers"): _report_reader(200),
    ("GET", API + "/customers/{format}"): _report_reader(200),
    ("GET", API + "/notices"): _supervisor(200),
    ("POST", "/console/reports/notices/{notice_id}/read"): lambda w, u, t: (
        403 if w.staff[u]["role"] not in SUPERVISORS else 303 if u == NOTICE_OWNERS[t] else 404),
    ("POST", "/console/reports/messages"): lambda w, u, t: (
        403 if w.staff[u]["role"] not in SUPERVISORS else 303 if t == "inside" else 422),
})  # fmt: skip
