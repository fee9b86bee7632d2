"""The OpenAPI description of /api/v1/ (kept beside the handlers it describes)."""

from __future__ import annotations

from typing import Any

_CALL: dict[str, Any] = {
    "type": "object",
    "required": [
        "call_sid",
        "status",
        "from",
        "to",
        "customer_id",
        "type",
        "topic",
        "transcript",
        "started_at",
        "ended_at",
        "duration",
    ],
    "properties": {
        "call_sid": {"type": "string", "pattern": "^CA[0-9a-f]{32}$"},
        "status": {"type": ["string", "null"], "description": "Twilio's last call status"},
        "from": {"type": ["string", "null"]},
        "to": {"type": ["string", "null"]},
        "direction": {"type": ["string", "null"]},
        "customer_id": {"type": ["integer", "null"]},
        "type": {
            "type": ["string", "null"],
            "enum": ["report", "inquiry", "complaint", "notification", "dispatch", None],
        },
        "topic": {"type": ["string", "null"]},
        "urgency": {"type": ["string", "null"]},
        "sentiment": {"type": ["string", "null"]},
        "entities": {"type": "array", "items": {"type": "object"}},
        "classification": {"type": "object", "description": "scores, reasons, secondary types, model"},
        "proposed_changes": {"type": "array", "items": {"type": "object"}},
        "transcript": {"type": ["string", "null"], "description": "redacted transcript"},
        "turns": {"type": "array", "items": {"type": "object"}},
        "asr_model": {"type": ["string", "null"]},
        "asr_sample_rate": {"type": ["integer", "null"]},
        "recording": {"type": ["object", "null"]},
        "processing": {
            "type": "object",
            "properties": {"state": {"type": "string"}, "failure_reason": {"type": ["string", "null"]}},
        },
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
        "duration": {"type": ["integer", "null"], "description": "seconds"},
    },
}

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "invalid parameter",
        401: "missing or invalid bearer token",
        403: "not allowed for this role or level",
        404: "not found (or outside your scope)",
        409: "conflicts with stored data",
        422: "invalid body: `fields` names each problem",
    }
    schema = {409: "FieldError", 422: "FieldError", 400: "FieldError"}
    return {
        str(code): {
            "description": text[code],
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema.get(code, 'Error')}"}}},
        }
        for code in codes
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _items(name: str) -> dict[str, Any]:
    return {"type": "object", "properties": {"items": {"type": "array", "items": _ref(name)}}}


def _operation(
    summary: str,
    answer: dict[str, Any],
    *errors: int,
    status: int = 200,
    body: str | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {str(status): _json(answer, summary), **_errors(401, *errors)},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "integer"}}


def _query(name: str, schema: dict[str, Any], description: str = "", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


_STRING, _INT, _DATE = {"type": "string"}, {"type": "integer"}, {"type": "string", "format": "date"}
# An id in a request body: what PostgreSQL's integer key holds (crm_store.validation.MAX_ID).
_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
# An amount in KRW (crm_store.customers.records.MAX_AMOUNT).
_AMOUNT = {"type": "integer", "minimum": 0, "maximum": 10**13}
_CALL_SID = _query("call_sid", {"type": "string", "pattern": "^CA[0-9a-f]{32}$"}, "the call this read serves (audited)")
_LINES = ["auto", "home", "fire", "cargo", "liability", "personal_accident", "travel", "property"]
_ROLES = ["agent", "operator", "center_manager", "account_manager", "dispatcher", "surveyor", "executive", "admin"]
_ALERT_KINDS = ["blacklist", "frequent_claims", "high_loss_ratio", "key_customer", "repeat_complainant"]

_CUSTOMER_SCHEMAS: dict[str, Any] = {
    "FieldError": {
        "type": "object",
        "required": ["error", "fields"],
        "properties": {"error": _STRING, "fields": {"type": "object", "additionalProperties": _STRING}},
    },
    "CustomerCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["kind", "name", "phones", "registration_number", "org_unit_id"],
        "properties": {
            "kind": {"enum": ["individual", "corporate"]},
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "phones": {
                "type": "array",
                "minItems": 1,
                "maxItems": 5,
                "items": _STRING,
                "description": "any common Korean format; stored as E.164",
            },
            "registration_number": {
                "type": "string",
                "writeOnly": True,
                "description": "13-digit resident or 10-digit business number; stored only as a "
                "keyed hash (matching) and a mask (display)",
            },
            "org_unit_id": {**_ID, "description": "owning unit, within your scope"},
            "vehicles": {"type": "array", "items": _STRING, "description": "plates such as 12가3456"},
            "key_account": {"enum": ["group", "system", "large_project", None]},
            "profile": {
                "oneOf": [_ref("IndividualProfile"), _ref("CorporateProfile"), {"type": "null"}],
                "description": "by kind: family, occupation, contact preferences; or industry, size, contacts",
            },
            "account_manager": {
                "type": ["string", "null"],
                "description": "username of a certified manager of the customer's branch or the city branch above; "
                "by default the nearest branch's certified manager with the fewest customers",
            },
        },
    },
    "PolicyCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["line", "premium", "start_date", "end_date"],
        "properties": {
            "line": {"enum": _LINES},
            "premium": {**_AMOUNT, "description": "annual premium, KRW"},
            "start_date": _DATE,
            "end_date": {**_DATE, "description": "after start_date, at most five years later"},
            "vehicle_plate": {"type": ["string", "null"]},
        },
    },
    "ClaimCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["policy_id", "occurred_on"],
        "properties": {
            "policy_id": {**_ID, "description": "one of this customer's policies"},
            "occurred_on": {**_DATE, "description": "within the policy period, not in the future"},
            "paid_amount": {**_AMOUNT, "default": 0},
            "status": {"enum": ["open", "paid", "closed", "rejected"], "default": "open"},
        },
    },
    "Policy": {
        "type": "object",
        "properties": {
            "id": _INT,
            "policy_number": _STRING,
            "line": _STRING,
            "premium": _INT,
            "start_date": _DATE,
            "end_date": _DATE,
            "customer_id": _INT,
            "segment": _STRING,
        },
    },
    "Claim": {
        "type": "object",
        "properties": {
            "id": _INT,
            "policy_id": _INT,
            "claim_number": _STRING,
            "occurred_on": _DATE,
            "paid_amount": _INT,
            "status": _STRING,
            "closed_on": {**_DATE, "type": ["string", "null"]},
            "customer_id": _INT,
            "segment": _STRING,
            "alerts": {"type": "array", "items": _ref("Alert")},
        },
    },
    "Alert": {
        "type": "object",
        "required": ["kind", "level", "reason"],
        "properties": {
            "kind": {"enum": _ALERT_KINDS},
            "level": {"enum": ["info", "warning", "critical"]},
            "reason": _STRING,
        },
    },
    "CustomerPicture": {
        "type": "object",
        "required": [
            "id",
            "name",
            "kind",
            "org_unit_id",
            "segment",
            "blacklisted",
            "alerts",
            "loss_ratio",
            "account_manager",
            "policies",
            "claims",
        ],
        "properties": {
            "id": _INT,
            "name": _STRING,
            "kind": {"enum": ["individual", "corporate"]},
            "org_unit_id": _INT,
            "org_unit_name": _STRING,
            "registration_number": {"type": ["string", "null"], "description": "masked (900101-1******)"},
            "phones": {"type": "array", "items": {"type": "object"}},
            "vehicles": {"type": "array", "items": _STRING},
            "profile": {"type": "object"},
            "segment": {"enum": ["quality", "key", "ordinary", "inferior"]},
            "segment_reason": {"type": ["string", "null"]},
            "segment_changed_at": {"type": ["string", "null"], "format": "date-time"},
            "segment_history": {"type": "array", "items": _ref("SegmentChange")},
            "key_account": {"type": ["string", "null"]},
            "blacklisted": {"type": "boolean", "description": "listed, or matching a listing anywhere in the company"},
            "blacklist": {
                "type": "array",
                "items": {"type": "object"},
                "description": "matching entries: entry_id, reason, matched_on, listed_at_unit, own_entry",
            },
            "alerts": {"type": "array", "items": _ref("Alert")},
            "loss_ratio": {
                "type": ["number", "null"],
                "description": "paid claims / earned premium over the window (default three years)",
            },
            "years": {
                "type": "array",
                "items": {"type": "object"},
                "description": "per year: earned_premium, paid, claims, loss_ratio",
            },
            "premium_total": _INT,
            "paid_total": _INT,
            "claim_count": _INT,
            "open_claims": _INT,
            "in_force_premium": _INT,
            "account_manager": {
                "type": ["object", "null"],
                "properties": {
                    "username": _STRING,
                    "full_name": _STRING,
                    "grade": _STRING,
                    "org_unit_id": _INT,
                    "since": _STRING,
                    "certified_on": {"type": ["string", "null"], "format": "date"},
                    "valid_until": {"type": ["string", "null"], "format": "date"},
                    "certification_lapsed": {
                        "type": "boolean",
                        "description": "the yearly certification ran out (or was never granted)",
                    },
                },
            },
            "entitlements": {"type": "array", "items": {"type": "object"}},
            "policies": {"type": "array", "items": _ref("Policy")},
            "claims": {"type": "array", "items": _ref("Claim")},
            "recent_calls": {"type": "array", "items": {"type": "object"}},
            "requests_90_days": {"type": "object", "description": "complaint, report, dispatch calls per type"},
            "open_requests": {
                "type": "array",
                "description": "complaints, accident reports and dispatch requests whose review is not closed",
                "items": {
                    "type": "object",
                    "properties": {
                        "call_sid": {"type": "string"},
                        "type": {"type": "string", "enum": ["complaint", "report", "dispatch"]},
                        "topic": {"type": ["string", "null"]},
                        "state": {"type": "string", "enum": ["processing", "open", "taken"]},
                        "queue": {"type": ["string", "null"], "description": "org unit whose operators review it"},
                        "since": {"type": "string", "format": "date-time"},
                    },
                },
            },
        },
    },
    "SegmentChange": {
        "type": "object",
        "properties": {
            "from": {"type": ["string", "null"]},
            "to": _STRING,
            "reason": _STRING,
            "at": {"type": "string", "format": "date-time"},
            "by": _STRING,
        },
    },
    "BlacklistCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["customer_id", "reason"],
        "properties": {
            "customer_id": _ID,
            "reason": {"type": "string", "minLength": 2, "maxLength": 500},
            "evidence": {"type": ["string", "null"]},
            "review_on": {**_DATE, "type": ["string", "null"]},
            "phones": {"type": "array", "items": _STRING, "description": "further numbers to match on"},
            "plates": {"type": "array", "items": _STRING, "description": "further plates to match on"},
        },
    },
    "BlacklistEntry": {
        "type": "object",
        "properties": {
            "id": _INT,
            "customer_id": _INT,
            "reason": {"type": "string", "description": "masked below its confidentiality grade"},
            "evidence": {"type": ["string", "null"], "description": "masked below its confidentiality grade"},
            "state": {
                "enum": ["pending", "in_force", "revoked"],
                "description": "a proposal matches nothing until a center manager approves it",
            },
            "approved": {"type": "boolean"},
            "approved_at": {"type": ["string", "null"], "format": "date-time"},
            "review_on": {"type": ["string", "null"]},
            "review_due": {"type": "boolean", "description": "in force and its review date has come"},
            "created_at": _STRING,
            "revoked_at": {"type": ["string", "null"], "format": "date-time"},
            "customer_name": {"type": "string", "description": "in the listing"},
            "org_unit_id": {"type": "integer", "description": "in the listing: the listed customer's unit"},
            "org_unit_name": {"type": "string", "description": "in the listing"},
            "proposed_by": {"type": ["string", "null"], "description": "in the listing"},
            "approved_by": {"type": ["string", "null"], "description": "in the listing"},
            "revoked_by": {"type": ["string", "null"], "description": "in the listing"},
            "revocation_reason": {"type": ["string", "null"], "description": "in the listing; masked like reason"},
        },
    },
    "CustomerEvent": {
        "type": "object",
        "properties": {
            "id": _INT,
            "customer_id": _INT,
            "account_manager": {"type": ["string", "null"], "description": "null: the customer has no manager"},
            "kind": _STRING,
            "level": {"enum": ["info", "warning", "critical"]},
            "reason": _STRING,
            "call_sid": {"type": ["string", "null"], "description": "the call that raised it"},
            "at": {"type": "string", "format": "date-time"},
        },
    },
    "BlacklistRevoke": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 2, "maxLength": 500}},
    },
    "OrgUnit": {
        "type": "object",
        "required": ["id", "code", "name", "level", "parent_id"],
        "properties": {
            "id": _INT,
            "code": _STRING,
            "name": _STRING,
            "level": {
                "type": "integer",
                "minimum": 0,
                "maximum": 3,
                "description": "0 head office, 1 provincial, 2 city, 3 county branch",
            },
            "parent_id": {"type": ["integer", "null"]},
            "path": _STRING,
        },
    },
    "Staff": {
        "type": "object",
        "required": ["username", "role", "org_unit_id"],
        "properties": {
            "id": _INT,
            "username": _STRING,
            "full_name": _STRING,
            "clearance": _INT,
            "org_unit_id": _INT,
            "role": {
                "enum": [
                    "agent",
                    "operator",
                    "center_manager",
                    "account_manager",
                    "dispatcher",
                    "surveyor",
                    "executive",
                    "admin",
                ]
            },
        },
    },
    "OrgUnitCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["code", "name", "parent_id"],
        "properties": {
            "code": {
                "type": "string",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{1,31}$",
                "description": "stored in capitals",
            },
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "parent_id": {**_ID, "description": "an open unit above the county level"},
        },
    },
    "OrgUnitUpdate": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}, "active": {"type": "boolean"}},
    },
    "StaffMember": {
        "type": "object",
        "properties": {
            "id": _INT,
            "username": _STRING,
            "full_name": _STRING,
            "role": _STRING,
            "org_unit_id": _INT,
            "clearance": _INT,
            "active": {"type": "boolean"},
            "has_password": {"type": "boolean"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "StaffCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["username", "full_name", "role", "org_unit_id", "clearance"],
        "properties": {
            "username": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{1,63}$"},
            "full_name": {"type": "string", "minLength": 1, "maxLength": 100},
            "role": {"enum": _ROLES},
            "org_unit_id": {**_ID, "description": "an open unit of your part of the organisation"},
            "clearance": {"type": "integer", "minimum": 0, "maximum": 5},
            "password": {"type": "string", "minLength": 8, "writeOnly": True, "description": "optional first password"},
        },
    },
    "StaffUpdate": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "full_name": {"type": "string", "minLength": 1, "maxLength": 100},
            "role": {"enum": _ROLES},
            "org_unit_id": _ID,
            "clearance": {"type": "integer", "minimum": 0, "maximum": 5},
            "active": {"type": "boolean"},
        },
    },
    "PasswordReset": {
        "type": "object",
        "additionalProperties": False,
        "required": ["password"],
        "properties": {"password": {"type": "string", "minLength": 8, "writeOnly": True}},
    },
    "AuditEntry": {
        "type": "object",
        "required": ["username", "customer_id", "fields", "at"],
        "properties": {
            "id": _INT,
            "username": _STRING,
            "staff_id": _INT,
            "customer_id": {"type": ["integer", "null"], "description": "null for an administrative change"},
            "action": _STRING,
            "fields": {"type": "array", "items": _STRING},
            "purpose": {"type": ["string", "null"]},
            "call_sid": {"type": ["string", "null"]},
            "remote_addr": {"type": ["string", "null"]},
            "at": {"type": "string", "format": "date-time"},
            "target": {"type": ["string", "null"], "description": "what a change concerned: staff:12, org_unit:5"},
            "org_unit_id": {"type": ["integer", "null"], "description": "the unit a change concerned"},
            "detail": {"type": ["object", "null"], "description": "values before and after, never a password"},
        },
    },
    "Assignment": {
        "type": "object",
        "properties": {
            "username": _STRING,
            "full_name": _STRING,
            "assigned_at": _STRING,
            "ended_at": {"type": ["string", "null"]},
            "reason": _STRING,
            "current": {"type": "boolean"},
        },
    },
    "CustomerTransfer": {
        "type": "object",
        "additionalProperties": False,
        "required": ["org_unit_id", "reason"],
        "properties": {
            "org_unit_id": {**_ID, "description": "the new owning unit, within your scope"},
            "reason": {"type": "string", "minLength": 2, "maxLength": 200},
        },
    },
    "Transfer": {
        "type": "object",
        "properties": {
            "customer_id": _INT,
            "from": {"type": "object"},
            "to": {"type": "object"},
            "account_manager": {"type": ["string", "null"], "description": "kept if in reach, else the new branch's"},
            "moved": {"type": "boolean"},
        },
    },
    "AssignmentCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["username"],
        "properties": {"username": _STRING, "reason": _STRING},
    },
    "CertificationCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["grade", "certified_on"],
        "properties": {
            "grade": {"enum": ["principal", "senior", "intermediate", "junior", "trainee"]},
            "certified_on": _DATE,
            "evaluation": {"type": ["string", "null"]},
        },
    },
    "AccountManager": {
        "type": "object",
        "properties": {
            "username": _STRING,
            "grade": {"type": ["string", "null"]},
            "certified_on": _STRING,
            "valid_until": _STRING,
            "certification": {
                "enum": ["uncertified", "lapsed", "due", "valid"],
                "description": "in the listing: the yearly certification's state",
            },
            "recertification_due": {"type": "boolean", "description": "in the listing"},
            "customers": _INT,
            "certifications": {"type": "array", "items": {"type": "object"}},
        },
    },
}

_CUSTOMER_ID = _path("customer_id")
_USERNAME = _path("username", _STRING)
_CUSTOMER_PATHS: dict[str, Any] = {
    "/customers": {
        "post": _operation(
            "Create a customer (answers its picture)",
            _ref("CustomerPicture"),
            409,
            422,
            status=201,
            body="CustomerCreate",
        ),
    },
    "/customers/lookup": {
        "get": _operation(
            "Screen-pop: the customer picture by phone number (audited)",
            _ref("CustomerPicture"),
            400,
            404,
            parameters=[_query("phone", _STRING, "any common Korean format", required=True), _CALL_SID],
        ),
    },
    "/customers/{customer_id}": {
        "get": _operation(
            "The customer picture (audited)", _ref("CustomerPicture"), 400, 404, parameters=[_CUSTOMER_ID, _CALL_SID]
        ),
    },
    "/customers/{customer_id}/policies": {
        "post": _operation(
            "Add a policy; aggregates and segment follow at once",
            _ref("Policy"),
            404,
            422,
            status=201,
            body="PolicyCreate",
            parameters=[_CUSTOMER_ID],
        ),
    },
    "/customers/{customer_id}/claims": {
        "post": _operation(
            "Add a claim; aggregates, segment and claim alerts follow at once",
            _ref("Claim"),
            404,
            422,
            status=201,
            body="ClaimCreate",
            parameters=[_CUSTOMER_ID],
        ),
    },
    "/customers/{customer_id}/segment-history": {
        "get": _operation(
            "Every segment change with its reason and date", _items("SegmentChange"), 404, parameters=[_CUSTOMER_ID]
        ),
    },
    "/customers/{customer_id}/account-manager": {
        "put": _operation(
            "Make a certified manager the customer's one account manager",
            _ref("Assignment"),
            404,
            409,
            422,
            body="AssignmentCreate",
            parameters=[_CUSTOMER_ID],
        ),
    },
    "/customers/{customer_id}/transfer": {
        "post": _operation(
            "Move the customer to another branch (center managers and administrators; both units in scope)",
            _ref("Transfer"),
            403,
            404,
            422,
            body="CustomerTransfer",
            parameters=[_CUSTOMER_ID],
        ),
    },
    "/customers/{customer_id}/account-manager/history": {
        "get": _operation(
            "Account managers of the customer, newest first", _items("Assignment"), 404, parameters=[_CUSTOMER_ID]
        ),
    },
    "/account-managers": {
        "get": _operation(
            "Account managers of your part of the organisation with their yearly certification, those needing one"
            " first (certification: uncertified, lapsed, due within within_days, valid)",
            _items("AccountManager"),
            400,
            parameters=[
                _query("due", {"type": "boolean"}, "only those lapsed, due within within_days or never certified"),
                _query("within_days", {"type": "integer", "minimum": 0, "maximum": 366}, "default 30"),
            ],
        ),
    },
    "/account-managers/{username}": {
        "get": _operation(
            "An account manager: grade, certifications, customers", _ref("AccountManager"), 404, parameters=[_USERNAME]
        ),
    },
    "/account-managers/{username}/certifications": {
        "post": _operation(
            "Certify or re-rate for a year (principal and senior: provincial branch; others: city branch)",
            _ref("AccountManager"),
            403,
            404,
            422,
            status=201,
            body="CertificationCreate",
            parameters=[_USERNAME],
        ),
    },
    "/account-managers/{username}/report": {
        "get": _operation(
            "Monthly visit analysis report",
            {"type": "object"},
            400,
            404,
            parameters=[_USERNAME, _query("month", {"type": "string", "pattern": "^\\d{4}-\\d{2}$"})],
        ),
    },
    "/account-managers/{username}/events": {
        "get": _operation(
            "Major customer events reported to the manager",
            {"type": "object"},
            400,
            404,
            parameters=[_USERNAME, _query("limit", {"type": "integer", "minimum": 1, "maximum": 200})],
        ),
    },
    "/blacklist": {
        "get": _operation(
            "Entries of your part of the organisation (center managers, executives, administrators), newest first;"
            " each customer shown is an audited read",
            {**_items("BlacklistEntry"), "properties": {**_items("BlacklistEntry")["properties"], "next": _STRING}},
            400,
            403,
            parameters=[
                _query(
                    "state",
                    {"enum": ["open", "pending", "in_force", "review_due", "revoked", "all"]},
                    "open (default): pending and in force; review_due: in force past their review date",
                ),
                _query("customer_id", _INT),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                _query("before", _INT, "keyset paging: entries with a smaller id"),
            ],
        ),
        "post": _operation(
            "Propose listing a customer (a center manager's listing is approved at once; others wait for one)",
            _ref("BlacklistEntry"),
            404,
            422,
            status=201,
            body="BlacklistCreate",
        ),
    },
    "/blacklist/{entry_id}/approve": {
        "post": _operation(
            "A center manager approves a proposal: it matches company-wide from now on",
            _ref("BlacklistEntry"),
            403,
            404,
            409,
            parameters=[_path("entry_id")],
        ),
    },
    "/blacklist/{entry_id}/revoke": {
        "post": _operation(
            "A center manager revokes an entry (or rejects a proposal) with a reason; audited",
            _ref("BlacklistEntry"),
            403,
            404,
            409,
            422,
            body="BlacklistRevoke",
            parameters=[_path("entry_id")],
        ),
    },
    "/customer-events": {
        "get": _operation(
            "Customer events of your part of the organisation (center managers, executives, administrators);"
            " unaddressed=true: those of customers without an account manager. Each customer shown is an audited read",
            {**_items("CustomerEvent"), "properties": {**_items("CustomerEvent")["properties"], "next": _STRING}},
            400,
            403,
            parameters=[
                _query("unaddressed", {"type": "boolean"}),
                _query("customer_id", _INT),
                _query("kind", _STRING, "blacklist, key_customer, repeat_complainant, segment_changed, ..."),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                _query("before", _INT),
            ],
        ),
    },
    "/org-units": {
        "get": _operation("The organisation tree", _items("OrgUnit")),
        "post": _operation(
            "Open an org unit one level below its parent (administrators, within their part of the organisation)",
            _ref("OrgUnit"),
            422,
            403,
            409,
            status=201,
            body="OrgUnitCreate",
        ),
    },
    "/org-units/{unit_id}": {
        "patch": _operation(
            "Rename, close (active false: no open units, active staff, customers or review items left) or reopen "
            "a unit below the administrator's own",
            _ref("OrgUnit"),
            422,
            403,
            404,
            409,
            body="OrgUnitUpdate",
            parameters=[_path("unit_id")],
        ),
    },
    "/staff": {
        "get": _operation(
            "Staff of your unit and below",
            _items("Staff"),
            400,
            parameters=[_query("role", _STRING), _query("org_unit_id", _INT)],
        ),
        "post": _operation(
            "Create a staff member with role, org unit and clearance grade (administrators; a grade no higher than "
            "their own)",
            _ref("StaffMember"),
            422,
            403,
            409,
            status=201,
            body="StaffCreate",
        ),
    },
    "/staff/{staff_id}": {
        "patch": _operation(
            "Change name, role, org unit, clearance grade, or deactivate (signs out everywhere, revokes API tokens) "
            "and reactivate",
            _ref("StaffMember"),
            422,
            403,
            404,
            409,
            body="StaffUpdate",
            parameters=[_path("staff_id")],
        ),
    },
    "/staff/{staff_id}/password": {
        "post": _operation(
            "Reset the password: any lockout lifted, every console session of the staff member ended and every API "
            "token of theirs revoked. Refused (403) for anyone of a clearance grade or role above the caller's",
            _ref("StaffMember"),
            422,
            403,
            404,
            body="PasswordReset",
            parameters=[_path("staff_id")],
        ),
    },
    "/audit": {
        "get": _operation(
            "The audit trail, newest first: reads of customer information and administrative changes. One "
            "customer's trail (customer_id) for center managers, executives and administrators who see the "
            "customer; otherwise administrators and executives, within their part of the organisation",
            {
                **_items("AuditEntry"),
                "properties": {
                    "items": {"type": "array", "items": _ref("AuditEntry")},
                    "next": {"type": ["string", "null"]},
                },
            },
            400,
            403,
            404,
            parameters=[
                _query("customer_id", _INT, "one customer's trail"),
                _query("username", _STRING, "who read or changed"),
                _query("action", _STRING, "read, change (every administrative change), or one such as staff.created"),
                _query("since", _STRING, "from this date (Korean business day) or date-time"),
                _query("until", _STRING, "up to this date (inclusive) or date-time (exclusive)"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                _query("before", _INT, "keyset cursor: the `next` link gives it"),
            ],
        ),
    },
}


_OBJECT = {"type": "object"}
_REVIEW_SCHEMAS: dict[str, Any] = {
    "ReviewItem": {
        "type": "object",
        "description": "A processed call record in the review queue of one org unit's operators",
        "properties": {
            "id": _INT,
            "call_sid": _STRING,
            "customer_id": {"type": ["integer", "null"]},
            "org_unit_id": _INT,
            "state": {"type": "string", "enum": ["open", "taken", "closed"]},
            "type": {"type": ["string", "null"]},
            "topic": {"type": ["string", "null"]},
            "urgency": {"type": ["string", "null"]},
            "route_reason": _STRING,
            "due_at": {"type": "string", "format": "date-time"},
            "escalations": _INT,
            "taken_by_id": {"type": ["integer", "null"]},
        },
    },
    "ApiToken": {
        "type": "object",
        "properties": {
            "id": _INT,
            "staff_id": _INT,
            "label": _STRING,
            "created_at": _STRING,
            "revoked_at": {"type": ["string", "null"]},
        },
    },
    "Correction": {
        "type": "object",
        "description": "An operator's confirmed or corrected classification: one training row (redacted text)",
        "properties": {
            "id": _INT,
            "call_sid": _STRING,
            "text": _STRING,
            "type": _STRING,
            "topic": _STRING,
            "entities": {"type": "array", "items": _OBJECT},
            "predicted": _OBJECT,
            "changed": {"type": "boolean"},
            "masked_fields": {"type": "array", "items": _STRING, "description": "graded entities masked for you"},
        },
    },
}
_REVIEW_PATHS: dict[str, Any] = {
    "/review-items": {
        "get": _operation(
            "The caller's own review queue, most urgent and newest first",
            _items("ReviewItem"),
            parameters=[_query("type", _STRING), _query("urgency", _STRING), _query("state", _STRING)],
        )
    },
    "/review-items/{item_id}/take": {
        "post": {
            **_operation(
                "Take an open item of one's own queue (one operator per item)", _ref("ReviewItem"), 403, 404, 409
            ),
            "parameters": [_path("item_id")],
        }
    },
    "/tokens": {
        "get": _operation(
            "The caller's API tokens (an administrator: those of the staff of their part of the organisation)",
            _items("ApiToken"),
        )
    },
    "/tokens/{token_id}": {
        "delete": {**_operation("Revoke an API token", _ref("ApiToken"), 404), "parameters": [_path("token_id")]}
    },
    "/corrections": {
        "get": _operation(
            "Corrections of calls in your scope as classifier training data, masked by your clearance and "
            "audited (administrators, executives)",
            _items("Correction"),
            403,
            parameters=[_query("after", _INT, "keyset cursor: the last id seen")],
        )
    },
}


# -- changes after creation (rule inputs, contacts, profile; claims) and the account managers' duties -----------
_PHONE_TEXT = {"type": "string", "description": "any common Korean format; stored as E.164"}
_FAMILY_MEMBER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["relation", "name"],
    "properties": {
        "relation": {"type": "string", "maxLength": 20, "description": "배우자, 자녀, 부, 모 ..."},
        "name": {"type": "string", "maxLength": 50},
        "birth_year": {"type": "integer", "minimum": 1900},
        "phone": _PHONE_TEXT,
    },
}
_CONTACT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "title", "phone"],
    "properties": {
        "name": {"type": "string", "maxLength": 50},
        "title": {"type": "string", "maxLength": 50},
        "phone": _PHONE_TEXT,
        "email": {"type": "string", "format": "email"},
    },
}
_REVIEW_DESK = {
    name: {"type": "string", "maxLength": 300, "description": "written by the review desk from a notification"}
    for name in ("address", "beneficiary", "policyholder", "vehicle_model", "vehicle_status", "policy_status")
}
_PROFILE_COMMON = {
    "note": {"type": "string", "maxLength": 1000},
    "email": {"type": "string", "format": "email"},
    "occupation": {"type": "string", "maxLength": 100},
    **_REVIEW_DESK,
}
_NOTE_KEYS = {"^note_[a-z0-9_]{1,40}$": {"type": "string", "maxLength": 500, "description": "review desk note"}}
_CHANGE_SCHEMAS: dict[str, Any] = {
    "IndividualProfile": {
        "type": "object",
        "additionalProperties": False,
        "patternProperties": _NOTE_KEYS,
        "description": "the profile of an individual (가족 구성, 직업, 연락 선호)",
        "properties": {
            **_PROFILE_COMMON,
            "family": {"type": "array", "maxItems": 20, "items": _FAMILY_MEMBER},
            "contact_preferences": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "channels": {"type": "array", "items": {"enum": ["phone", "sms", "email", "mail", "kakao"]}},
                    "best_time": {"type": "string", "maxLength": 50},
                    "do_not_call": {"type": "boolean"},
                },
            },
        },
    },
    "CorporateProfile": {
        "type": "object",
        "additionalProperties": False,
        "patternProperties": _NOTE_KEYS,
        "description": "the profile of a corporate customer (업종, 규모, 경영 상황, 담당자)",
        "properties": {
            **_PROFILE_COMMON,
            "industry": {"type": "string", "maxLength": 100},
            "size": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "employees": {"type": "integer", "minimum": 0},
                    "revenue_band": {
                        "enum": ["under_1b", "1b_10b", "10b_100b", "100b_1t", "over_1t"],
                        "description": "yearly revenue in KRW",
                    },
                },
            },
            "financial_notes": {"type": "string", "maxLength": 2000},
            "contacts": {"type": "array", "maxItems": 20, "items": _CONTACT},
        },
    },
    "CustomerUpdate": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "description": "only the fields given change; the segment is decided again at once",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "phones": {
                "type": "array",
                "minItems": 1,
                "maxItems": 5,
                "items": _STRING,
                "description": "the customer's numbers from now on (any common Korean format)",
            },
            "key_account": {"enum": ["group", "system", "large_project", None], "description": "null removes it"},
            "fraud_marker": {"type": "boolean"},
            "late_payments": {"type": "integer", "minimum": 0, "maximum": 1000},
            "profile": {
                "oneOf": [_ref("IndividualProfile"), _ref("CorporateProfile"), {"type": "null"}],
                "description": "by the customer's kind; keys given replace the stored ones, null removes one",
            },
        },
    },
    "ClaimUpdate": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "status": {"enum": ["open", "paid", "closed", "rejected"]},
            "paid_amount": _AMOUNT,
            "closed_on": {
                **_DATE,
                "type": ["string", "null"],
                "description": "a claim leaving open is closed today unless given; reopening clears it",
            },
        },
    },
    "ServiceTask": {
        "type": "object",
        "properties": {
            "id": _INT,
            "account_manager": {"type": ["string", "null"], "description": "whose duty it is"},
            "kind": {"enum": ["key_visit", "quality_interview", "renewal_reminder"]},
            "kind_name": _STRING,
            "customer_id": _INT,
            "customer_name": {**_STRING, "description": "in the list only (audited read)"},
            "customer_segment": _STRING,
            "policy_id": {"type": ["integer", "null"]},
            "policy_number": {"type": ["string", "null"]},
            "due_on": _DATE,
            "done_on": {**_DATE, "type": ["string", "null"]},
            "overdue": {"type": "boolean"},
            "note": _STRING,
            "outcome": {"type": ["string", "null"]},
            "done_by": {"type": ["string", "null"]},
        },
    },
    "TaskCompletion": {
        "type": "object",
        "additionalProperties": False,
        "required": ["outcome"],
        "properties": {
            "outcome": {"type": "string", "minLength": 1, "maxLength": 1000},
            "done_on": {**_DATE, "description": "today unless given; not in the future"},
        },
    },
}
_CHANGE_PATHS: dict[str, Any] = {
    "/customers/{customer_id}": {
        "patch": _operation(
            "Change rule inputs, name, phones or profile; the segment follows at once (answers the picture)",
            _ref("CustomerPicture"),
            404,
            409,
            422,
            body="CustomerUpdate",
            parameters=[_CUSTOMER_ID],
        ),
    },
    "/claims/{claim_id}": {
        "patch": _operation(
            "Change a claim's status, amount paid or closing date; aggregates, segment and alerts follow at once",
            _ref("Claim"),
            404,
            422,
            body="ClaimUpdate",
            parameters=[_path("claim_id")],
        ),
    },
    "/account-managers/{username}/tasks": {
        "get": _operation(
            "A manager's service duties in due-date order (the manager, center managers and levels above)",
            _items("ServiceTask"),
            400,
            403,
            404,
            parameters=[
                _USERNAME,
                _query("state", {"enum": ["open", "done", "all"], "default": "open"}),
                _query("kind", {"enum": ["key_visit", "quality_interview", "renewal_reminder"]}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
            ],
        ),
    },
    "/service-tasks/{task_id}/done": {
        "post": _operation(
            "Mark a duty done with its outcome (its manager or a center manager; again: answers it unchanged)",
            _ref("ServiceTask"),
            403,
            404,
            422,
            body="TaskCompletion",
            parameters=[_path("task_id")],
        ),
    },
}


def _merged_paths(*groups: dict[str, Any]) -> dict[str, Any]:
    """Path items of several groups; the operations of one path given in two groups are joined."""
    paths: dict[str, Any] = {}
    for group in groups:
        for path, item in group.items():
            paths[path] = {**paths.get(path, {}), **item}
    return paths


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the JSON API."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hotline API", "version": "1", "description": "Contact-center records of the insurer."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "hotline_session",
                    "description": "the console session; unsafe methods also need the X-CSRF-Token header",
                },
            },
            "schemas": {"Call": _CALL, "Error": _ERROR, **_CUSTOMER_SCHEMAS, **_REVIEW_SCHEMAS, **_CHANGE_SCHEMAS},
        },
        "paths": {
            **_merged_paths(_CUSTOMER_PATHS, _REVIEW_PATHS, _CHANGE_PATHS),
            "/calls": {
                "get": {
                    "summary": "Calls, newest first",
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                        {
                            "name": "before",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                            "description": "keyset cursor: the `next` link gives it",
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "a page of calls",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Call"}},
                                            "next": {"type": ["string", "null"]},
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(400, 401),
                    },
                }
            },
            "/calls/{call_sid}": {
                "get": {
                    "summary": "One call with its transcript and classification",
                    "parameters": [{"name": "call_sid", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {
                            "description": "the call",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Call"}}},
                        },
                        **_errors(401, 404),
                    },
                }
            },
        },
    }
