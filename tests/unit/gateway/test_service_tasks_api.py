"""The account managers' service duties through the API and the console: who sees a manager's list, who marks a
duty done (once, audited), what a new manager inherits, and the monthly visit report counting a visit done."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from crm_store.audit import AuditEntry
from crm_store.customers.rules import load_rules
from crm_store.db import session_scope
from crm_store.managers.account_managers import schedule_service_tasks
from crm_store.managers.tables import ServiceTask
from crm_store.validation import business_today
from tests.customer_helpers import Org
from tests.review_helpers import CSRF, INSIDE_NAME, World, console_sign_in


async def _call(client: Any, org: Org, user: str, method: str, path: str, **kwargs: Any) -> Any:
    answer = await client.request(method, path, headers=org.auth(user), **kwargs)
    return answer.status, await answer.json()


async def _key_customer_with_duties(client: Any, org: Org, engine: Any) -> int:
    """A key corporate customer of the Seocho branch managed by am.seocho: a visit due today and two renewal
    reminders (policies ending in 5 and 20 days), scheduled by the job."""
    today = business_today()
    answer = await client.post(
        "/api/v1/customers",
        json={"kind": "corporate", "name": "(주)한빛물산", "phones": ["02-777-8888"],
              "registration_number": "123-45-67890", "org_unit_id": org.units["SEOUL-GANGNAM-SEOCHO"],
              "key_account": "group"},
        headers=org.auth("agent.seocho"),
    )  # fmt: skip
    assert answer.status == 201, await answer.text()
    cid = int((await answer.json())["id"])
    for days in (20, 5):
        end = today + timedelta(days=days)
        answer = await client.post(
            f"/api/v1/customers/{cid}/policies",
            json={
                "line": "fire",
                "premium": 9_000_000,
                "start_date": str(end - timedelta(days=365)),
                "end_date": str(end),
            },
            headers=org.auth("agent.seocho"),
        )
        assert answer.status == 201, await answer.text()
    for manager in ("am.seocho", "am.gangnam"):
        answer = await client.post(
            f"/api/v1/account-managers/{manager}/certifications",
            json={"grade": "junior", "certified_on": str(today)},
            headers=org.auth("cm.gangnam"),
        )
        assert answer.status == 201, await answer.text()
    answer = await client.put(
        f"/api/v1/customers/{cid}/account-manager", json={"username": "am.seocho"}, headers=org.auth("cm.gangnam")
    )
    assert answer.status == 200, await answer.text()
    assert schedule_service_tasks(engine, rules=load_rules(), as_of=today) == 3
    return cid


async def test_a_manager_sees_their_duties_in_due_date_order(client: Any, org: Org, engine: Any) -> None:
    cid = await _key_customer_with_duties(client, org, engine)
    today = business_today()
    status, body = await _call(client, org, "am.seocho", "GET", "/api/v1/account-managers/am.seocho/tasks")
    assert status == 200
    items = body["items"]
    assert [(t["kind"], t["due_on"]) for t in items] == [
        ("renewal_reminder", str(today - timedelta(days=25))),
        ("renewal_reminder", str(today - timedelta(days=10))),
        ("key_visit", str(today)),
    ]
    assert [t["overdue"] for t in items] == [True, True, False]
    assert {t["customer_id"] for t in items} == {cid} and items[0]["customer_name"] == "(주)한빛물산"
    assert items[0]["customer_segment"] == "key" and items[0]["policy_number"].startswith("FI-")
    assert all(t["done_on"] is None and t["account_manager"] == "am.seocho" for t in items)
    # Naming the customers is a read of them: audited.
    with session_scope(engine) as session:
        reads = session.exec(
            select(AuditEntry).where(AuditEntry.customer_id == cid, AuditEntry.purpose == "service_tasks")
        ).all()
    assert [r.username for r in reads] == ["am.seocho"] and "name" in reads[0].fields
    status, body = await _call(
        client, org, "am.seocho", "GET", "/api/v1/account-managers/am.seocho/tasks", params={"kind": "key_visit"}
    )
    assert [t["kind"] for t in body["items"]] == ["key_visit"]
    for bad in ({"state": "late"}, {"kind": "party"}, {"limit": "0"}):
        status, body = await _call(
            client, org, "am.seocho", "GET", "/api/v1/account-managers/am.seocho/tasks", params=bad
        )
        assert status == 400 and set(body["fields"]) == set(bad)


async def test_who_sees_a_managers_duties(client: Any, org: Org, engine: Any) -> None:
    await _key_customer_with_duties(client, org, engine)
    path = "/api/v1/account-managers/am.seocho/tasks"
    answers = {user: (await _call(client, org, user, "GET", path))[0] for user in (
        "am.seocho", "cm.gangnam", "cm.seoul", "admin", "agent.seocho", "am.gangnam", "agent.hq", "cm.busan",
        "am.haeundae")}  # fmt: skip
    assert answers == {
        "am.seocho": 200,  # their own
        "cm.gangnam": 200,  # center managers above
        "cm.seoul": 200,
        "admin": 200,
        "agent.seocho": 403,  # in scope, but not their business
        "am.gangnam": 403,  # another manager
        "agent.hq": 403,
        "cm.busan": 404,  # another province: no such manager for them
        "am.haeundae": 404,
    }


async def test_marking_a_visit_done_counts_in_the_monthly_report(client: Any, org: Org, engine: Any) -> None:
    cid = await _key_customer_with_duties(client, org, engine)
    today = business_today()
    month = today.strftime("%Y-%m")
    report_path = f"/api/v1/account-managers/am.seocho/report?month={month}"
    _, before = await _call(client, org, "cm.gangnam", "GET", report_path)
    assert before["tasks_due"]["key_visit"] == 1 and before["tasks_done"] == {}
    _, body = await _call(client, org, "am.seocho", "GET", "/api/v1/account-managers/am.seocho/tasks")
    visit = next(t for t in body["items"] if t["kind"] == "key_visit")
    done_path = f"/api/v1/service-tasks/{visit['id']}/done"

    status, done = await _call(
        client, org, "am.seocho", "POST", done_path, json={"outcome": "정기 방문, 방재 점검 협의"}
    )
    assert status == 200, done
    assert done["done_on"] == str(today) and done["outcome"] == "정기 방문, 방재 점검 협의"
    assert done["done_by"] == "am.seocho" and done["overdue"] is False
    # Again (a double click, a retried request): answered as it is, nothing overwritten, audited once.
    status, again = await _call(client, org, "am.seocho", "POST", done_path, json={"outcome": "다른 결과"})
    assert status == 200 and again == done
    with session_scope(engine) as session:
        changes = session.exec(select(AuditEntry).where(AuditEntry.action == "service_task.done")).all()
    assert len(changes) == 1
    assert changes[0].customer_id == cid and changes[0].target == f"service_task:{visit['id']}"
    assert changes[0].detail == {
        "kind": "key_visit", "due_on": str(today), "done_on": str(today), "outcome": "정기 방문, 방재 점검 협의"
    }  # fmt: skip

    _, after = await _call(client, org, "cm.gangnam", "GET", report_path)
    assert after["tasks_done"] == {"key_visit": 1}
    assert after["visit_completion"] == round(1 / sum(after["tasks_due"].values()), 3)
    _, open_ = await _call(client, org, "am.seocho", "GET", "/api/v1/account-managers/am.seocho/tasks")
    assert [t["kind"] for t in open_["items"]] == ["renewal_reminder", "renewal_reminder"]
    _, done_list = await _call(
        client, org, "am.seocho", "GET", "/api/v1/account-managers/am.seocho/tasks", params={"state": "done"}
    )
    assert [(t["id"], t["outcome"]) for t in done_list["items"]] == [(visit["id"], "정기 방문, 방재 점검 협의")]


async def test_who_marks_a_duty_done(client: Any, org: Org, engine: Any) -> None:
    await _key_customer_with_duties(client, org, engine)
    _, body = await _call(client, org, "am.seocho", "GET", "/api/v1/account-managers/am.seocho/tasks")
    first, second = body["items"][0]["id"], body["items"][1]["id"]
    note = {"outcome": "갱신 안내 전화"}
    for user, status in (("am.haeundae", 404), ("cm.busan", 404), ("agent.seocho", 403), ("am.gangnam", 403),
                         ("admin", 403)):  # fmt: skip
        assert (await _call(client, org, user, "POST", f"/api/v1/service-tasks/{first}/done", json=note))[0] == status
    status, done = await _call(client, org, "cm.gangnam", "POST", f"/api/v1/service-tasks/{first}/done", json=note)
    assert status == 200 and done["done_by"] == "cm.gangnam" and done["account_manager"] == "am.seocho"
    assert (await _call(client, org, "am.seocho", "POST", "/api/v1/service-tasks/999999/done", json=note))[0] == 404
    path = f"/api/v1/service-tasks/{second}/done"
    future = str(business_today() + timedelta(days=1))
    long_ago = str(business_today() - timedelta(days=200))
    refused = (
        ({"outcome": "  "}, "outcome"),
        ({}, "outcome"),
        ({"outcome": "x", "done_on": future}, "done_on"),
        ({"outcome": "x", "done_on": long_ago}, "done_on"),
        ({"outcome": "x", "by": "me"}, "by"),
    )
    for bad, field in refused:
        status, answer = await _call(client, org, "am.seocho", "POST", path, json=bad)
        assert status == 422 and field in answer["fields"], (bad, answer)
    yesterday = str(business_today() - timedelta(days=1))
    status, done = await _call(
        client, org, "am.seocho", "POST", path, json={"outcome": "문자 발송", "done_on": yesterday}
    )
    assert status == 200 and done["done_on"] == yesterday


async def test_a_new_manager_takes_over_the_open_duties(client: Any, org: Org, engine: Any) -> None:
    cid = await _key_customer_with_duties(client, org, engine)
    _, body = await _call(client, org, "am.seocho", "GET", "/api/v1/account-managers/am.seocho/tasks")
    visit = next(t for t in body["items"] if t["kind"] == "key_visit")
    await _call(client, org, "am.seocho", "POST", f"/api/v1/service-tasks/{visit['id']}/done", json={"outcome": "방문"})
    answer = await client.put(
        f"/api/v1/customers/{cid}/account-manager", json={"username": "am.gangnam"}, headers=org.auth("cm.gangnam")
    )
    assert answer.status == 200
    with session_scope(engine) as session:
        owners = {t.kind + str(t.done_on is not None): t.account_manager_id for t in session.exec(select(ServiceTask))}
    assert owners == {"key_visitTrue": org.staff["am.seocho"], "renewal_reminderFalse": org.staff["am.gangnam"]}
    _, mine = await _call(client, org, "am.gangnam", "GET", "/api/v1/account-managers/am.gangnam/tasks")
    assert [t["kind"] for t in mine["items"]] == ["renewal_reminder", "renewal_reminder"]


async def test_console_page_of_duties(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    assert (await console_sign_in(client, "agent.seocho"))[0] == 303
    page = await client.get("/console/tasks")
    assert page.status == 403 and "권한" in await page.text()
    client.session.cookie_jar.clear()

    status, text = await console_sign_in(client, "center_manager.gangnam")
    assert status == 303 and 'href="/console/tasks"' in text
    picker = await (await client.get("/console/tasks")).text()
    assert 'value="account_manager.seocho"' in picker and "account_manager.haeundae" not in picker
    client.session.cookie_jar.clear()

    await console_sign_in(client, "account_manager.seocho")
    page = await client.get("/console/tasks")
    text = await page.text()
    assert page.status == 200 and INSIDE_NAME in text and f'data-task="{world.tasks["inside"]}"' in text
    csrf = CSRF.search(text)[1]  # type: ignore[index]
    answer = await client.post(
        f"/console/tasks/{world.tasks['inside']}/done",
        data={"outcome": "방문 상담 완료", "done_on": "", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert answer.status == 303 and answer.headers["Location"] == "/console/tasks?manager=account_manager.seocho"
    done = await (await client.get("/console/tasks?state=done")).text()
    assert "방문 상담 완료" in done and "완료 처리" not in done
    assert "no-tasks" in await (await client.get("/console/tasks")).text()
    answer = await client.post(
        f"/console/tasks/{world.tasks['outside']}/done",
        data={"outcome": "x", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert answer.status == 404 and "text/html" in answer.headers["Content-Type"]
