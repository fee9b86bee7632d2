"""Bearer tokens are cached for a few seconds in the gateway: a revocation takes effect within that TTL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from crm_store.customers.identity import token_hash
from crm_store.db import session_scope
from crm_store.org.tables import ApiToken, Staff
from gateway.keys import TOKEN_CACHE
from gateway.token_cache import TOKEN_TTL
from tests.customer_helpers import Org


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(client: Any) -> Clock:
    """The clock of the client's token cache, moved by hand."""
    clock = Clock()
    client.app[TOKEN_CACHE].clock = clock
    return clock


async def test_revoked_token_is_refused_within_the_ttl(client: Any, org: Org, engine: Any, clock: Clock) -> None:
    headers = org.auth("agent.seocho")
    assert (await client.get("/api/v1/org-units", headers=headers)).status == 200
    with session_scope(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(ApiToken)
            .where(ApiToken.token_hash == token_hash(org.tokens["agent.seocho"]))  # type: ignore[arg-type]
            .values(revoked_at=ApiToken.created_at)
        )
    clock.now += TOKEN_TTL - 0.5
    assert (await client.get("/api/v1/org-units", headers=headers)).status == 200  # still cached
    clock.now += 1.0
    answer = await client.get("/api/v1/org-units", headers=headers)
    assert answer.status == 401 and "revoked" in (await answer.json())["error"]
    # A refused token is not cached: it stays refused.
    assert (await client.get("/api/v1/org-units", headers=headers)).status == 401


async def test_deactivated_staff_is_refused_within_the_ttl(client: Any, org: Org, engine: Any, clock: Clock) -> None:
    headers = org.auth("agent.haeundae")
    assert (await client.get("/api/v1/org-units", headers=headers)).status == 200
    with session_scope(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(Staff).where(Staff.username == "agent.haeundae").values(active=False)  # type: ignore[arg-type]
        )
    clock.now += TOKEN_TTL + 0.1
    assert (await client.get("/api/v1/org-units", headers=headers)).status == 401
    assert (await client.get("/api/v1/org-units", headers=org.auth("admin"))).status == 200


def test_cache_is_bounded() -> None:
    from gateway.token_cache import TokenCache

    cache = TokenCache(ttl=5.0, size=2)
    staff = Staff(username="x", full_name="x", role="agent", org_unit_id=1)
    for key in ("a", "b", "c"):
        cache.put(key, staff)
    assert cache.get("c") is staff and len(cache._entries) <= 2
