"""Twilio's REST client against the stand-in for Twilio's REST API: the base URL is honoured, requests carry
Twilio's field names and HTTP Basic auth, and refusals come back as errors that say whether to try again."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.twilio_stand_in import TwilioStandIn
from telephony.twilio_rest import TwilioRest, TwilioRestError

ACCOUNT = "AC" + "a1" * 16
TOKEN = "stand-in-auth-token"
CALL = "CA" + "c3" * 16
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Client>agent-kim</Client></Dial></Response>'


@pytest.fixture
async def stand_in() -> AsyncIterator[TwilioStandIn]:
    twilio = TwilioStandIn(ACCOUNT, TOKEN)
    await twilio.start()
    twilio.add_call(CALL)
    yield twilio
    await twilio.stop()


@pytest.fixture
async def rest(stand_in: TwilioStandIn) -> AsyncIterator[TwilioRest]:
    client = TwilioRest.for_asyncio(account_sid=ACCOUNT, auth_token=TOKEN, base_url=stand_in.base_url + "/")
    yield client
    await client.close_async()


async def test_redirect_sends_the_twiml_to_the_call_at_the_configured_base(
    stand_in: TwilioStandIn, rest: TwilioRest
) -> None:
    update = await rest.redirect_call_async(CALL, TWIML)
    assert (update.sid, update.status) == (CALL, "in-progress")
    [request] = stand_in.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json"
    assert request.params == {"Twiml": TWIML}
    assert stand_in.calls[CALL].twiml == [TWIML]


async def test_hang_up_completes_the_call_and_a_later_redirect_is_refused_for_good(
    stand_in: TwilioStandIn, rest: TwilioRest
) -> None:
    update = await rest.hang_up_async(CALL)
    assert update.status == "completed"
    assert stand_in.requests[-1].params == {"Status": "completed"}
    with pytest.raises(TwilioRestError) as refused:
        await rest.redirect_call_async(CALL, TWIML)
    assert (refused.value.status, refused.value.code) == (400, 21220)
    assert not refused.value.retryable
    assert "Cannot redirect" in str(refused.value)


async def test_an_unknown_call_is_not_found(rest: TwilioRest) -> None:
    with pytest.raises(TwilioRestError) as refused:
        await rest.hang_up_async("CA" + "0" * 32)
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (404, 20404, False)


async def test_a_message_is_sent_with_twilios_field_names(stand_in: TwilioStandIn, rest: TwilioRest) -> None:
    sent = await rest.send_message_async(
        to="+821012345678",
        from_="+8215881234",
        body="[한빛손해보험] 요청하신 긴급 출동이 접수되었습니다.",
        status_callback="https://hotline.example.co.kr/twilio/message-status",
    )
    assert sent.sid.startswith("SM") and len(sent.sid) == 34 and sent.status == "queued"
    [request] = stand_in.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.params == {
        "To": "+821012345678",
        "From": "+8215881234",
        "Body": "[한빛손해보험] 요청하신 긴급 출동이 접수되었습니다.",
        "StatusCallback": "https://hotline.example.co.kr/twilio/message-status",
    }
    assert stand_in.messages[0]["body"].startswith("[한빛손해보험]")


async def test_wrong_credentials_are_refused_and_not_recorded(stand_in: TwilioStandIn) -> None:
    client = TwilioRest.for_asyncio(account_sid=ACCOUNT, auth_token="not-the-token", base_url=stand_in.base_url)
    try:
        with pytest.raises(TwilioRestError) as refused:
            await client.hang_up_async(CALL)
    finally:
        await client.close_async()
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (401, 20003, False)
    assert stand_in.requests == []
    assert stand_in.calls[CALL].status == "in-progress"


async def test_the_stand_in_answers_like_twilio_without_auth(stand_in: TwilioStandIn) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{stand_in.base_url}/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json"
        async with http.get(url) as answer:
            assert answer.status == 401
            assert answer.headers["WWW-Authenticate"].startswith("Basic")
            body = await answer.json()
        assert body == {
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
        }
        basic = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        async with http.get(url, headers={"Authorization": f"Basic {basic}"}) as answer:
            call = await answer.json()
        assert call["sid"] == CALL and call["account_sid"] == ACCOUNT and call["status"] == "in-progress"
        assert {"from", "to", "date_created", "uri", "subresource_uris"} <= set(call)


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (500, True), (503, True), (400, False)])
async def test_twilios_failures_say_whether_to_try_again(
    stand_in: TwilioStandIn, rest: TwilioRest, status: int, retryable: bool
) -> None:
    stand_in.fail_next(status, code=20429 if status == 429 else 20500)
    with pytest.raises(TwilioRestError) as refused:
        await rest.redirect_call_async(CALL, TWIML)
    assert refused.value.status == status and refused.value.retryable is retryable
    # The next try goes through.
    assert (await rest.redirect_call_async(CALL, TWIML)).sid == CALL


async def test_an_unreachable_api_is_a_retryable_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = TwilioRest.for_asyncio(account_sid=ACCOUNT, auth_token=TOKEN, base_url=f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(TwilioRestError) as failed:
            await client.redirect_call_async(CALL, TWIML)
    finally:
        await client.close_async()
    assert failed.value.status is None and failed.value.retryable


async def test_the_synchronous_client_of_the_workers(stand_in: TwilioStandIn) -> None:
    client = TwilioRest(account_sid=ACCOUNT, auth_token=TOKEN, base_url=stand_in.base_url)

    def work() -> tuple[str | None, str]:
        try:
            update = client.redirect_call(CALL, TWIML)
            sent = client.send_message(to="+821012345678", from_="+8215881234", body="콜백 예정입니다.")
            ended = client.hang_up(CALL)
            return ended.status, f"{update.sid}:{sent.status}"
        finally:
            client.close()

    # The stand-in runs on this loop; the blocking client in a thread, as a worker would.
    status, summary = await asyncio.to_thread(work)
    assert status == "completed" and summary == f"{CALL}:queued"
    assert [r.path.rsplit("/", 1)[-1] for r in stand_in.requests] == [f"{CALL}.json", "Messages.json", f"{CALL}.json"]
