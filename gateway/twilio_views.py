"""Twilio's webhooks: verify, store, answer. The caller always hears something sensible."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calls.incoming import incoming_call
from crm_store.calls.store import apply_status, register_recording, store_event
from crm_store.customers.phones import mask_phone, normalise_phone
from crm_store.db import async_session_scope
from gateway import desk
from gateway.keys import INCOMING, METRICS, RELAY_WAKE, SESSIONS, SETTINGS, SIGNATURE
from telephony import twiml
from telephony.recordings import host_allowed
from telephony.webhooks import (
    MalformedWebhook,
    delivery_key,
    parse_call_fields,
    parse_recording_callback,
    parse_status_callback,
    voice_dedup_key,
)
from workers.queueing import FETCH_RECORDING

log = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"
Fields = TypeVar("Fields")


def xml(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/xml", charset="utf-8")


def no_content() -> web.Response:
    return web.Response(status=204)


async def verified_form(request: web.Request, endpoint: str) -> dict[str, str]:
    """The webhook's fields, after the size, type and signature checks; anything else is refused."""
    metrics = request.app[METRICS]
    settings = request.app[SETTINGS]
    if request.content_length is not None and request.content_length > settings.webhook_max_bytes:
        metrics.webhooks.labels(endpoint, "too_large").inc()
        raise web.HTTPRequestEntityTooLarge(max_size=settings.webhook_max_bytes, actual_size=request.content_length)
    if request.content_type != FORM:
        metrics.webhooks.labels(endpoint, "malformed").inc()
        raise web.HTTPUnsupportedMediaType(text=f"expected {FORM}")
    body = await request.content.read(settings.webhook_max_bytes + 1)
    if len(body) > settings.webhook_max_bytes:
        metrics.webhooks.labels(endpoint, "too_large").inc()
        raise web.HTTPRequestEntityTooLarge(max_size=settings.webhook_max_bytes, actual_size=len(body))
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as err:
        metrics.webhooks.labels(endpoint, "malformed").inc()
        raise web.HTTPBadRequest(text="malformed form body") from err
    params = MultiDictProxy(MultiDict(pairs))
    signature = request.headers.get("X-Twilio-Signature")
    if not request.app[SIGNATURE].is_valid(request.path_qs, params, signature):
        metrics.webhooks.labels(endpoint, "forbidden").inc()
        log.warning("refused %s webhook with a %s signature", endpoint, "bad" if signature else "missing")
        raise web.HTTPForbidden(text="invalid Twilio signature")
    return {key: params[key] for key in params}


def _payload(form: Mapping[str, str]) -> dict[str, str]:
    return dict(form)


def observe(request: web.Request, endpoint: str, started: float, outcome: str) -> None:
    """Count a webhook's answer by endpoint and outcome, with the time since it `started`."""
    request.app[METRICS].webhook_answered(endpoint, outcome, time.perf_counter() - started)


async def _received(
    request: web.Request, endpoint: str, parse: Callable[[Mapping[str, str]], Fields]
) -> tuple[float, dict[str, str], Fields]:
    """When the webhook arrived, its verified form and what `parse` reads from it; a malformed one answers 400."""
    started = time.perf_counter()
    form = await verified_form(request, endpoint)
    try:
        return started, form, parse(form)
    except MalformedWebhook as err:
        observe(request, endpoint, started, "malformed")
        raise web.HTTPBadRequest(text=str(err)) from err


async def store_delivery(
    session: AsyncSession, request: web.Request, form: Mapping[str, str], *, kind: str, call_sid: str
) -> None:
    """Append one delivery of a webhook to its call's events; a redelivery of the same signed request is stored once."""
    await store_event(
        session,
        call_sid=call_sid,
        kind=kind,
        dedup_key=delivery_key(kind, call_sid, request.path_qs, form),
        payload=_payload(form),
    )


async def voice(request: web.Request) -> web.Response:
    """An incoming call: store it, find the caller, answer TwiML within milliseconds."""
    started, form, call = await _received(request, "voice", parse_call_fields)
    settings = request.app[SETTINGS]
    caller_e164 = normalise_phone(call.from_number)
    try:
        caller = await request.app[INCOMING].open(
            incoming_call(
                call_sid=call.call_sid,
                caller_e164=caller_e164,
                call_fields={**call.as_record(), "status": call.status},
                dedup_key=voice_dedup_key(call, request.path_qs, form),
                payload=_payload(form),
            )
        )
    except Exception:
        # Twilio must never hear an error: the caller still gets a greeting and a queue.
        log.exception("incoming call %s could not be stored; answering the fallback", call.call_sid)
        request.app[METRICS].fallback_answers.inc()
        observe(request, "voice", started, "fallback")
        return xml(twiml.fallback())
    log.log(
        logging.WARNING if caller.blacklisted else logging.INFO,
        "incoming call %s from %s customer=%s segment=%s%s",
        call.call_sid,
        mask_phone(caller_e164) or call.from_number[:12],
        caller.customer_id,
        caller.segment,
        f" BLACKLISTED ({caller.blacklist_reason})" if caller.blacklisted else "",
    )
    if caller.alerts:
        # The statement promised the alert job (blacklist hit, key customer): relay it now, not at the next tick.
        request.app[RELAY_WAKE].set()
    # A number with a menu gets the desk's IVR; one without keeps the record-and-hang-up answer.
    menu = await desk.menu_answer(
        request, to_number=call.to_number, segment=caller.segment, blacklisted=caller.blacklisted
    )
    observe(request, "voice", started, "ok")
    return xml(menu or twiml.incoming_call(settings.base_url, segment=caller.segment))


async def record_done(request: web.Request) -> web.Response:
    """The <Record> action: the caller has finished speaking."""
    started, form, call = await _received(request, "record_done", parse_call_fields)
    try:
        async with async_session_scope(request.app[SESSIONS]) as session:
            await store_delivery(session, request, form, kind="record-done", call_sid=call.call_sid)
    except Exception:
        log.exception("record-done for a call could not be stored")
    observe(request, "record_done", started, "ok")
    return xml(twiml.recorded())


async def gather(request: web.Request) -> web.Response:
    """An IVR answer (digits or speech): stored once per delivery, then the caller goes where the menu of the number
    says (gateway.desk).

    The same answer to a question asked twice in a call is told apart by the action URL (its query names the
    attempt; the URL is signed), never by the unsigned idempotency header or the clock."""
    started, form, call = await _received(request, "gather", parse_call_fields)
    async with async_session_scope(request.app[SESSIONS]) as session:
        await store_delivery(session, request, form, kind="gather", call_sid=call.call_sid)
    answer = await desk.gather_answer(request, form)
    observe(request, "gather", started, "ok")
    return xml(answer or twiml.empty())


async def status(request: web.Request) -> web.Response:
    """A call-progress callback: stored once, applied in SequenceNumber order."""
    started, form, callback = await _received(request, "status", parse_status_callback)
    async with async_session_scope(request.app[SESSIONS]) as session:
        await apply_status(
            session,
            call_sid=callback.call.call_sid,
            status=callback.call.status,
            sequence_number=callback.sequence_number,
            timestamp=callback.timestamp,
            call_duration=callback.call_duration,
            call_fields=callback.call.as_record(),
            dedup_key=callback.dedup_key(request.path_qs, form),
            payload=_payload(form),
        )
    await desk.call_status(request, call_sid=callback.call.call_sid, status=callback.call.status)
    observe(request, "status", started, "ok")
    return no_content()


async def recording(request: web.Request) -> web.Response:
    """A recording is ready: stored once; its fetch is promised in the same transaction."""
    started, form, callback = await _received(request, "recording", parse_recording_callback)
    settings = request.app[SETTINGS]
    refusal = None
    if callback.status == "completed" and not host_allowed(callback.recording_url, settings.recording_hosts):
        refusal = "recording URL host is not in HOTLINE_RECORDING_HOSTS; not fetched"
        log.warning(
            "refused recording %s of call %s: host not allowed (%s)",
            callback.recording_sid,
            callback.call_sid,
            callback.recording_url[:80],
        )
    async with async_session_scope(request.app[SESSIONS]) as session:
        promised = await register_recording(
            session,
            call_sid=callback.call_sid,
            recording_sid=callback.recording_sid,
            recording_url=callback.recording_url,
            recording_status=callback.status,
            duration=callback.duration,
            channels=callback.channels,
            call_fields={"account_sid": callback.account_sid},
            dedup_key=callback.dedup_key,
            payload=_payload(form),
            refusal=refusal,
            follow_up=FETCH_RECORDING.promise(callback.call_sid),
        )
    if refusal is not None:
        observe(request, "recording", started, "refused")
        raise web.HTTPBadRequest(text=refusal)
    if promised:
        request.app[RELAY_WAKE].set()
    observe(request, "recording", started, "ok")
    return no_content()


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/twilio/voice", voice)
    app.router.add_post("/twilio/gather", gather)
    app.router.add_post("/twilio/status", status)
    app.router.add_post("/twilio/recording", recording)
    app.router.add_post("/twilio/record-done", record_done)
