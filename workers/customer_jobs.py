"""Scheduled customer jobs (segment run, service duties): module-level functions for rq or a scheduler.

Wiring them to a schedule (nightly, say) is left to the scheduler; both are idempotent and safe to rerun.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from crm_store.account_managers import schedule_service_tasks
from crm_store.rules import load_rules
from crm_store.segment_store import recompute_all_segments
from crm_store.validation import business_today
from workers.context import current


def recompute_segments() -> dict[str, Any]:
    """Every customer's segment by the configured rules; changes kept with their reason and date."""
    run = recompute_all_segments(current().engine, rules=load_rules(), as_of=business_today())
    return asdict(run)


def schedule_service_duties() -> int:
    """Key-customer visits, quality-individual interviews and renewal reminders due for account managers."""
    return schedule_service_tasks(current().engine, rules=load_rules(), as_of=business_today())
