"""Call review end to end on real parts: PostgreSQL, Redis, a `hotline serve` gateway, `hotline worker` processes
for both queues, simulated Twilio calls with Korean speech, and the review console in headless Chromium.

Two customers call: one owned by a county branch (서초구지점), one owned by a county branch of another province
and blacklisted (the routing rules lift that one to its provincial center). The county operator and the provincial
operator each see only their own queue and customers; the county operator takes the call, listens to the
recording, reads the transcript and the classifier's reasons, corrects type, topic and an entity, and forwards it
with a note; the city operator takes it and closes it. The audit trail, read by an administrator, holds exactly
the customer reads the browsers made: who, which customer, which fields, when, from where, for which call.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from crm_store.calls.tables import Call
from crm_store.customers.picture import PICTURE_FIELDS, picture_audit_fields
from crm_store.db import make_engine, session_scope
from crm_store.org.tables import OrgUnit
from crm_store.review.queue import CORRECTION_FIELDS, CORRECTIONS_EXPORT
from crm_store.review.routing import load_routing_rules
from crm_store.review.tables import ReviewEvent, ReviewItem
from gateway.api import CALL_RECORD_FIELDS, CALL_RECORD_PURPOSE
from gateway.console.reasons import korean_reasons
from gateway.labels import topic_label
from gateway.simulator import SimulatedCall, run_simulated_call, telephone_recording
from tests.processes import ROOT, free_port, processes, service_env, start_service
from tests.review_helpers import World, build_world, sign_in
from workers.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.browser]

AUDIO = ROOT / "tests" / "fixtures" / "audio"
SEOCHO_CLIP, HAEUNDAE_CLIP = "zeroth_0294.ulaw8k.wav", "zeroth_0352.ulaw8k.wav"
MASK = "●●●●"
SEOCHO_CALLER, SEOCHO_RRN, SEOCHO_NAME = "+821012345678", "880315-1234567", "김서초"
SONGPA_RRN, SONGPA_NAME = "850505-1234567", "이송파"
HAEUNDAE_CALLER, HAEUNDAE_RRN, HAEUNDAE_NAME = "+821033334444", "900101-2345678", "박해운"
FORWARD_NOTE = "보험 상품 문의로 정정: 시 지점 센터 확인 요청"
CLOSE_NOTE = "고객에게 회신 완료"
CORRECTED_ENTITY = {"kind": "product", "value": "자동차보험"}


@dataclass
class Seen:
    """The console and API answers one browser got: (method, path, status), in order."""

    username: str
    answers: list[tuple[str, str, int]] = field(default_factory=list)

    def count(self, method: str, path: str, status: int = 200) -> int:
        return self.answers.count((method, path, status))


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


async def login(browser: Any, base: str, username: str) -> tuple[Any, Seen]:
    """A browser context of its own for `username`, signed in through the login form, on its queue page."""
    page = await (await browser.new_context()).new_page()
    seen = Seen(username)

    def record(response: Any) -> None:
        url = urlsplit(response.url)
        ranged = response.request.headers.get("range", "")
        if ranged and not ranged.startswith("bytes=0-"):
            return  # the player seeking within a listening: not a new read
        if url.path.startswith(("/console/", "/api/")):
            seen.answers.append((response.request.method, url.path, response.status))

    page.on("response", record)
    await sign_in(page, base, username)
    assert username in await page.inner_text("#whoami")
    return page, seen


async def queue_calls(page: Any) -> list[str]:
    return [await row.get_attribute("data-call") for row in await page.locator("tr.item").all()]


async def api(http: aiohttp.ClientSession, method: str, url: str, token: str, **kwargs: Any) -> Any:
    async with http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs) as answer:
        assert answer.status in (200, 201), f"{method} {url}: {answer.status} {await answer.text()}"
        return await answer.json()


def add_county(engine: Engine, world: World, code: str, name: str, parent: str) -> None:
    """A second county under the same city (its customers are outside the first county's scope)."""
    with session_scope(engine) as session:
        parent_unit = session.get(OrgUnit, world.units[parent])
        assert parent_unit is not None
        unit = OrgUnit(code=code, name=name, level=3, parent_id=parent_unit.id)
        session.add(unit)
        session.flush()
        unit.path = f"{parent_unit.path}{unit.id}/"
        session.add(unit)
        world.units[code] = int(unit.id)  # type: ignore[arg-type]
        world.paths[int(unit.id)] = unit.path  # type: ignore[arg-type]


async def test_calls_are_routed_reviewed_forwarded_closed_and_every_read_audited(
    postgres_url: str, redis_url: str, engine: Engine, tmp_path: Path, browser: Any
) -> None:
    started_at = datetime.now(UTC)
    world = build_world(engine)
    add_county(engine, world, "SEOUL-GANGNAM-SONGPA", "송파구지점", "SEOUL-GANGNAM")
    admin = world.staff["admin.hq"]["token"]
    port = free_port()
    env = service_env(postgres_url, redis_url, port, tmp_path, recording_hosts="api.twilio.com,127.0.0.1")
    settings = Settings.from_env(env)
    base = f"http://127.0.0.1:{port}"

    with processes(tmp_path) as started:
        start_service(started, env, tmp_path, port)

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            # -- customers through the API; the Busan one blacklisted (its calls go to the provincial center) ----
            customers: dict[str, int] = {}
            for key, name, rrn, phone, unit in (
                ("seocho", SEOCHO_NAME, SEOCHO_RRN, SEOCHO_CALLER, "SEOUL-GANGNAM-SEOCHO"),
                ("songpa", SONGPA_NAME, SONGPA_RRN, "+821055556666", "SEOUL-GANGNAM-SONGPA"),
                ("haeundae", HAEUNDAE_NAME, HAEUNDAE_RRN, HAEUNDAE_CALLER, "BUSAN-DONGBU-HAEUNDAE"),
            ):
                body = {"kind": "individual", "name": name, "phones": [phone], "registration_number": rrn,
                        "org_unit_id": world.units[unit]}  # fmt: skip
                customers[key] = (await api(http, "POST", f"{base}/api/v1/customers", admin, json=body))["id"]
            await api(
                http,
                "POST",
                f"{base}/api/v1/blacklist",
                admin,
                json={"customer_id": customers["haeundae"], "reason": "보험사기 혐의 (흐름 시험)"},
            )

            # -- two simulated Twilio calls at once: signed webhooks, recordings behind Basic auth ---------------
            def simulated(caller: str, clip: str) -> SimulatedCall:
                return SimulatedCall(
                    base_url=settings.base_url,
                    account_sid=settings.twilio_account_sid,
                    auth_token=settings.twilio_auth_token,
                    from_number=caller,
                    to_number="+8215881234",
                    audio=telephone_recording(AUDIO / clip)[0],
                    api_token=admin,
                    timeout=180,
                )

            seocho_record, busan_record = await asyncio.gather(
                run_simulated_call(simulated(SEOCHO_CALLER, SEOCHO_CLIP), log=lambda _line: None),
                run_simulated_call(simulated(HAEUNDAE_CALLER, HAEUNDAE_CLIP), log=lambda _line: None),
            )
            for record, key in ((seocho_record, "seocho"), (busan_record, "haeundae")):
                assert record["processing"]["state"] == "classified", record
                assert record["customer_id"] == customers[key]
                assert record["_simulation"]["recording_fetches"] == 1
            sid, busan_sid = seocho_record["call_sid"], busan_record["call_sid"]
            assert "소비자" in seocho_record["transcript"].replace(" ", "")
            # The scenario needs a call that no rule lifts: the county branch that owns the caller reviews it.
            lifting_topics = {t for rule in load_routing_rules().rules for t in rule.topics}
            assert seocho_record["topic"] not in lifting_topics, seocho_record["topic"]

            # -- routed by the worker, in the same transaction as the classification ----------------------------
            with session_scope(engine) as session:
                items = {
                    item.call_sid: item
                    for item in session.exec(select(ReviewItem).where(col(ReviewItem.call_sid).in_([sid, busan_sid])))
                }
                session.expunge_all()
            item, busan_item = items[sid], items[busan_sid]
            assert item.org_unit_id == world.units["SEOUL-GANGNAM-SEOCHO"] and item.state == "open"
            assert item.customer_id == customers["seocho"] and item.route_reason == "고객 관리 지점"
            assert busan_item.org_unit_id == world.units["BUSAN"] and busan_item.state == "open"
            assert "블랙리스트" in (busan_item.route_reason or "")

            # -- the county and the provincial operators, each in a browser of their own ------------------------
            county, county_seen = await login(browser, base, "operator.seocho")
            province, province_seen = await login(browser, base, "operator.busan")
            assert "서초구지점" in await county.title()
            assert await queue_calls(county) == [sid]
            assert "부산경남지역본부" in await province.title()
            assert await queue_calls(province) == [busan_sid]
            assert sid not in await province.content()

            # Out of scope: another province's call and customer, another county's customer: 404, nothing shown.
            for page, path, secret in (
                (province, f"/console/items/{item.id}", SEOCHO_NAME),
                (province, f"/api/v1/customers/{customers['seocho']}", SEOCHO_NAME),
                (province, "/api/v1/customers/lookup?phone=010-1234-5678", SEOCHO_NAME),
                (county, f"/console/items/{busan_item.id}", HAEUNDAE_NAME),
                (county, f"/api/v1/customers/{customers['haeundae']}", HAEUNDAE_NAME),
                (county, f"/api/v1/customers/{customers['songpa']}", SONGPA_NAME),
            ):
                answer = await page.goto(base + path)
                assert answer.status == 404, (path, answer.status)
                assert secret not in await page.content()
                if path.startswith("/console/"):  # a console page, not a JSON body
                    assert answer.headers["content-type"].startswith("text/html")
                    assert await page.locator("#back-to-queue").count() == 1
            # In scope: the provincial operator (clearance 3) sees the Busan customer's registration number;
            # the county operator (clearance 2) sees their own customer with it masked.
            answer = await province.goto(f"{base}/api/v1/customers/{customers['haeundae']}")
            assert answer.status == 200
            # (the store keeps only the registration number's front part; the full number is never shown)
            assert (await answer.json())["registration_number"] == HAEUNDAE_RRN[:8] + "******"
            answer = await county.goto(f"{base}/api/v1/customers/{customers['seocho']}")
            assert answer.status == 200
            assert (await answer.json())["registration_number"] == MASK
            await county.goto(f"{base}/console/queue")

            # -- the county operator takes the item, listens, reads, corrects, forwards ------------------------
            await county.click(f"button.take[data-item='{item.id}']")
            await county.wait_for_url(f"{base}/console/items/{item.id}")
            assert await county.inner_text("#item-state") == "처리 중"
            assert SEOCHO_NAME in await county.inner_text("#customer")
            assert await county.inner_text("#registration") == MASK
            assert SEOCHO_RRN not in await county.content()
            assert (await county.inner_text("#transcript")).strip() == seocho_record["transcript"].strip()
            reasons = [text.strip() for text in await county.locator("#reasons li").all_inner_texts()]
            assert reasons and reasons == korean_reasons(seocho_record["classification"]["reasons"])

            async with county.expect_response(lambda r: urlsplit(r.url).path.endswith("/recording")) as heard:
                duration = await county.evaluate(
                    """() => new Promise((resolve, reject) => {
                        const audio = document.querySelector('#recording');
                        audio.addEventListener('playing', () => { audio.pause(); resolve(audio.duration); });
                        audio.addEventListener('error', () => reject(new Error('audio error ' + audio.error.code)));
                        audio.muted = true;
                        audio.play().catch(reject);
                    })"""
                )
            recording = await heard.value
            # Chromium's player asks for a byte range from the start (206), so that it can seek later.
            assert recording.status == 200 or (
                recording.status == 206 and recording.headers["content-range"].startswith("bytes 0-")
            )
            assert recording.headers["content-type"].startswith("audio/")
            clip_seconds = telephone_recording(AUDIO / SEOCHO_CLIP)[1]
            assert abs(duration - clip_seconds) < 0.2  # the browser decoded the whole stored recording

            predicted = {
                "type": seocho_record["type"],
                "topic": seocho_record["topic"],
                "entities": seocho_record["entities"],
            }
            new_type = next(t for t in ("inquiry", "notification") if t != predicted["type"])
            new_topic = f"{new_type}.coverage" if new_type == "inquiry" else f"{new_type}.vehicle_change"
            await county.select_option("#type", new_type)
            await county.select_option("#topic", new_topic)
            await county.fill("#entities", f"{CORRECTED_ENTITY['kind']}: {CORRECTED_ENTITY['value']}")
            await county.click("#save-classification")
            await county.wait_for_selector(f"#call-topic:text-is('{topic_label(new_topic)}')")
            assert "분류 수정" in await county.inner_text("#history")

            if seocho_record["classification"].get("proposed_changes"):
                change = county.locator("tr.change").first
                await change.locator("button.reject").click()
                await county.wait_for_selector("tr.change >> text=변경 거부")
            else:
                assert "제안된 고객정보 변경이 없습니다" in await county.content()

            await county.fill("#forward-note", FORWARD_NOTE)
            await county.click("#forward-button")
            await county.wait_for_url(f"{base}/console/queue")
            assert await queue_calls(county) == []
            assert await county.locator("#empty-queue").count() == 1

            # -- the city operator gets it, takes it, closes it ------------------------------------------------
            city, city_seen = await login(browser, base, "operator.gangnam")
            assert "서울강남지점" in await city.title()
            assert await queue_calls(city) == [sid]
            # A city operator sees the customers of every county below it.
            answer = await city.goto(f"{base}/api/v1/customers/{customers['songpa']}")
            assert answer.status == 200 and (await answer.json())["name"] == SONGPA_NAME
            await city.goto(f"{base}/console/queue")
            await city.click(f"button.take[data-item='{item.id}']")
            await city.wait_for_url(f"{base}/console/items/{item.id}")
            assert FORWARD_NOTE in await city.inner_text("#history")
            assert await city.inner_text("#call-topic") == topic_label(new_topic)
            await city.fill("#close-note", CLOSE_NOTE)
            await city.click("#close-button")
            await city.wait_for_url(f"{base}/console/queue")
            assert await queue_calls(city) == []
            await city.goto(f"{base}/console/queue?state=closed")
            assert await queue_calls(city) == [sid]
            await province.goto(f"{base}/console/queue")  # the provincial queue never saw the Seoul call
            assert await queue_calls(province) == [busan_sid]

            with session_scope(engine) as session:
                closed = session.get(ReviewItem, item.id)
                assert closed is not None
                assert closed.state == "closed" and closed.org_unit_id == world.units["SEOUL-GANGNAM"]
                assert closed.note == CLOSE_NOTE and closed.type == new_type and closed.topic == new_topic
                events = session.exec(
                    select(ReviewEvent).where(col(ReviewEvent.item_id) == item.id).order_by(col(ReviewEvent.id))
                ).all()
                by = {w["id"]: name for name, w in world.staff.items()}
                story = [(ev.action, by.get(ev.staff_id)) for ev in events if not ev.action.startswith("change_")]
                forwarded_at = next(ev.created_at for ev in events if ev.action == "forwarded")
                call = session.exec(select(Call).where(col(Call.call_sid) == sid)).one()
                assert call.type == new_type and call.topic == new_topic and call.entities == [CORRECTED_ENTITY]
            assert story == [
                ("routed", None),
                ("taken", "operator.seocho"),
                ("corrected", "operator.seocho"),
                ("forwarded", "operator.seocho"),
                ("taken", "operator.gangnam"),
                ("closed", "operator.gangnam"),
            ]

            # The correction is training data: what the classifier said and what the operator made of it.
            rows = (await api(http, "GET", f"{base}/api/v1/corrections", admin))["items"]
            assert [(r["call_sid"], r["changed"]) for r in rows] == [(sid, True)]
            assert rows[0]["predicted"] == predicted
            assert (rows[0]["type"], rows[0]["topic"], rows[0]["entities"]) == (new_type, new_topic, [CORRECTED_ENTITY])

            # -- the audit trail, as an administrator: exactly the reads the browsers made ---------------------
            async def trail(customer: str) -> list[dict[str, Any]]:
                url = f"{base}/api/v1/audit?customer_id={customers[customer]}&limit=200"
                return list((await api(http, "GET", url, admin))["items"])

            seocho_trail, songpa_trail, haeundae_trail = (
                await trail("seocho"),
                await trail("songpa"),
                await trail("haeundae"),
            )
        finished_at = datetime.now(UTC)

    picture = ("the whole picture",)  # fields: those of the customer picture shown at the reader's clearance
    clearance = {name: w["clearance"] for name, w in world.staff.items()}

    def fields(entry: dict[str, Any]) -> tuple[str, ...]:
        shown = picture_audit_fields(clearance[entry["username"]])
        return picture if entry["fields"] == sorted(shown) else tuple(entry["fields"])

    item_path, customer_path = f"/console/items/{item.id}", f"/api/v1/customers/{customers['seocho']}"
    expected = Counter(
        {
            ("admin.hq", "detail", None, picture): 1,  # the customer created through the API
            ("operator.seocho", "detail", None, picture): county_seen.count("GET", customer_path),
            ("operator.seocho", "detail", sid, picture): county_seen.count("GET", item_path),
            ("operator.seocho", "review", sid, ("recording",)): county_seen.count("GET", f"{item_path}/recording")
            + county_seen.count("GET", f"{item_path}/recording", 206),
            ("operator.gangnam", "detail", sid, picture): city_seen.count("GET", item_path),
            # The administrator's export of the corrections (training data) read the customer's call too.
            ("admin.hq", CORRECTIONS_EXPORT, None, tuple(sorted(CORRECTION_FIELDS))): 1,
        }
    )
    # The county operator opened the page after taking, after the correction (and after a change decision).
    assert expected[("operator.seocho", "detail", sid, picture)] >= 2
    assert expected[("operator.seocho", "review", sid, ("recording",))] == 1  # played once, fetched once
    assert expected[("operator.gangnam", "detail", sid, picture)] >= 1
    # The simulator (as admin.hq) polled the call record until it was done: each poll is a read of the
    # customer's call, with the call's own fields.
    polls = [e for e in seocho_trail if e["purpose"] == CALL_RECORD_PURPOSE]
    assert polls and {(e["username"], e["call_sid"], tuple(e["fields"])) for e in polls} == {
        ("admin.hq", sid, tuple(sorted(CALL_RECORD_FIELDS)))
    }
    got = Counter((e["username"], e["purpose"], e["call_sid"], fields(e)) for e in seocho_trail if e not in polls)
    assert got == expected, (got, expected)
    # A masked field is not named as read: the county operator (clearance 2) was shown no registration number.
    assert "registration_number" not in picture_audit_fields(2)
    assert set(picture_audit_fields(5)) >= {*PICTURE_FIELDS, "profile.health", "blacklist[].reason"}
    staff_ids = {name: w["id"] for name, w in world.staff.items()}
    for entry in seocho_trail:
        assert entry["customer_id"] == customers["seocho"] and entry["action"] == "read"
        assert entry["staff_id"] == staff_ids[entry["username"]]
        assert entry["remote_addr"] == "127.0.0.1"
        assert started_at <= datetime.fromisoformat(entry["at"]) <= finished_at
        if entry["username"] == "operator.gangnam":
            assert datetime.fromisoformat(entry["at"]) >= forwarded_at
    # Refused reads leave nothing: no Seoul read by the Busan operator, no Songpa read by the Seocho operator.
    assert [e["username"] for e in songpa_trail] == ["operator.gangnam", "admin.hq"]  # newest first
    assert province_seen.count("GET", f"/api/v1/customers/{customers['haeundae']}") == 1
    assert sorted((e["username"], e["call_sid"]) for e in haeundae_trail if e["username"] != "admin.hq") == [
        ("operator.busan", None)
    ]
