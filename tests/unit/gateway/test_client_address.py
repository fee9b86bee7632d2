"""The audit trail's "from where" behind a reverse proxy: X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from crm_store.audit import AuditEntry
from gateway.app import create_app
from gateway.client_address import client_address, parse_networks
from tests.review_helpers import add_customers_and_calls, build_world
from workers.settings import Settings, SettingsError

PROXIES = parse_networks(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # not from a proxy: the header is the client's own words
        ("10.1.2.3", ["203.0.113.9"], "203.0.113.9"),
        ("10.1.2.3", ["198.51.100.1, 203.0.113.9, 10.0.0.5"], "203.0.113.9"),  # left of the first untrusted: ignored
        ("10.1.2.3", ["198.51.100.1", "203.0.113.9"], "203.0.113.9"),  # several headers read as one list
        ("10.1.2.3", ["not-an-address, 203.0.113.9"], "203.0.113.9"),
        ("10.1.2.3", ["203.0.113.9, garbage"], "10.1.2.3"),  # the hop next to us is unreadable: keep the proxy
        ("10.1.2.3", ["10.0.0.7"], "10.0.0.7"),  # only proxies all the way: the farthest one
        ("10.1.2.3", ["2001:db8::7"], "2001:db8::7"),
        ("10.1.2.3", [], "10.1.2.3"),
    ],
)
def test_the_client_is_the_nearest_address_no_trusted_proxy_vouches_for(
    peer: str, header: list[str], expected: str
) -> None:
    assert client_address(peer, header, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("10.1.2.3", ["203.0.113.9"], ()) == "10.1.2.3"


def test_a_bad_proxy_setting_is_refused() -> None:
    with pytest.raises(SettingsError, match="HOTLINE_TRUSTED_PROXIES"):
        Settings.from_env({"HOTLINE_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})
    assert Settings.from_env({"HOTLINE_TRUSTED_PROXIES": "10.0.0.0/8, ::1"}).trusted_proxies == ("10.0.0.0/8", "::1")


@pytest.mark.parametrize(("trusted", "recorded"), [(("127.0.0.1",), "203.0.113.9"), ((), "127.0.0.1")])
async def test_the_audit_trail_records_the_staff_members_address(
    aiohttp_client: Any, settings: Settings, engine: Any, trusted: tuple[str, ...], recorded: str
) -> None:
    world = build_world(engine)
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"trusted_proxies": trusted}), embedded_worker=False)
    )
    await add_customers_and_calls(client, world, engine)
    customer = world.customers["inside"]
    headers = {**world.auth("admin.hq"), "X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    assert (await client.get(f"/api/v1/customers/{customer}", headers=headers)).status == 200
    with Session(engine) as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.customer_id == customer).order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
        ).first()
    assert entry is not None and entry.username == "admin.hq"
    assert entry.remote_addr == recorded
