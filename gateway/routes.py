"""The route table of /api/v1: one row per endpoint (method, path, handler, body, query, answer, errors, roles).
The API sub-application's router, the OpenAPI document served at /api/v1/openapi.json and the access-matrix test
are all read from `ROUTES`: adding an endpoint is one row here and its handler."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from crm_store.audit import AuditPage
from crm_store.calls import store as calls
from crm_store.calls.tables import CallType
from crm_store.complaints import analysis as complaint_analysis
from crm_store.complaints import coordination
from crm_store.complaints import followup as complaint_followup
from crm_store.complaints import steps as complaint_steps
from crm_store.complaints import wire as complaint_wire
from crm_store.complaints.wire import State
from crm_store.customers import blacklist, blacklist_decisions, events, search
from crm_store.customers import records as customers
from crm_store.customers import updates as customer_updates
from crm_store.desk import agents, call_work, callbacks, open_cases, profiles
from crm_store.desk import wallboard as desk_wallboard
from crm_store.dispatch import vendors
from crm_store.dispatch import wire as dispatch
from crm_store.dispatch.access import BOARD_ROLES, FIELD_ROLES
from crm_store.dispatch.reports import SurveyReportPublic
from crm_store.managers import account_managers, certifications, service_tasks, transfers
from crm_store.org import admin, auth
from crm_store.org import directory as org
from crm_store.org.scope import SUPERVISORS
from crm_store.org.tables import Role
from crm_store.reports import customer_lists
from crm_store.reports import monthly as monthly_reports
from crm_store.reports import stored as stored_reports
from crm_store.review import queue as review
from crm_store.review.tables import ReviewState
from gateway import (
    admin_api,
    agents_api,
    api,
    complaint_followup_api,
    complaints_api,
    customers_api,
    desk_api,
    desk_callbacks,
    desk_calls_api,
    desk_socket,
    dispatch_api,
    labels,
    reports_api,
    review_api,
    supervision_api,
    vendors_api,
    wallboard,
)
from gateway.contract import Route, openapi_document
from gateway.exports import CSV_TYPE, PDF_TYPE, XLSX_TYPE
from gateway.inputs import MAX_ID, MAX_PAGE

PREFIX = "/api/v1"
ID = r"{%s:\d{1,10}}"
ADMINS = frozenset({Role.ADMIN})


# -- query parameters (documented here; each handler reads them with gateway.inputs) -----------------------------


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


# An empty value is the parameter left out (an HTML form sends every field): said so in the document.
Empty = Literal[""]


PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE)]
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
Sid = Annotated[str, Field(pattern="^CA[0-9a-f]{32}$")]
Limit = Field(default=None, description="at most this many (1 to 200)")
Before = Field(default=None, description="only records with a smaller id (the next page)")
CallSid = Field(default=None, description="the call this read serves (audited)")


class CallsQuery(_Query):
    limit: PageSize | Empty | None = Limit
    before: RecordId | Empty | None = Before


class PictureQuery(_Query):
    call_sid: Sid | Empty | None = CallSid


class LookupQuery(_Query):
    phone: str = Field(min_length=1, max_length=32, description="any common Korean format (010-1234-5678, +82 10 ...)")
    call_sid: Sid | Empty | None = CallSid


class LimitQuery(_Query):
    limit: PageSize | Empty | None = Limit


class ReportQuery(_Query):
    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | Empty | None = Field(
        default=None, description="YYYY-MM; default now"
    )


class TasksQuery(_Query):
    state: Literal["open", "done", "all"] | Empty | None = Field(default=None, description="default open")
    kind: Literal[tuple(service_tasks.DUTY_NAMES)] | Empty | None = Field(  # type: ignore[valid-type]
        default=None, description="one kind of duty"
    )
    limit: PageSize | Empty | None = Limit


class BlacklistQuery(_Query):
    state: Literal[blacklist_decisions.STATES] | Empty | None = Field(  # type: ignore[valid-type]
        default=None, description="default open (pending and in force)"
    )
    customer_id: RecordId | Empty | None = Field(default=None, description="one customer's entries")
    limit: PageSize | Empty | None = Limit
    before: RecordId | Empty | None = Before


class EventsQuery(_Query):
    unaddressed: Literal["true", "false"] | None = Field(
        default=None, description="only events whose customer has no account manager"
    )
    customer_id: RecordId | Empty | None = Field(default=None, description="one customer's events")
    kind: str | None = Field(default=None, max_length=32, description="one kind of event")
    limit: PageSize | Empty | None = Limit
    before: RecordId | Empty | None = Before


class ManagersQuery(_Query):
    due: Literal["true", "false"] | None = Field(
        default=None, description="only those lapsed, due within within_days or never certified"
    )
    within_days: Annotated[int, Field(ge=0, le=366)] | Empty | None = Field(default=None, description="default 30")


class StaffQuery(_Query):
    role: Role | Empty | None = Field(default=None, description="one role")
    org_unit_id: RecordId | Empty | None = Field(default=None, description="one unit")


class AuditQuery(_Query):
    customer_id: RecordId | Empty | None = Field(default=None, description="one customer's trail")
    username: str | None = Field(default=None, max_length=64, description="who read or changed")
    action: str | None = Field(default=None, max_length=32, description="read, change, or such as staff.created")
    since: str | None = Field(default=None, description="a date (2026-11-25) or date-time (Korean time if naive)")
    until: str | None = Field(default=None, description="a date (included) or date-time")
    limit: PageSize | Empty | None = Limit
    before: RecordId | Empty | None = Before


class ReviewQuery(_Query):
    type: CallType | Empty | None = Field(default=None, description="one call type")
    urgency: Literal[tuple(review.URGENCY_ORDER)] | Empty | None = Field(  # type: ignore[valid-type]
        default=None, description="one urgency"
    )
    state: ReviewState | Empty | None = Field(default=None, description="one state of the queue")


class CorrectionsQuery(_Query):
    after: Annotated[int, Field(ge=0, le=MAX_ID)] | Empty | None = Field(
        default=None, description="only corrections with a larger id"
    )


class DispatchQuery(_Query):
    state: Literal[dispatch.STATES] | Empty | None = Field(  # type: ignore[valid-type]
        default=None, description="one state; default the live ones (draft to reporting)"
    )
    limit: PageSize | Empty | None = Limit
    offset: Annotated[int, Field(ge=0, le=MAX_ID)] | Empty | None = Field(
        default=None, description="skip this many (the next page)"
    )


class ComplaintsQuery(_Query):
    state: State | Empty | None = Field(default=None, description="one state of the seven steps, closed or reopened")
    overdue: Literal["true", "false"] | Empty | None = Field(
        default=None, description="true: only open complaints past a limit (resolve, next step, acknowledgement)"
    )
    org_unit_id: RecordId | Empty | None = Field(default=None, description="one responsible unit")
    limit: PageSize | Empty | None = Field(default=None, description="at most this many (1 to 200, default 50)")
    after: RecordId | Empty | None = Field(
        default=None, description="the last complaint seen: the next page (ordered by resolve limit, then id)"
    )


class AnalysisQuery(_Query):
    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | Empty | None = Field(
        default=None, description="YYYY-MM (1970-01 to 2999-12); default this month in Korea"
    )


class StoredAnalysisQuery(AnalysisQuery):
    org_unit_id: RecordId | Empty | None = Field(
        default=None, description="an org unit of your part of the organisation; default your own"
    )


class DepartmentsQuery(_Query):
    org_unit_id: RecordId | Empty | None = Field(
        default=None, description="an org unit of your part of the organisation; default your own"
    )


class ActionsQuery(_Query):
    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | Empty | None = Field(
        default=None, description="only the actions on this month's findings (YYYY-MM)"
    )
    open: Literal["true", "false"] | Empty | None = Field(default=None, description="true: only those not closed")


class MonthlyReportQuery(AnalysisQuery):
    unit: RecordId | Empty | None = Field(
        default=None,
        description="an org unit of your part of the organisation, counted with the units below it; default your own",
    )


class StoredReportsQuery(_Query):
    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | Empty | None = Field(
        default=None, description="only this month's reports (YYYY-MM); default every month, newest first"
    )


class CustomerListQuery(_Query):
    list: Literal[tuple(labels.CUSTOMER_LISTS)] | Empty | None = Field(  # type: ignore[valid-type]
        default=None, description="which list; default quality"
    )
    segment: Literal[tuple(labels.SEGMENTS)] | Empty | None = Field(  # type: ignore[valid-type]
        default=None, description="the segment entered or left (lists entered and left); default quality"
    )
    unit: RecordId | Empty | None = Field(
        default=None, description="an org unit of your part of the organisation, with the units below; default yours"
    )
    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | Empty | None = Field(
        default=None, description="YYYY-MM (entrants, leavers, alerts of that month); default last month in Korea"
    )


class CallbacksQuery(_Query):
    state: Literal["open", "done"] | Empty | None = Field(
        default=None, description="open (default, oldest first) or done (most recently done first)"
    )
    queue: str | None = Field(default=None, max_length=32, description="one queue by name")
    limit: PageSize | Empty | None = Field(default=None, description="at most this many (1 to 200, default 50)")
    after: RecordId | Empty | None = Field(default=None, description="the last task seen: the next page")


class NoticesQuery(_Query):
    unread: Literal["true", "false"] | Empty | None = Field(default=None, description="true: only those not read")


# -- the document ------------------------------------------------------------------------------------------------


async def openapi(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json: the document, generated from ROUTES."""
    return web.json_response(document())


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of /api/v1 (built once)."""
    return openapi_document(ROUTES, title="Hotline API", version="1", prefix=PREFIX)


# -- the table ------------------------------------------------------------------------------------------------------

CUSTOMER = "/customers/" + ID % "customer_id"
MANAGER = "/account-managers/{username}"
DISPATCH = "/dispatches/" + ID % "request_id"
VENDOR = "/vendors/" + ID % "vendor_id"
COMPLAINT = "/complaints/" + ID % "complaint_id"
DESK_CALL = "/desk/calls/{call_sid}"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/openapi.json", openapi, "This document", None, public=True),
    # calls
    Route("GET", "/calls", api.list_calls, "Calls, newest first", calls.CallPage, query=CallsQuery),
    Route("GET", "/calls/{call_sid}", api.get_call_view, "One call (audited)", calls.CallPublic, errors=(404,)),
    # customers
    Route("POST", "/customers", customers_api.create_customer, "Create a customer (answers its picture)",
          customers.CustomerPicture, status=201, body=customers.CustomerCreate, errors=(403, 409)),
    Route("GET", "/customers/lookup", customers_api.lookup_customer,
          "Screen-pop: the customer picture by phone number (audited)", customers.CustomerPicture,
          query=LookupQuery, errors=(404,)),
    Route("GET", CUSTOMER, customers_api.get_customer, "The customer picture (audited)", customers.CustomerPicture,
          query=PictureQuery),
    Route("PATCH", CUSTOMER, customers_api.update_customer, "Change a customer (answers the picture after it)",
          customers.CustomerPicture, body=customer_updates.CustomerUpdate, errors=(409,)),
    Route("POST", CUSTOMER + "/policies", customers_api.add_policy,
          "Add a policy; aggregates and segment follow at once", customers.PolicyAnswer, status=201,
          body=customers.PolicyCreate),
    Route("POST", CUSTOMER + "/claims", customers_api.add_claim,
          "Add a claim; aggregates, segment and claim alerts follow at once", customers.ClaimAnswer, status=201,
          body=customers.ClaimCreate),
    Route("GET", CUSTOMER + "/segment-history", customers_api.segment_history,
          "Every segment change with its reason and date", customers.SegmentHistory),
    Route("PUT", CUSTOMER + "/account-manager", customers_api.assign_manager,
          "Make a certified manager the customer's one account manager", account_managers.AssignmentPublic,
          body=account_managers.AssignmentCreate, errors=(409,)),
    Route("GET", CUSTOMER + "/account-manager/history", customers_api.manager_history,
          "Account managers of the customer, newest first (audited)", account_managers.AssignmentList),
    Route("POST", CUSTOMER + "/transfer", customers_api.transfer_customer,
          "Move the customer to another branch (both units in scope)", transfers.TransferPublic,
          body=transfers.CustomerTransfer, roles=frozenset({Role.CENTER_MANAGER, Role.ADMIN})),
    Route("PATCH", "/claims/" + ID % "claim_id", customers_api.update_claim,
          "Change a claim's status, amount paid or closing date", customers.ClaimAnswer,
          body=customer_updates.ClaimUpdate),
    # account managers
    Route("GET", "/account-managers", supervision_api.account_managers,
          "Account managers of your part of the organisation with their yearly certification, those needing one"
          " first", certifications.ManagerCertificationList, query=ManagersQuery),
    Route("GET", MANAGER, customers_api.manager_profile, "An account manager: grade, certifications, customers",
          account_managers.ManagerProfile),
    Route("POST", MANAGER + "/certifications", customers_api.certify_manager,
          "Certify or re-rate for a year (principal and senior: provincial branch; others: city branch)",
          account_managers.ManagerProfile, status=201, body=account_managers.CertificationCreate,
          roles=SUPERVISORS),
    Route("GET", MANAGER + "/report", customers_api.manager_report, "Monthly visit analysis report",
          account_managers.ManagerReport, query=ReportQuery),
    Route("GET", MANAGER + "/events", customers_api.manager_events,
          "Major customer events reported to the manager (graded text masked, audited)", events.CustomerEventList,
          query=LimitQuery),
    Route("GET", MANAGER + "/tasks", customers_api.manager_tasks, "A manager's duties in due-date order",
          service_tasks.TaskList, query=TasksQuery, roles=SUPERVISORS | {Role.ACCOUNT_MANAGER}),
    Route("POST", "/service-tasks/" + ID % "task_id" + "/done", customers_api.complete_task,
          "Mark a duty done with its outcome", service_tasks.TaskPublic, body=service_tasks.TaskCompletion,
          roles=frozenset({Role.ACCOUNT_MANAGER, Role.CENTER_MANAGER}), errors=(409,)),
    # blacklist and customer events
    Route("POST", "/blacklist", customers_api.add_blacklist_entry,
          "Propose to list a customer (in force once a center manager approves)",
          blacklist_decisions.BlacklistEntryPublic, status=201, body=blacklist.BlacklistCreate, errors=(404, 409)),
    Route("GET", "/blacklist", supervision_api.blacklist_entries,
          "Entries of your part of the organisation, newest first; each customer shown is an audited read",
          blacklist_decisions.BlacklistPage, query=BlacklistQuery, roles=SUPERVISORS),
    Route("POST", "/blacklist/" + ID % "entry_id" + "/approve", customers_api.approve_blacklist_entry,
          "Approve a proposal: the listing is in force", blacklist_decisions.BlacklistEntryPublic,
          roles=blacklist.APPROVERS, errors=(409,)),
    Route("POST", "/blacklist/" + ID % "entry_id" + "/revoke", supervision_api.revoke_blacklist_entry,
          "Revoke a listing or reject a proposal, with the reason", blacklist_decisions.BlacklistEntryPublic,
          body=blacklist_decisions.BlacklistRevoke, roles=blacklist.APPROVERS, errors=(409,)),
    Route("GET", "/customer-events", supervision_api.customer_events,
          "Customer events of your part of the organisation (unaddressed: customers without a manager)",
          events.CustomerEventPage, query=EventsQuery, roles=SUPERVISORS),
    # organisation and administration
    Route("GET", "/org-units", customers_api.org_units, "The org tree", org.OrgUnitList),
    Route("POST", "/org-units", admin_api.create_org_unit, "Open a unit one level below its parent",
          org.OrgUnitAnswer, status=201, body=admin.OrgUnitCreate, roles=ADMINS, errors=(409,)),
    Route("PATCH", "/org-units/" + ID % "unit_id", admin_api.update_org_unit, "Rename, close or reopen a unit",
          org.OrgUnitAnswer, body=admin.OrgUnitUpdate, roles=ADMINS, errors=(409,)),
    Route("GET", "/staff", customers_api.staff, "Staff in your scope", org.StaffList, query=StaffQuery),
    Route("POST", "/staff", admin_api.create_staff, "Create a staff account", admin.StaffMember, status=201,
          body=admin.StaffCreate, roles=ADMINS, errors=(409,)),
    Route("PATCH", "/staff/" + ID % "staff_id", admin_api.update_staff,
          "Change name, role, unit, clearance or active", admin.StaffMember, body=admin.StaffUpdate, roles=ADMINS,
          errors=(409,)),
    Route("POST", "/staff/" + ID % "staff_id" + "/password", admin_api.reset_password,
          "Set a new password (revokes the account's sessions and tokens)", admin.StaffMember,
          body=admin.PasswordReset, roles=ADMINS),
    Route("GET", "/audit", admin_api.audit_trail,
          "The audit trail: one customer's, or (administrators, executives) by person, action and dates", AuditPage,
          query=AuditQuery, roles=SUPERVISORS, errors=(404,)),
    # review queue, tokens, training data
    Route("GET", "/review-items", review_api.review_items, "Your review queue, most urgent first",
          review.ReviewItemList, query=ReviewQuery),
    Route("POST", "/review-items/" + ID % "item_id" + "/take", review_api.take_review_item,
          "Take an item to work it", review.ReviewItemPublic, roles=review.REVIEWERS, errors=(409,)),
    Route("GET", "/tokens", review_api.tokens, "Your API tokens (administrators: those of their part)",
          auth.TokenList),
    Route("DELETE", "/tokens/" + ID % "token_id", review_api.revoke_token, "Revoke a token within your reach",
          auth.TokenPublic),
    Route("GET", "/corrections", review_api.corrections,
          "Corrections of calls in scope as training rows (masked, audited)", review.CorrectionList,
          query=CorrectionsQuery, roles=frozenset({Role.ADMIN, Role.EXECUTIVE})),
    # the live desk
    Route("PUT", "/agents/me/state", desk_api.put_my_state,
          "Choose your desk state (not while a call is offered to you or connected)", agents.AgentStatePublic,
          body=agents.AgentStateChoice, roles=agents.DESK_ROLES, errors=(409,)),
    Route("GET", "/customers/search", desk_api.search_customers,
          "Customers in scope by phone, vehicle plate, policy number or the start of a name (masked, audited)",
          search.CustomerSearchPage, query=desk_api.SearchQuery),
    Route("GET", CUSTOMER + "/open-cases", desk_api.customer_open_cases,
          "The customer's complaints not closed and dispatch requests under way, for the screen pop (audited)",
          open_cases.OpenCases, query=PictureQuery),
    Route("GET", "/desk/ws", desk_socket.desk_socket,
          "Open your desk: a WebSocket (101 Switching Protocols) of JSON text frames with `type`. Server to agent: "
          "`state` (`state`, `since`) at once and on every change, `offer`, `call`, `transcript`, `suggestion`, "
          "`callbacks` (a call-back task of a queue you serve made or done: read the list again), "
          "`error` (a frame refused); agent to server: `accept`, `decline` (`call_sid`). Closing it takes you "
          "offline; so does a connection gone quiet. A console session must come from the console's origin.",
          None, status=101, roles=agents.DESK_ROLES, errors=(400,)),
    # the live call's forms: the agent holding the call, or a desk supervisor who sees it
    Route("POST", DESK_CALL + "/customer", desk_calls_api.link_caller,
          "Link the caller to a customer for this call (audited)", call_work.CallWorkAnswer, status=201,
          body=call_work.CallerLink, roles=call_work.DESK_WRITERS),
    Route("POST", DESK_CALL + "/accident-report", desk_calls_api.accident_report,
          "File an accident report: a claim notice at once and, when asked, a dispatch request",
          call_work.CallWorkAnswer, status=201, body=call_work.AccidentReport, roles=call_work.DESK_WRITERS),
    Route("POST", DESK_CALL + "/complaint", desk_calls_api.complaint_intake,
          "Take a complaint: opens one (a repeat on the topic links to the open one)", call_work.CallWorkAnswer,
          status=201, body=call_work.ComplaintIntake, roles=call_work.DESK_WRITERS),
    Route("POST", DESK_CALL + "/change", desk_calls_api.change_notice,
          "Take a change notification: a proposed customer change for the operator's review",
          call_work.CallWorkAnswer, status=201, body=call_work.ChangeNotice, roles=call_work.DESK_WRITERS),
    Route("POST", DESK_CALL + "/inquiry", desk_calls_api.inquiry_answered, "Record an inquiry answered",
          call_work.CallWorkAnswer, status=201, body=call_work.InquiryAnswered, roles=call_work.DESK_WRITERS),
    Route("POST", DESK_CALL + "/notes", desk_calls_api.call_note, "Add a note to the call", call_work.CallWorkAnswer,
          status=201, body=call_work.CallNote, roles=call_work.DESK_WRITERS),
    Route("POST", DESK_CALL + "/transfer", desk_calls_api.transfer_call,
          "Transfer the caller to another queue with a note (the agent goes to wrap-up)", call_work.CallWorkAnswer,
          status=201, body=call_work.CallTransfer, roles=call_work.DESK_WRITERS, errors=(409,)),
    Route("POST", DESK_CALL + "/wrap-up", desk_calls_api.wrap_up,
          "Wrap up with a disposition code: the agent holding the call is available again", call_work.CallWorkAnswer,
          status=201, body=call_work.WrapUp, roles=call_work.DESK_WRITERS, errors=(409,)),
    Route("PUT", "/agents/{username}", agents_api.put_agent_profile,
          "Set an agent's desk profile: skills (the queues served) and endpoint (audited; your part of the "
          "organisation)", agents.AgentStatePublic, body=profiles.AgentProfileUpdate, roles=profiles.PROFILE_KEEPERS),
    Route("GET", "/desk/callbacks", desk_callbacks.list_callbacks,
          "Call-back tasks (회신 전화) of the queues you serve: callers who hung up while waiting or left a message "
          "after hours; the customer named only within your scope (audited)", callbacks.CallbackPage,
          query=CallbacksQuery, roles=callbacks.CALLBACK_WORKERS),
    Route("POST", "/desk/callbacks/" + ID % "callback_id" + "/done", desk_callbacks.close_callback,
          "Close a call-back task of your queues with what came of it (audited; typed registration, card and "
          "account numbers masked)", callbacks.CallbackPublic, body=callbacks.CallbackDone,
          roles=callbacks.CALLBACK_WORKERS, errors=(409,)),
    Route("GET", "/desk/wallboard", wallboard.get_wallboard,
          "The wallboard of your part of the organisation: per queue, calls waiting and the longest wait now, your "
          "agents by state, today's (Korea time) service level, abandonment rate and average handling time",
          desk_wallboard.Wallboard, roles=wallboard.WATCHERS),
    # dispatch: surveyors, the board, assignment and the answers of the one sent
    Route("PUT", "/surveyors/{username}", dispatch_api.put_surveyor,
          "Create or update a surveyor's profile (a surveyor: their own status and location)",
          dispatch.SurveyorPublic, body=dispatch.SurveyorUpdate, roles=FIELD_ROLES),
    Route("POST", "/dispatches", dispatch_api.open_dispatch,
          "Open a dispatch request with the promise that applies and its due time", dispatch.DispatchPublic,
          status=201, body=dispatch.DispatchCreate, roles=BOARD_ROLES, errors=(404,)),
    Route("GET", "/dispatches", dispatch_api.dispatch_board,
          "Requests of your part of the organisation (a surveyor: their own), late first, then by time left",
          dispatch.DispatchPage, query=DispatchQuery, roles=FIELD_ROLES),
    Route("GET", DISPATCH, dispatch_api.get_dispatch, "One request with the time left against its promise",
          dispatch.DispatchPublic, roles=FIELD_ROLES),
    Route("GET", DISPATCH + "/suggestions", dispatch_api.dispatch_suggestions,
          "Who can take the request, earliest arrival first, with the reasons", dispatch.CandidateList,
          roles=BOARD_ROLES),
    Route("POST", DISPATCH + "/assign", dispatch_api.assign_dispatch,
          "Offer an open request to a surveyor (a survey) or a vendor (tow, rescue), to be accepted in time",
          dispatch.DispatchAssignmentPublic, body=dispatch.DispatchAssignmentCreate, roles=BOARD_ROLES, errors=(409,)),
    Route("POST", DISPATCH + "/accept", dispatch_api.accept_dispatch,
          "Accept the assignment (the surveyor sent; the board for a vendor)", dispatch.DispatchPublic,
          roles=FIELD_ROLES, errors=(409,)),
    Route("POST", DISPATCH + "/decline", dispatch_api.decline_dispatch,
          "Decline the assignment: the request goes back to the board", dispatch.DispatchPublic,
          roles=FIELD_ROLES, errors=(409,)),
    Route("POST", DISPATCH + "/steps", dispatch_api.step_dispatch,
          "Report a step: en_route, on_site, reporting (a survey), done", dispatch.DispatchPublic,
          body=dispatch.StepTaken, roles=FIELD_ROLES, errors=(409,)),
    Route("POST", DISPATCH + "/cancel", dispatch_api.cancel_dispatch,
          "Call off a request that is not done; its assignment ends", dispatch.DispatchPublic,
          body=dispatch.DispatchCancel, roles=BOARD_ROLES, errors=(409,)),
    Route("GET", DISPATCH + "/report", dispatch_api.get_survey_report,
          "The survey report filed for the request (damage, liability, estimate, its claim, photos); 404 before it is",
          SurveyReportPublic, roles=FIELD_ROLES),
    Route("GET", "/vendors", vendors_api.list_vendors,
          "Tow and rescue vendors serving your part of the organisation (in it or above it), by name; phones masked",
          vendors.VendorList, roles=BOARD_ROLES),
    Route("POST", "/vendors", vendors_api.register_vendor,
          "Register a tow or rescue vendor: services, the units whose area it serves (of your part), phone, base",
          vendors.VendorPublic, status=201, body=vendors.VendorCreate, roles=BOARD_ROLES, errors=(409,)),
    Route("GET", VENDOR, vendors_api.get_vendor, "One vendor serving your part of the organisation",
          vendors.VendorPublic, roles=BOARD_ROLES),
    Route("PATCH", VENDOR, vendors_api.update_vendor,
          "Change a vendor all of whose service units lie in your part (active: false stops offering it)",
          vendors.VendorPublic, body=vendors.VendorUpdate, roles=BOARD_ROLES, errors=(409,)),
    # complaints
    Route("POST", "/complaints", complaints_api.open_complaint,
          "Open a complaint (the receipt step): 201 with its number and limits", complaint_wire.ComplaintOpened,
          status=201, body=complaint_wire.ComplaintCreate, roles=complaint_steps.RECEIVERS,
          errors=(404,), also=((200, "A repeat: the customer's open complaint on the topic, the call linked to it"),)),
    Route("GET", "/complaints", complaints_api.list_complaints,
          "Complaints of your part of the organisation, soonest resolve limit first", complaint_wire.ComplaintPage,
          query=ComplaintsQuery),
    Route("GET", "/complaints/analysis", complaints_api.analysis,
          "The month's complaints per 100,000 contracts in force, by disclosure category (your part)",
          complaint_analysis.ComplaintAnalysis, query=AnalysisQuery),
    Route("GET", "/complaints/analysis/reports", complaint_followup_api.stored_analysis,
          "The month's analysis of a unit as the workers stored it at the start of the following month",
          complaint_followup.MonthReportPublic, query=StoredAnalysisQuery, errors=(404,)),
    Route("POST", "/complaints/analysis/reports", complaint_followup_api.generate_analysis,
          "Have the workers generate the month's analyses again now (202 with their job)",
          complaint_followup_api.AnalysisQueued, status=202, body=complaint_followup_api.AnalysisRequest,
          roles=complaint_followup.ACTION_KEEPERS, errors=(404,)),
    Route("GET", "/complaints/corrective-actions", complaint_followup_api.list_actions,
          "Corrective actions on the months' findings in your part of the organisation, soonest due first",
          complaint_followup_api.ActionList, query=ActionsQuery),
    Route("POST", "/complaints/corrective-actions", complaint_followup_api.create_action,
          "Attach a corrective action (what, owner, due) to a month's findings of a unit",
          complaint_followup.ActionPublic,
          status=201, body=complaint_followup.ActionCreate, roles=complaint_followup.ACTION_KEEPERS),
    Route("POST", "/complaints/corrective-actions/" + ID % "action_id", complaint_followup_api.follow,
          "Follow a corrective action: done (its owner), effect checked, closed, in that order",
          complaint_followup.ActionPublic, body=complaint_followup.ActionUpdate, errors=(404, 409)),
    Route("GET", "/complaint-departments", complaint_followup_api.list_departments,
          "The departments of a unit complaints may be transferred to (its customer management department first)",
          complaint_followup_api.DepartmentList, query=DepartmentsQuery, errors=(404,)),
    Route("POST", "/complaint-departments", complaint_followup_api.create_department,
          "Add a department to a unit of your part of the organisation", coordination.DepartmentPublic, status=201,
          body=coordination.DepartmentCreate, roles=coordination.DEPARTMENT_KEEPERS, errors=(409,)),
    Route("POST", COMPLAINT + "/subtasks/" + ID % "subtask_id", complaint_followup_api.mark,
          "Mark a coordination sub-task done or undone (its owner, a center manager or an executive)",
          complaint_wire.ComplaintDetail, body=coordination.SubtaskMark, roles=complaint_steps.STEP_TAKERS,
          errors=(409,)),
    Route("GET", COMPLAINT, complaints_api.get_complaint, "A complaint with its dossier (audited)",
          complaint_wire.ComplaintDetail),
    Route("POST", COMPLAINT + "/steps", complaints_api.take_step,
          "Take a step with its form (who may: see each step's schema); answers the complaint after it",
          complaint_wire.ComplaintDetail, body=complaint_steps.StepTaken, roles=complaint_steps.STEP_TAKERS,
          errors=(409,)),
    # reports
    Route("GET", "/reports/monthly", reports_api.monthly,
          "The month's calls of a unit and its subtree by type, topic, hour, weekday and caller segment, the change "
          "against the month before and a year before, and the topics whose share rose significantly",
          monthly_reports.MonthlyReport, query=MonthlyReportQuery, roles=SUPERVISORS, errors=(404,)),
    Route("GET", "/reports/stored", reports_api.stored_list,
          "The stored monthly reports of your unit and the units below it, newest month first",
          reports_api.StoredReportList, query=StoredReportsQuery, roles=SUPERVISORS),
    Route("GET", "/reports/stored/" + ID % "report_id", reports_api.stored_report,
          "A stored monthly report whole (your notice of it is marked read)", stored_reports.StoredReportDetail,
          roles=SUPERVISORS),
    Route("GET", "/reports/stored/" + ID % "report_id" + "/{format:pdf|xlsx}", reports_api.stored_download,
          "A stored monthly report as PDF or XLSX (charts with a table under each); audited", None,
          roles=SUPERVISORS, files=(PDF_TYPE, XLSX_TYPE)),
    Route("GET", "/reports/customers", reports_api.customer_list,
          "A customer list of a unit (quality, key, inferior, segment entrants and leavers, alerts): its first 200 "
          "rows, masked by your clearance; audited", customer_lists.CustomerList, query=CustomerListQuery,
          roles=SUPERVISORS, errors=(404,)),
    Route("GET", "/reports/customers/{format:csv|xlsx}", reports_api.customer_export,
          "A customer list exported whole (up to 5,000 rows) as CSV or XLSX, masked by your clearance; audited",
          None, query=CustomerListQuery, roles=SUPERVISORS, errors=(404,), files=(CSV_TYPE, XLSX_TYPE)),
    Route("GET", "/reports/notices", reports_api.notices,
          "Your notices of the month's reports (read or not)", reports_api.ReportNoticeList, query=NoticesQuery,
          roles=SUPERVISORS),
)  # fmt: skip
