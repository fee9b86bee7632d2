"""Alembic environment: the URL comes from the caller (crm_store.migrate), never from a file."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import crm_store.schema  # noqa: F401  (registers every table on SQLModel.metadata)
from crm_store.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `hotline migrate`")
run_migrations_online()
