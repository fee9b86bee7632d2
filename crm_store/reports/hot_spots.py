"""Consultation hot spots: the topics whose share of a month's calls rose significantly against the trailing months.

For each topic the month's share x1/n1 is set against its share x0/n0 over the trailing months by a one-sided
two-proportion z-test with the pooled share p = (x1 + x0) / (n1 + n0):

    z = (x1/n1 - x0/n0) / sqrt(p (1 - p) (1/n1 + 1/n0)),   p-value = P(Z >= z) for a standard normal Z.

A topic is a hot spot when its p-value is below `FAMILY_ALPHA` divided by the number of topics tested (Bonferroni:
with many topics tested at once, the chance that any one is flagged by noise alone stays below `FAMILY_ALPHA`).
Unclassified calls are no topic and are not tested. Counts in, findings (as the API shows them) out."""

from __future__ import annotations

import math
from collections.abc import Mapping

from pydantic import Field

from crm_store.types import Answer

FAMILY_ALPHA = 0.05


class HotSpot(Answer):
    """A topic whose share of the month's calls rose significantly against the trailing months."""

    topic: str = Field(description="the topic (workers/understanding/taxonomy.json)")
    share: float = Field(description="its share of the month's calls, 0 to 1")
    previous_share: float = Field(description="its share of the calls of the trailing months, 0 to 1")
    score: float = Field(
        description="the z statistic of a one-sided two-proportion z-test (pooled share) of the rise from "
        f"previous_share to share; flagged when p_value is below {FAMILY_ALPHA} divided by the number of topics "
        "tested (Bonferroni), highest score first"
    )
    p_value: float = Field(description="P(Z >= score) for a standard normal Z: the chance of such a rise by noise")


def rise_z(x1: int, n1: int, x0: int, n0: int) -> float:
    """The two-proportion z statistic of a rise from x0/n0 to x1/n1 (0 when either side has no calls or the pooled
    share is 0 or 1, where the test says nothing)."""
    if n1 <= 0 or n0 <= 0:
        return 0.0
    pooled = (x1 + x0) / (n1 + n0)
    spread = pooled * (1 - pooled) * (1 / n1 + 1 / n0)
    return (x1 / n1 - x0 / n0) / math.sqrt(spread) if spread > 0 else 0.0


def upper_tail(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def hot_spots(
    month: Mapping[str, int], trailing: Mapping[str, int], *, skip: frozenset[str] = frozenset()
) -> list[HotSpot]:
    """The topics of `month` (topic -> calls) whose share rose significantly against `trailing` (topic -> calls over
    the trailing months), highest score first; topics in `skip` are counted in the totals but not tested."""
    n1, n0 = sum(month.values()), sum(trailing.values())
    tested = sorted(topic for topic in month.keys() | trailing.keys() if topic not in skip)
    if not tested or n1 == 0 or n0 == 0:
        return []
    level = FAMILY_ALPHA / len(tested)
    found = []
    for topic in tested:
        x1, x0 = month.get(topic, 0), trailing.get(topic, 0)
        z = rise_z(x1, n1, x0, n0)
        p_value = upper_tail(z)
        if z > 0 and p_value < level:
            shares = {"share": round(x1 / n1, 4), "previous_share": round(x0 / n0, 4)}
            found.append(HotSpot(topic=topic, **shares, score=round(z, 2), p_value=p_value))
    return sorted(found, key=lambda spot: (-spot.score, spot.topic))
