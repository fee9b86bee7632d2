"""The API's contract: the OpenAPI document generated from the route table is valid OpenAPI 3.1, describes every
route of the API sub-application with what the models say, and the server keeps it: a bounded schemathesis run
against the gateway on SQLite (about 25 schema-valid requests per operation, then 10 schema-violating ones; DELETE
excluded) finds no server error, no answer outside its documented statuses and schemas, and no invalid request
accepted."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app
from gateway.routes import ROUTES, document
from tests.customer_helpers import build_org
from workers.settings import Settings

EXAMPLES = 25
BUDGET_SECONDS = 300
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_document_is_valid_openapi() -> None:
    validate(document())  # raises on the first problem


def test_the_document_has_no_drift_from_the_models() -> None:
    schemas = document()["components"]["schemas"]
    create = schemas["CustomerCreate"]["properties"]
    assert create["vehicles"]["maxItems"] == 10
    assert create["org_unit_id"]["exclusiveMinimum"] == 0
    assert schemas["PolicyCreate"]["properties"]["premium"]["maximum"] == 10**13
    assert {"created_at", "updated_at"} <= set(schemas["CallPublic"]["required"])


def test_every_route_of_the_table_is_served_and_documented(settings: Settings) -> None:
    app = create_app(settings, embedded_worker=False)
    served = {
        (r.method, r.resource.canonical.removeprefix("/api/v1"))
        for r in app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/v1/") and r.method != "HEAD"
    }
    table = {(r.method, r.template) for r in ROUTES}
    assert served == table
    documented = {(m.upper(), path) for path, item in document()["paths"].items() for m in item}
    assert documented == table


def test_every_wire_field_is_described() -> None:
    undescribed = [
        f"{name}.{field}"
        for name, schema in document()["components"]["schemas"].items()
        for field, prop in schema.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert not undescribed, undescribed


async def test_a_filter_no_record_can_match_is_refused(client: Any, org: Any) -> None:
    """A role or queue value the schema does not admit answers 400 naming it, not an empty list."""
    for path, name in (("/api/v1/staff?role=nobody", "role"), ("/api/v1/review-items?urgency=urgentish", "urgency")):
        answer = await client.get(path, headers=org.auth("admin"))
        assert answer.status == 400, path
        assert name in (await answer.json())["fields"]


# -- the bounded schemathesis run --------------------------------------------------------------------------------


class _Server:
    """The gateway on a loopback port, served by its own event loop in a thread (the checks call it by HTTP)."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, args=(settings,), daemon=True)

    def _serve(self, settings: Settings) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start(settings))
        self._ready.set()
        self.loop.run_forever()

    async def _start(self, settings: Settings) -> None:
        self._runner = web.AppRunner(create_app(settings, embedded_worker=False))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def __enter__(self) -> _Server:
        self._thread.start()
        assert self._ready.wait(30), "the gateway did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)


@pytest.fixture
def served(settings: Settings, engine: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """The gateway's base URL and the head-office administrator's bearer header, with one customer on record."""
    org = build_org(engine)
    auth = org.auth("admin")
    with _Server(settings) as server:
        base = f"http://127.0.0.1:{server.port}/api/v1"
        created = requests.post(
            f"{base}/customers",
            headers=auth,
            timeout=30,
            json={"kind": "individual", "name": "최계약", "phones": ["010-2222-3333"],
                  "registration_number": "850505-1234567", "org_unit_id": org.units["SEOUL-GANGNAM"]},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        yield base, auth


@dataclass(frozen=True)
class Pass:
    """One schemathesis pass: how requests are made, how many per operation, what is checked."""

    mode: GenerationMode
    examples: int
    checks: tuple[Any, ...]


# Schema-valid requests: no server error, every answer as documented.
POSITIVE = Pass(GenerationMode.POSITIVE, EXAMPLES, (*CHECKS,))
# Schema-violating requests: refused with a documented 4xx, never accepted, never a server error.
NEGATIVE = Pass(GenerationMode.NEGATIVE, 10, (*CHECKS, negative_data_rejection))


def _probe(
    operation: Any, run: Pass, base: str, session: requests.Session, auth: dict[str, str], sent: list[str]
) -> Any:
    """A hypothesis test of one operation (each request sent is noted in `sent`); raises on a failed check."""

    @hypothesis.given(case=operation.as_strategy(generation_mode=run.mode))
    @hypothesis.settings(
        max_examples=run.examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def probe(case: Any) -> None:
        response = case.call(base_url=base, session=session, headers=auth, timeout=30)
        sent.append(operation.label)
        case.validate_response(response, checks=list(run.checks))

    return probe


@pytest.mark.parametrize("run", [POSITIVE, NEGATIVE], ids=["schema-valid", "schema-violating"])
def test_the_server_keeps_its_contract(served: tuple[str, dict[str, str]], run: Pass) -> None:
    """Every operation but DELETE, about 25 schema-valid requests each (10 schema-violating ones in the second
    pass): no 5xx, every status documented, every body as its schema says, nothing invalid accepted."""
    base, auth = served
    schema = schemathesis.openapi.from_dict(document())
    session = requests.Session()
    failures: list[str] = []
    sent: list[str] = []
    deadline = time.monotonic() + BUDGET_SECONDS
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.method.upper() != "DELETE"]
    assert len(operations) >= 30
    unsatisfiable = set()
    for operation in operations:
        if time.monotonic() > deadline:
            failures.append(f"time budget spent before {operation.label}")
            break
        try:
            _probe(operation, run, base, session, auth, sent)()
        except hypothesis.errors.Unsatisfiable:
            unsatisfiable.add(operation.label)  # nothing of it can be made invalid (GET /openapi.json)
        except (Exception, BaseExceptionGroup) as err:  # a failed check: note it, go on to every operation
            failures.append(f"{operation.label}: {str(err)[:700]}")
    assert unsatisfiable <= {"GET /openapi.json"}
    probed = len(operations) - len(unsatisfiable)
    assert len(set(sent)) == probed and len(sent) >= run.examples // 3 * probed, "too few requests sent"
    unique = sorted(set(failures))
    assert not unique, f"{len(unique)} contract failures:\n" + "\n".join(unique[:40])
