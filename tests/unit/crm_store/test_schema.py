"""`crm_store.schema` registers every table, and the tables it registers are the ones the migrations create.

Run in a fresh interpreter: in the test process other tests have already imported every table module, which would
hide a module the schema forgets.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from crm_store.db import make_engine
from crm_store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[3]


def _fresh(code: str) -> object:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_the_schema_holds_every_table_the_migrations_create(tmp_path: Path) -> None:
    registered = _fresh(
        "import json, crm_store.schema as s; print(json.dumps(sorted(s.metadata.tables)))",
    )
    url = f"sqlite:///{tmp_path / 'schema.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        migrated = sorted(set(inspect(engine).get_table_names()) - {"alembic_version"})
    finally:
        engine.dispose()
    assert registered == migrated


def test_every_tables_module_is_in_the_schema() -> None:
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in ROOT.glob("crm_store/*/tables.py"))
    loaded = _fresh(
        f"import json, sys, crm_store.schema; print(json.dumps([m for m in {modules!r} if m in sys.modules]))",
    )
    assert loaded == modules
