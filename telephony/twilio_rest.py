"""Twilio's REST API (calls and messages) through the official `twilio` client, against a configurable base URL.

Every REST call the service makes goes to `base_url` (setting `TWILIO_API_BASE`, default
`https://api.twilio.com`), so that a local stand-in can take Twilio's place in tests and in the simulator.
The gateway uses the `*_async` methods (aiohttp under the hood, never a blocking call in a handler); the
workers use the synchronous ones. Credentials come in through the constructor, never from the environment.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import ClientError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import AsyncHttpClient, HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from telephony.errors import TelephonyError

DEFAULT_API_BASE = "https://api.twilio.com"
# Twilio's own HTTP client logs every request with its parameters (message bodies, phone numbers) at INFO.
_http_log = logging.getLogger("hotline.twilio_http")
# What a request may end in: Twilio's refusal, or the transport's failure (requests' errors are OSErrors, aiohttp's
# are ClientErrors, a timeout is a TimeoutError).
_FAILURES = (TwilioException, OSError, ClientError)


class AiohttpTwilioClient(AsyncHttpClient):
    """Twilio's asynchronous transport on one aiohttp session, made on first use inside the running loop.

    Used instead of twilio's own `AsyncTwilioHttpClient`, which passes aiohttp's deprecated `BasicAuth` and a bare
    number as timeout: the Authorization header is written here, the timeout is a `ClientTimeout`."""

    def __init__(self, *, timeout: float, logger: logging.Logger = _http_log) -> None:
        super().__init__(logger, True, timeout)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (Twilio's interface: it passes timeout= by name)
        allow_redirects: bool = False,
    ) -> Response:
        """One request to Twilio's REST API; Twilio's own code turns the answer into resources or errors."""
        sent = dict(headers or {})
        if auth is not None:
            sent["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        limit = aiohttp.ClientTimeout(total=timeout or self.timeout)
        # Twilio's generated code passes None for parameters it leaves out; aiohttp wants them dropped.
        form: Any = {key: value for key, value in (data or {}).items() if value is not None}
        query: Any = {key: value for key, value in (params or {}).items() if value is not None}
        async with self._session.request(
            method.upper(), url, params=query or None, data=form or None, headers=sent, timeout=limit,
            allow_redirects=allow_redirects,
        ) as answer:  # fmt: skip
            text = await answer.text()
            self.log_response(answer.status, Response(answer.status, text, answer.headers))
            return Response(answer.status, text, answer.headers)

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class TwilioRestError(TelephonyError):
    """Twilio's REST API refused a request or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def retryable(self) -> bool:
        """True when trying again later may help (no answer, rate limit, Twilio's own failure)."""
        return self.status is None or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class CallUpdate:
    """What Twilio answered about a call it was told to do something with."""

    sid: str
    status: str | None


@dataclass(frozen=True)
class SentMessage:
    """A text message Twilio accepted for delivery."""

    sid: str
    status: str | None


class TwilioRest:
    """Calls and messages of one Twilio account, through `base_url`."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str = DEFAULT_API_BASE,
        http_client: HttpClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        _http_log.setLevel(logging.WARNING)
        self.account_sid = account_sid
        self.base_url = base_url.rstrip("/")
        # The environment mapping stands in for os.environ, which the client would otherwise read (edge, region).
        self._client = Client(
            account_sid,
            auth_token,
            http_client=http_client or TwilioHttpClient(timeout=timeout, logger=_http_log),
            environment={"TWILIO_ACCOUNT_SID": account_sid},
        )
        self._client.api.base_url = self.base_url

    @classmethod
    def for_asyncio(
        cls, *, account_sid: str, auth_token: str, base_url: str = DEFAULT_API_BASE, timeout: float = 10.0
    ) -> TwilioRest:
        """A client whose `*_async` methods run on aiohttp (the session is made on first use, inside the running
        event loop); close it with `close_async()`."""
        http = AiohttpTwilioClient(timeout=timeout)
        return cls(account_sid=account_sid, auth_token=auth_token, base_url=base_url, http_client=http)

    async def close_async(self) -> None:
        """Close the aiohttp session of an asyncio client."""
        http = self._client.http_client
        if isinstance(http, AiohttpTwilioClient):
            await http.close()

    def close(self) -> None:
        """Close the connection pool of a synchronous client."""
        session = getattr(self._client.http_client, "session", None)
        if session is not None and not isinstance(self._client.http_client, AiohttpTwilioClient):
            session.close()

    # -- calls -------------------------------------------------------------------------------------------

    def _call(self, call_sid: str) -> Any:
        return self._client.api.v2010.accounts(self.account_sid).calls(call_sid)

    async def redirect_call_async(self, call_sid: str, twiml: str) -> CallUpdate:
        """Give a live call new TwiML (e.g. take a caller out of the queue and dial the agent)."""
        try:
            call = await self._call(call_sid).update_async(twiml=twiml)
        except _FAILURES as err:
            raise _rest_error("call update", err) from err
        return CallUpdate(sid=call.sid, status=call.status)

    def redirect_call(self, call_sid: str, twiml: str) -> CallUpdate:
        """The synchronous form of `redirect_call_async`."""
        try:
            call = self._call(call_sid).update(twiml=twiml)
        except _FAILURES as err:
            raise _rest_error("call update", err) from err
        return CallUpdate(sid=call.sid, status=call.status)

    async def hang_up_async(self, call_sid: str) -> CallUpdate:
        """End a live call."""
        try:
            call = await self._call(call_sid).update_async(status="completed")
        except _FAILURES as err:
            raise _rest_error("call hang-up", err) from err
        return CallUpdate(sid=call.sid, status=call.status)

    def hang_up(self, call_sid: str) -> CallUpdate:
        """The synchronous form of `hang_up_async`."""
        try:
            call = self._call(call_sid).update(status="completed")
        except _FAILURES as err:
            raise _rest_error("call hang-up", err) from err
        return CallUpdate(sid=call.sid, status=call.status)

    # -- messages ----------------------------------------------------------------------------------------

    def _messages(self) -> Any:
        return self._client.api.v2010.accounts(self.account_sid).messages

    async def send_message_async(
        self, *, to: str, from_: str, body: str, status_callback: str | None = None
    ) -> SentMessage:
        """Send a text message (SMS) from one of the account's numbers."""
        extra = {"status_callback": status_callback} if status_callback else {}
        try:
            message = await self._messages().create_async(to=to, from_=from_, body=body, **extra)
        except _FAILURES as err:
            raise _rest_error("message", err) from err
        return SentMessage(sid=message.sid, status=message.status)

    def send_message(self, *, to: str, from_: str, body: str, status_callback: str | None = None) -> SentMessage:
        """The synchronous form of `send_message_async`."""
        extra = {"status_callback": status_callback} if status_callback else {}
        try:
            message = self._messages().create(to=to, from_=from_, body=body, **extra)
        except _FAILURES as err:
            raise _rest_error("message", err) from err
        return SentMessage(sid=message.sid, status=message.status)


def _rest_error(what: str, err: Exception) -> TwilioRestError:
    """Twilio's refusal with its status and error code, or a transport failure (no status: retryable)."""
    if isinstance(err, TwilioRestException):
        return TwilioRestError(f"Twilio refused the {what}: {err.msg} (HTTP {err.status})", status=err.status,
                               code=err.code)  # fmt: skip
    return TwilioRestError(f"Twilio's REST API could not be reached for the {what}: {type(err).__name__}")
