"""A stand-in for Twilio's REST API (calls and messages), for tests and `hotline simulate-call`.

It answers like api.twilio.com: HTTP Basic auth with the account SID and auth token (401 and Twilio's error
20003 otherwise), form-encoded requests, JSON resources with Twilio's field names, Twilio's error bodies
(`code`, `message`, `more_info`, `status`). Everything it was asked is recorded in `requests`, in order.
Point the service at it with `TWILIO_API_BASE`."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

API_VERSION = "2010-04-01"
# A call can be given new TwiML or ended only while it is live.
LIVE = frozenset({"queued", "ringing", "in-progress"})


@dataclass(frozen=True)
class StandInRequest:
    """One request Twilio's stand-in received (after authentication)."""

    method: str
    path: str
    params: dict[str, str]


@dataclass
class _Failure:
    status: int
    code: int
    message: str


@dataclass
class StandInCall:
    """A call as the stand-in knows it."""

    sid: str
    from_: str
    to: str
    status: str = "in-progress"
    twiml: list[str] = field(default_factory=list)
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_updated: datetime = field(default_factory=lambda: datetime.now(UTC))


def _rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment, usegmt=False) if moment is not None else None


class TwilioStandIn:
    """Twilio's REST API for one account, in this process."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self._expected = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.calls: dict[str, StandInCall] = {}
        self.messages: list[dict[str, Any]] = []
        self.requests: list[StandInRequest] = []
        self._failures: list[_Failure] = []
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- arranging ----------------------------------------------------------------------------------------

    def add_call(
        self, sid: str, *, from_: str = "+821012345678", to: str = "+8215881234", status: str = "in-progress"
    ) -> StandInCall:
        """A call Twilio knows of (incoming calls arrive by webhook; the stand-in learns them here)."""
        self.calls[sid] = StandInCall(sid=sid, from_=from_, to=to, status=status)
        return self.calls[sid]

    def fail_next(self, status: int, *, code: int = 20500, message: str = "Internal Server Error") -> None:
        """The next authenticated request is refused with this HTTP status and Twilio error code."""
        self._failures.append(_Failure(status, code, message))

    # -- the application ----------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application with Twilio's routes under /2010-04-01/Accounts/{AccountSid}/."""
        app = web.Application(middlewares=[self._middleware])
        prefix = f"/{API_VERSION}/Accounts/{{account_sid}}"
        app.router.add_post(prefix + "/Calls/{call_sid}.json", self._update_call)
        app.router.add_get(prefix + "/Calls/{call_sid}.json", self._fetch_call)
        app.router.add_post(prefix + "/Messages.json", self._create_message)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a local port; returns the base URL to give as TWILIO_API_BASE."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != self._expected:
            response = _error(401, 20003, "Authenticate")
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        if request.match_info.get("account_sid") != self.account_sid:
            return _not_found(request)
        params = {key: value for key, value in (await request.post()).items() if isinstance(value, str)}
        self.requests.append(StandInRequest(request.method, request.path, params))
        if self._failures:
            failure = self._failures.pop(0)
            return _error(failure.status, failure.code, failure.message)
        return await handler(request)

    # -- calls --------------------------------------------------------------------------------------------

    def _call_json(self, call: StandInCall) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call.sid}.json"
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": _rfc2822(call.date_created),
            "date_updated": _rfc2822(call.date_updated),
            "direction": "inbound",
            "duration": None,
            "end_time": _rfc2822(call.date_updated) if call.status not in LIVE else None,
            "forwarded_from": None,
            "from": call.from_,
            "from_formatted": call.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + "0" * 32,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": call.sid,
            "start_time": _rfc2822(call.date_created),
            "status": call.status,
            "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json")},
            "to": call.to,
            "to_formatted": call.to,
            "trunk_sid": None,
            "uri": uri,
        }

    async def _fetch_call(self, request: web.Request) -> web.Response:
        call = self.calls.get(request.match_info["call_sid"])
        if call is None:
            return _not_found(request)
        return web.json_response(self._call_json(call))

    async def _update_call(self, request: web.Request) -> web.Response:
        call = self.calls.get(request.match_info["call_sid"])
        if call is None:
            return _not_found(request)
        params = self.requests[-1].params
        status, twiml, url = params.get("Status"), params.get("Twiml"), params.get("Url")
        if status is not None and status not in ("completed", "canceled"):
            return _error(400, 21218, f"Invalid Status: {status}")
        if call.status not in LIVE:
            return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        if status is not None:
            call.status = "completed" if call.status == "in-progress" or status == "completed" else "canceled"
        elif twiml is not None:
            call.twiml.append(twiml)
        elif url is not None:
            call.twiml.append(f"<Redirect>{url}</Redirect>")
        else:
            return _error(400, 21201, "No 'Url', 'Twiml' or 'Status' parameter given")
        call.date_updated = datetime.now(UTC)
        return web.json_response(self._call_json(call))

    # -- messages -----------------------------------------------------------------------------------------

    async def _create_message(self, request: web.Request) -> web.Response:
        params = self.requests[-1].params
        if not params.get("To"):
            return _error(400, 21604, "A 'To' phone number is required.")
        if not params.get("From") and not params.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not params.get("Body") and not params.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        sid = "SM" + secrets.token_hex(16)
        now = _rfc2822(datetime.now(UTC))
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": params.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From"),
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": params["To"],
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        self.messages.append(message)
        return web.json_response(message, status=201)


def _error(status: int, code: int, message: str) -> web.Response:
    """Twilio's error body."""
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    body = {"code": code, "message": message, "more_info": more_info, "status": status}
    return web.json_response(body, status=status)


def _not_found(request: web.Request) -> web.Response:
    return _error(404, 20404, f"The requested resource {request.path} was not found")
