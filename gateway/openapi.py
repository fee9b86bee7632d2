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
    text = {400: "invalid parameter", 401: "missing or invalid bearer token", 404: "not found"}
    return {
        str(code): {
            "description": text[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the JSON API."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hotline API", "version": "1", "description": "Contact-center records of the insurer."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Call": _CALL, "Error": _ERROR},
        },
        "paths": {
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
