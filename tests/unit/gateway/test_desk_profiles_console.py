"""Agents' desk profiles in the console (/console/agents): a center manager lists the agents of their part of the
organisation and sets one's queues and endpoint; a refused form comes back on the same page with its reason; an agent
of another province is not theirs; the change is in the audit trail."""

from __future__ import annotations

from typing import Any

from multidict import MultiDict
from sqlmodel import Session, col, select, update

from crm_store.audit import AuditEntry
from crm_store.desk.agent_tables import DeskAgent
from crm_store.org.auth import hash_password
from crm_store.org.tables import Staff
from tests.customer_helpers import Org
from tests.desk_helpers import install_default_menu
from tests.review_helpers import PASSWORD, console_login


async def test_a_center_manager_sets_an_agents_queues_and_endpoint(client: Any, org: Org, engine: Any) -> None:
    install_default_menu(engine)
    with Session(engine) as session:
        session.execute(update(Staff).values(password_hash=hash_password(PASSWORD)))
        session.commit()
    csrf = await console_login(client, "cm.gangnam")
    seocho, haeundae = org.staff["agent.seocho"], org.staff["agent.haeundae"]

    page = await client.get("/console/agents")
    text = await page.text()
    assert page.status == 200 and f'id="agent-{seocho}"' in text and f'id="agent-{haeundae}"' not in text
    assert "사고 접수" in text and "로그아웃" in text  # the queues' skills and the agent's state, in Korean

    refused = await client.post(
        f"/console/agents/{seocho}", data=MultiDict([("csrf_token", csrf), ("skill", "accident"), ("endpoint", "x")])
    )
    text = await refused.text()
    assert refused.status == 400 and 'id="form-error"' in text and "endpoint" in text
    assert f'id="agent-{seocho}"' in text  # the same page, with its list

    form = [("csrf_token", csrf), ("skill", "accident"), ("skill", "consult"), ("endpoint", "sip:1001@pbx.example.com")]
    saved = await client.post(f"/console/agents/{seocho}", data=MultiDict(form), allow_redirects=False)
    assert saved.status == 303 and saved.headers["Location"] == f"/console/agents#agent-{seocho}"
    text = await (await client.get("/console/agents")).text()
    assert 'value="sip:1001@pbx.example.com"' in text
    assert f'id="agent-{seocho}-skill-consult" checked' in text.replace('value="consult" ', "")

    elsewhere = await client.post(
        f"/console/agents/{haeundae}", data=MultiDict([("csrf_token", csrf), ("skill", "consult")])
    )
    assert elsewhere.status == 404
    with Session(engine) as session:
        agent = session.get(DeskAgent, seocho)
        assert agent is not None and agent.skills == ["accident", "consult"]
        assert agent.endpoint == "sip:1001@pbx.example.com"
        assert session.get(DeskAgent, haeundae) is None
        actions = session.exec(select(AuditEntry.action).where(col(AuditEntry.target) == f"staff:{seocho}")).all()
        assert list(actions) == ["agent.profile"]
