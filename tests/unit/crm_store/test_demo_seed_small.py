"""The demo seed with few customers: it completes, and tells the stories its customers leave room for."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from crm_store.db import make_engine
from crm_store.migrate import upgrade
from demo_seed.seed import seed_demo

SECRET = "unit-test-secret-key-0123456789abcdef"
AS_OF = date(2026, 11, 25)


@pytest.mark.parametrize("customers", [2, 3, 20, 50])
def test_small_demo_seeds(tmp_path: Path, customers: int) -> None:
    url = f"sqlite:///{tmp_path / 'small.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        summary = seed_demo(engine, secret_key=SECRET, customers=customers, as_of=AS_OF)
        with engine.connect() as conn:
            due = conn.scalar(
                text("SELECT count(*) FROM blacklist_entry WHERE approved_at IS NOT NULL AND review_on < :day"),
                {"day": AS_OF},
            )
    finally:
        engine.dispose()
    assert summary.created and summary.customers == customers
    # The demo's listed caller and, as soon as there is anyone else, one more listing, shown as due for review.
    assert (summary.blacklisted, due) == ((1, 0) if customers == 2 else (2, 1))
