"""What every migration does to the schema stays what it did: deployed databases were built by these revisions.

Each test walks the whole chain on a fresh database, one revision at a time up to head and back down to base, and
records after every step how the schema changed (the lines of a normalised schema description that went and came).
That record must equal the golden file under tests/fixtures/schema, written from the migrations as they were
deployed; a rewrite of a migration that changes any table, column, type, default, constraint, index, trigger,
function or sequence, at any revision, fails here. Going up again from base must give the head schema once more.

The PostgreSQL description comes from the catalogue (pg_get_*def), not from pg_dump, whose header lines vary between
versions; SQLite's is sqlite_master. White space runs are folded to one space.

To rewrite the golden files on purpose (a new revision, or a library that renders the same schema differently):
HOTLINE_WRITE_SCHEMA_GOLDEN=1 with this test, then read the diff of the golden files before committing it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from crm_store.db import make_engine
from crm_store.migrate import alembic_config
from tests.pg_helpers import require_postgres_admin_url, throwaway_database

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "schema"
WRITE = os.environ.get("HOTLINE_WRITE_SCHEMA_GOLDEN") == "1"

POSTGRES_QUERIES = (
    """
    SELECT 'table ' || c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
    """,
    """
    SELECT 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
    """,
    """
    SELECT 'column ' || c.relname || ' ' || lpad(a.attnum::text, 3, '0') || ' ' || a.attname || ' '
        || format_type(a.atttypid, a.atttypmod)
        || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END
        || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
        || CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END
        || CASE WHEN a.attgenerated <> '' THEN ' GENERATED ' || a.attgenerated::text ELSE '' END
        || CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
            THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    """,
    """
    SELECT 'constraint ' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'
    """,
    """
    SELECT 'index ' || t.relname || ' ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public'
    """,
    """
    SELECT 'trigger ' || c.relname || ' ' || pg_get_triggerdef(g.oid)
    FROM pg_trigger g
    JOIN pg_class c ON c.oid = g.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND NOT g.tgisinternal
    """,
    """
    SELECT 'function ' || p.proname || ' ' || pg_get_functiondef(p.oid)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public'
    """,
    """
    SELECT 'sequence ' || s.sequencename || ' ' || s.data_type || ' start ' || s.start_value
        || ' increment ' || s.increment_by || ' min ' || s.min_value || ' max ' || s.max_value
        || ' cache ' || s.cache_size || CASE WHEN s.cycle THEN ' cycle' ELSE '' END
        || coalesce(' owned by ' || (
            SELECT t.relname || '.' || a.attname
            FROM pg_depend d
            JOIN pg_class t ON t.oid = d.refobjid
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.objid = (quote_ident(s.sequencename))::regclass
                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        ), '')
    FROM pg_sequences s
    WHERE s.schemaname = 'public'
    """,
    """
    SELECT 'type ' || t.typname || ' enum ' || string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
    FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE n.nspname = 'public'
    GROUP BY t.typname
    """,
)
SQLITE_QUERY = "SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || coalesce(sql, '-') FROM sqlite_master"


TABLE_CONSTRAINT = re.compile(r"(PRIMARY KEY|FOREIGN KEY|UNIQUE|CHECK|CONSTRAINT)\b", re.IGNORECASE)


def _folded(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def _top_level_parts(body: str) -> list[str]:
    """`body` split at the commas outside parentheses and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for at, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[start:at].strip())
            start = at + 1
    return [*parts, body[start:].strip()]


def _sqlite_line(line: str) -> str:
    """A CREATE TABLE with its table constraints sorted: when batch mode rebuilds a table, the order it writes the
    foreign keys in changes from run to run (the same migrations, the same database), and SQLite gives it no meaning."""
    line = _folded(line)
    head, found, rest = line.partition(": CREATE TABLE ")
    if not found:
        return line
    name, _, body = rest.partition(" (")
    body = body.removesuffix(")").strip()
    parts = _top_level_parts(body)
    columns = [part for part in parts if not TABLE_CONSTRAINT.match(part)]
    constraints = sorted(part for part in parts if TABLE_CONSTRAINT.match(part))
    return f"{head}: CREATE TABLE {name} ( {', '.join(columns + constraints)} )"


def _schema(engine: Engine) -> set[str]:
    """The schema as a set of self-contained lines (one a table, column, constraint, index, trigger...)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return {_folded(line) for query in POSTGRES_QUERIES for line in conn.execute(text(query)).scalars()}
        return {_sqlite_line(line) for line in conn.execute(text(SQLITE_QUERY)).scalars()}


def _step(title: str, before: set[str], after: set[str]) -> list[str]:
    gone = [f"- {line}" for line in sorted(before - after)]
    came = [f"+ {line}" for line in sorted(after - before)]
    return [f"## {title}", *gone, *came]


def _walk(url: str) -> tuple[list[str], set[str], set[str]]:
    """Up one revision at a time to head, then down one at a time to base: the record of what each step changed,
    the schema at head and the schema after going up again from base."""
    config = alembic_config(url)
    revisions = [script.revision for script in ScriptDirectory.from_config(config).walk_revisions("base", "heads")]
    revisions.reverse()
    engine = make_engine(url)
    try:
        record: list[str] = []
        schema = _schema(engine)
        for revision in revisions:
            command.upgrade(config, revision)
            schema, before = _schema(engine), schema
            record += _step(f"upgrade to {revision}", before, schema)
        head = schema
        for revision in reversed(revisions):
            command.downgrade(config, "-1")
            schema, before = _schema(engine), schema
            record += _step(f"downgrade from {revision}", before, schema)
        command.upgrade(config, "head")
        again = _schema(engine)
    finally:
        engine.dispose()
    return record, head, again


def _check(record: list[str], name: str) -> None:
    golden = GOLDEN / name
    written = "\n".join(record) + "\n"
    if WRITE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(written, encoding="utf-8")
    assert written == golden.read_text(encoding="utf-8"), f"the migrations no longer build the schema in {golden}"


def test_every_migration_builds_the_same_postgres_schema() -> None:
    with throwaway_database(require_postgres_admin_url()) as url:
        record, head, again = _walk(url)
    assert again == head
    _check(record, "postgres.txt")


def test_every_migration_builds_the_same_sqlite_schema(tmp_path: Path) -> None:
    record, head, again = _walk(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
    assert again == head
    _check(record, "sqlite.txt")
