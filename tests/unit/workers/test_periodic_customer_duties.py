"""The daily customer duties run on schedule: the segment run (with the branch and company premium it rests on) and
the account managers' service duties are enqueued once per business day whichever workers look, the embedded mode
runs them, and a key-by-branch-share customer becomes key on a fresh database without the demo."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from rq import Queue
from sqlmodel import Session, select

from crm_store.customers.tables import Customer, CustomerKind, KeyAccount, OrgUnitPremium, SegmentChange
from crm_store.db import session_scope
from crm_store.managers.tables import ServiceTask
from crm_store.types import utcnow
from crm_store.validation import BUSINESS_TZ
from gateway.app import create_app
from tests.customer_helpers import Org, build_org
from tests.fake_clock import FakeClock
from tests.processes import HOTLINE, ROOT, hotline_env
from workers.context import install
from workers.periodic import SEGMENT_RUN_TIMEOUT, PeriodicDuties, duties_of
from workers.queueing import ALL_QUEUES, QUEUE_DEFAULT
from workers.runner import DutySimpleWorker, EmbeddedWorker
from workers.settings import Settings, SettingsError

# 18:00:30 in Seoul on 25 November: the business day is the 25th until 15:00 UTC.
T0 = datetime(2026, 11, 25, 9, 0, 30, tzinfo=UTC)
SLOT0 = int(datetime(2026, 11, 25, 9, 0, tzinfo=UTC).timestamp())


def _work(context: Any, duties: PeriodicDuties) -> None:
    """One burst of a worker carrying the duties: its first maintenance pass enqueues, then it works the queues."""
    worker = DutySimpleWorker([Queue(name, connection=context.redis) for name in ALL_QUEUES], connection=context.redis)
    worker.duties = duties
    worker.work(burst=True)


def test_settings_name_the_intervals() -> None:
    assert (Settings().segment_recompute_interval, Settings().service_duties_interval) == (86400, 86400)
    custom = Settings.from_env({"HOTLINE_SEGMENT_RECOMPUTE_INTERVAL": "0", "HOTLINE_SERVICE_DUTIES_INTERVAL": "3600"})
    assert [d.name for d in duties_of(custom)] == [
        "escalate-reviews",
        "escalate-complaints",
        "complaint-notices",
        "complaint-reminders",
        "recover-stuck-calls",
        "dispatch-timers",
        "service-duties",
        "roll-up-calls",
        "complaint-analysis",
    ]
    with pytest.raises(SettingsError):
        Settings.from_env({"HOTLINE_SEGMENT_RECOMPUTE_INTERVAL": "30"})


def test_each_duty_once_per_slot_however_many_workers_look(context: Any, settings: Settings) -> None:
    clock = FakeClock(T0)
    workers = [PeriodicDuties.of(context.redis, settings, clock=clock) for _ in range(3)]
    assert workers[0].run_due() == [
        f"escalate-reviews-{SLOT0}",
        f"escalate-complaints-{SLOT0}",
        f"complaint-notices-{SLOT0}",
        f"complaint-reminders-{SLOT0}",
        f"recover-stuck-calls-{SLOT0}",
        f"dispatch-timers-{SLOT0}",
        "recompute-segments-20261125",
        "service-duties-20261125",
        "roll-up-calls-20261125",
        "complaint-analysis-20261125",
    ]
    assert [w.run_due() for w in workers[1:]] == [[], []]  # the same slots: already enqueued by the first
    queue = Queue(QUEUE_DEFAULT, connection=context.redis)
    job = queue.fetch_job("recompute-segments-20261125")
    assert job is not None and job.args == ("2026-11-25",) and job.timeout == SEGMENT_RUN_TIMEOUT
    assert job.func_name == "workers.customer_jobs.recompute_segments"

    # Later the same business day (23:59 in Seoul): only escalation has new slots.
    clock.now = datetime(2026, 11, 25, 14, 59, 10, tzinfo=UTC)
    assert [d.split("-")[0] for d in workers[1].run_due()] == [
        "escalate", "escalate", "complaint", "complaint", "recover", "dispatch"
    ]  # fmt: skip
    assert workers[2].run_due() == []
    # A worker started after the first day's jobs have run remembers nothing, Redis does: still nothing to do.
    _work(context, PeriodicDuties.of(context.redis, settings, clock=clock))
    late = PeriodicDuties.of(context.redis, settings, clock=clock)
    assert late.run_due() == []

    # Midnight in Seoul: the next business day's runs, once.
    clock.now = datetime(2026, 11, 25, 15, 0, 5, tzinfo=UTC)
    due = [w.run_due() for w in (*workers, late)]
    assert sorted(sum(due, [])) == sorted(
        [f"escalate-reviews-{int(clock.now.timestamp()) // 60 * 60}", "recompute-segments-20261126",
         f"escalate-complaints-{int(clock.now.timestamp()) // 60 * 60}",
         f"complaint-notices-{int(clock.now.timestamp()) // 60 * 60}",
         f"complaint-reminders-{int(clock.now.timestamp()) // 60 * 60}",
         "service-duties-20261126", "roll-up-calls-20261126", "complaint-analysis-20261126",
         f"recover-stuck-calls-{int(clock.now.timestamp()) // 60 * 60}",
         f"dispatch-timers-{int(clock.now.timestamp()) // 60 * 60}"]
    )  # fmt: skip
    job = queue.fetch_job("service-duties-20261126")
    assert job is not None and job.args == ("2026-11-26",)
    # The slot's id stays known to Redis at least until the business day is over.
    assert context.redis.ttl(f"rq:job:{'recompute-segments-20261125'}") > 0


def _company_and_branch(engine: Any, org: Org) -> None:
    """A key-flagged corporate customer at Seocho, written directly (no policies, no account manager)."""
    with session_scope(engine) as session:
        unit = org.units["SEOUL-GANGNAM-SEOCHO"]
        flag = KeyAccount.LARGE_PROJECT
        session.add(Customer(kind=CustomerKind.CORPORATE, name="대형건설", org_unit_id=unit, key_account=flag))


def test_the_embedded_mode_runs_the_daily_duties(settings: Settings, context: Any, engine: Any) -> None:
    org = build_org(engine)
    _company_and_branch(engine, org)
    embedded = EmbeddedWorker(settings, context.redis)
    try:
        assert [d.name for d in embedded._worker.duties.duties] == [  # type: ignore[union-attr]
            "escalate-reviews",
            "escalate-complaints",
            "complaint-notices",
            "complaint-reminders",
            "recover-stuck-calls",
            "dispatch-timers",
            "recompute-segments",
            "service-duties",
            "roll-up-calls",
            "complaint-analysis",
        ]
        now = utcnow()
        embedded._worker.duties.clock = lambda: now  # type: ignore[union-attr]
        embedded._worker.work(burst=True)  # what the embedded thread does at its first maintenance pass
    finally:
        embedded.context.close()
        install(context)
    today = now.astimezone(BUSINESS_TZ).date()
    queue = Queue(QUEUE_DEFAULT, connection=context.redis)
    run = queue.fetch_job(f"recompute-segments-{today:%Y%m%d}")
    assert run is not None and run.is_finished and run.return_value()["by_segment"] == {"key": 1}
    duties = queue.fetch_job(f"service-duties-{today:%Y%m%d}")
    assert duties is not None and duties.is_finished and duties.return_value() == 1
    with Session(engine) as session:
        [task] = session.exec(select(ServiceTask)).all()
        assert (task.kind, task.due_on) == ("key_visit", today)


async def _create(client: Any, org: Org, unit: str, kind: str, phone: str, number: str, premium: int) -> int:
    answer = await client.post(
        "/api/v1/customers",
        headers=org.auth("admin"),
        json={"kind": kind, "name": f"고객{phone[-4:]}", "phones": [phone], "registration_number": number,
              "org_unit_id": org.units[unit]},
    )  # fmt: skip
    assert answer.status == 201, await answer.text()
    customer_id = int((await answer.json())["id"])
    today = datetime.now(BUSINESS_TZ).date()
    policy = {"line": "property", "premium": premium, "start_date": (today - timedelta(days=30)).isoformat(),
              "end_date": (today + timedelta(days=300)).isoformat()}  # fmt: skip
    answer = await client.post(f"/api/v1/customers/{customer_id}/policies", headers=org.auth("admin"), json=policy)
    assert answer.status == 201, await answer.text()
    return customer_id


async def test_key_by_branch_share_after_the_scheduled_run_on_a_fresh_database(
    aiohttp_client: Any, settings: Settings, context: Any, engine: Any
) -> None:
    org = build_org(engine)
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    # 1,000,000 of Seocho's 6,000,000 in force (16.7% ≥ 10%), but 0.25% of the company (< 0.5%) and under the
    # 50,000,000 of a key customer by premium alone: key only by its share of the branch.
    firm = await _create(client, org, "SEOUL-GANGNAM-SEOCHO", "corporate", "02-555-0001", "123-45-67890", 1_000_000)
    await _create(client, org, "SEOUL-GANGNAM-SEOCHO", "individual", "010-5555-0002", "800101-1234567", 5_000_000)
    await _create(client, org, "BUSAN-DONGBU-HAEUNDAE", "corporate", "051-555-0003", "223-45-67890", 400_000_000)
    picture = await (await client.get(f"/api/v1/customers/{firm}", headers=org.auth("admin"))).json()
    assert picture["segment"] == "ordinary"  # no branch premium known yet: nothing has refreshed it

    _work(context, PeriodicDuties.of(context.redis, settings, clock=utcnow))
    picture = await (await client.get(f"/api/v1/customers/{firm}", headers=org.auth("admin"))).json()
    assert picture["segment"] == "key" and "지점 보험료 비중 16.7%" in picture["segment_reason"]
    assert "key_customer" in {a["kind"] for a in picture["alerts"]}
    with Session(engine) as session:
        premiums = {p.org_unit_id: p.in_force_premium for p in session.exec(select(OrgUnitPremium)).all()}
        change = session.exec(select(SegmentChange).where(SegmentChange.customer_id == firm)).all()[-1]
    assert premiums == {org.units["SEOUL-GANGNAM-SEOCHO"]: 6_000_000, org.units["BUSAN-DONGBU-HAEUNDAE"]: 400_000_000}
    assert (change.new_segment, change.changed_by) == ("key", "segment-job")


def test_the_commands_run_the_duties_at_once(settings: Settings, engine: Any) -> None:
    org = build_org(engine)
    _company_and_branch(engine, org)
    env = hotline_env(HOTLINE_DATA_DIR=str(settings.data_dir), HOTLINE_SECRET_KEY=settings.secret_key)
    segments = subprocess.run(
        [*HOTLINE, "recompute-segments", "--as-of", "2026-11-25"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert segments.returncode == 0, segments.stderr
    assert segments.stdout.startswith("1 customers, 1 changed") and "key 1" in segments.stdout
    duties = subprocess.run(
        [*HOTLINE, "service-duties", "--as-of", "2026-11-25"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert duties.returncode == 0 and duties.stdout.strip() == "1 service task(s) scheduled", duties.stderr
    again = subprocess.run([*HOTLINE, "service-duties", "--as-of", "2026-11-25"], env=env, cwd=ROOT,
                           capture_output=True, text=True)  # fmt: skip
    assert again.stdout.strip() == "0 service task(s) scheduled"
    with Session(engine) as session:
        [task] = session.exec(select(ServiceTask)).all()
    assert (task.kind, task.due_on) == ("key_visit", date(2026, 11, 25))
