"""Every table of the store, registered on `SQLModel.metadata`: what Alembic's env.py and the tests import.

A new domain's `tables.py` belongs here (tests/unit/crm_store/test_schema.py fails without it).
"""

from sqlmodel import SQLModel

from crm_store import audit
from crm_store.calls import tables as calls_tables
from crm_store.complaints import tables as complaints_tables
from crm_store.customers import search as customers_search
from crm_store.customers import tables as customers_tables
from crm_store.desk import agent_tables as desk_agent_tables
from crm_store.desk import call_work as desk_call_work
from crm_store.desk import tables as desk_tables
from crm_store.dispatch import tables as dispatch_tables
from crm_store.managers import tables as managers_tables
from crm_store.org import tables as org_tables
from crm_store.reports import tables as reports_tables
from crm_store.review import tables as review_tables

# The modules whose import puts their tables (or indexes: customer search's) on the metadata.
TABLE_MODULES = (
    audit,
    calls_tables,
    complaints_tables,
    customers_search,
    customers_tables,
    desk_agent_tables,
    desk_call_work,
    desk_tables,
    dispatch_tables,
    managers_tables,
    org_tables,
    reports_tables,
    review_tables,
)
metadata = SQLModel.metadata
