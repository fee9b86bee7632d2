"""The complaint downloads' lines of the access matrix (tests/access_matrix.py): the dossier's PDF of the target's
complaint (as its page: in scope) and the stored September 2026 analysis of the target's city branch as PDF and XLSX
(in scope; the county staff below it see only their own unit's). Importing this module adds them to MATRIX,
EXPECTED and READABLE; `add_complaint_reports` stores the month's analyses as the workers do."""

from datetime import date, datetime
from typing import Any

from crm_store.calendar import KST
from crm_store.complaints.followup import generate_month_reports
from crm_store.db import session_scope
from crm_store.org.scope import CommandLine
from tests.access_matrix import COMPLAINTS, EXPECTED, MATRIX, READABLE, _in_scope, _unit
from tests.review_helpers import World


def add_complaint_reports(world: World, engine: Any) -> None:
    """The complaint analysis of September 2026 of every head office, province and city unit."""
    with session_scope(engine) as session:
        generate_month_reports(
            session, date(2026, 9, 1), now=datetime(2026, 10, 1, 1, tzinfo=KST), actor=CommandLine(username="root")
        )


MATRIX[("GET", "/console/complaints/{complaint_id}/pdf")] = lambda w, t: (
    f"/console/complaints/{COMPLAINTS[t]}/pdf", {}, None)  # fmt: skip
EXPECTED[("GET", "/console/complaints/{complaint_id}/pdf")] = _in_scope(200)
READABLE.add("/console/complaints/{complaint_id}/pdf")
MATRIX[("GET", "/console/complaints/analysis/{format}")] = lambda w, t: (
    "/console/complaints/analysis/xlsx", {"month": "2026-09", "unit": str(_unit(w, t, city=True))}, None)  # fmt: skip
EXPECTED[("GET", "/console/complaints/analysis/{format}")] = lambda w, u, t: (
    200 if w.sees_unit(u, _unit(w, t, city=True)) else 404)  # fmt: skip
