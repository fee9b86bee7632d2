"""Every table of the store, registered on `SQLModel.metadata`: what Alembic's env.py and the tests import."""

from sqlmodel import SQLModel

metadata = SQLModel.metadata
