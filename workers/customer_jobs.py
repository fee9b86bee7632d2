"""Scheduled customer jobs: the segment run and the account managers' service duties.

The workers enqueue them once per business day (`workers.periodic`); `hotline recompute-segments` and
`hotline service-duties` run them at once. Both are idempotent and safe to rerun.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date
from typing import Any

from crm_store.customers.rules import load_rules
from crm_store.customers.segments import recompute_all_segments
from crm_store.managers.account_managers import schedule_service_tasks
from crm_store.validation import business_today
from workers.context import current

log = logging.getLogger(__name__)


def _day(as_of: str | None) -> date:
    return date.fromisoformat(as_of) if as_of else business_today()


def recompute_segments(as_of: str | None = None) -> dict[str, Any]:
    """Every customer's segment on business day `as_of` (ISO; today by default) by the configured rules, after
    refreshing the branch and company premium the key shares are reckoned on; changes kept with reason and date."""
    run = recompute_all_segments(current().engine, rules=load_rules(), as_of=_day(as_of))
    return asdict(run)


def schedule_service_duties(as_of: str | None = None) -> int:
    """Key-customer visits, quality-individual interviews and renewal reminders due on `as_of` (ISO; today)."""
    created = schedule_service_tasks(current().engine, rules=load_rules(), as_of=_day(as_of))
    log.info("service duties scheduled: %d new task(s)", created)
    return created
