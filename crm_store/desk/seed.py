"""The call desk's defaults: the queues and one menu per hotline number (crm_store/desk/defaults.json), installed
once; what an administrator changed later is left as it is."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm_store.customers.phones import normalise_phone
from crm_store.desk.menus import hours_spec
from crm_store.desk.tables import DeskQueue, IvrMenu, IvrOption
from crm_store.review.routing import load_routing_rules


def default_desk() -> dict[str, Any]:
    """The packaged default queues and menu."""
    return dict(json.loads(resources.files("crm_store.desk").joinpath("defaults.json").read_text(encoding="utf-8")))


def install_menu(session: Session, number: str, spec: dict[str, Any], queues: list[dict[str, Any]]) -> bool:
    """Install the queues that are missing and the menu of one hotline number unless it has one; True if installed."""
    e164 = normalise_phone(number)
    if e164 is None:
        raise ValueError(f"not a phone number: {number!r}")
    by_name = {queue.name: queue for queue in session.exec(select(DeskQueue)).all()}
    for queue in queues:
        if queue["name"] not in by_name:
            row = DeskQueue(
                name=queue["name"],
                label=queue["label"],
                hours=hours_spec(queue["hours"]),
                skills=list(queue.get("skills", ())),
                closed_message=queue.get("closed_message"),
            )
            session.add(row)
            by_name[row.name] = row
    session.flush()
    if session.exec(select(IvrMenu.id).where(col(IvrMenu.hotline_number) == e164)).first() is not None:
        return False
    menu = IvrMenu(
        hotline_number=e164,
        greeting=spec["greeting"],
        prompt=spec["prompt"],
        default_queue_id=_id(by_name[spec["default_queue"]]),
    )
    session.add(menu)
    session.flush()
    for option in spec["options"]:
        key = str(option["key"])
        if len(key) != 1 or not (key.isdigit() or key in "*#"):
            raise ValueError(f"a menu key is one digit, * or #: {key!r}")
        session.add(
            IvrOption(
                menu_id=_id(menu),
                key=key,
                label=option["label"],
                queue_id=_id(by_name[option["queue"]]),
                keywords=list(option.get("keywords", ())),
            )
        )
    return True


def _id(row: DeskQueue | IvrMenu) -> int:
    assert row.id is not None, "flushed rows have ids"
    return row.id


def seed_desk(engine: Engine, numbers: list[str] | None = None) -> int:
    """The default menu for each hotline number (default: those of the routing rules); how many were installed."""
    desk = default_desk()
    numbers = numbers if numbers is not None else sorted(load_routing_rules().hotline_numbers)
    installed = 0
    with Session(engine) as session:
        for number in numbers:
            installed += install_menu(session, number, desk["menu"], desk["queues"])
        session.commit()
    return installed
