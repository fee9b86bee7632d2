"""The hot-spot test on constructed counts: a topic rising from 5% to 20% of the calls is found, shares that only
wobble by chance are not (also over many random months), falls and unclassified calls are never hot spots."""

from __future__ import annotations

import random

from crm_store.reports.hot_spots import hot_spots, rise_z, upper_tail

TOPICS = ("inquiry.coverage", "inquiry.premium", "report.auto_accident", "complaint.claim_delay", "dispatch.towing")


def test_a_topic_rising_from_5_to_20_percent_is_found() -> None:
    trailing = {"complaint.claim_delay": 15, "inquiry.coverage": 285}
    month = {"complaint.claim_delay": 20, "inquiry.coverage": 80}
    [spot] = hot_spots(month, trailing)
    assert (spot.topic, spot.share, spot.previous_share) == ("complaint.claim_delay", 0.2, 0.05)
    assert spot.score == round(rise_z(20, 100, 15, 300), 2) > 4 and spot.p_value < 1e-4


def test_a_small_wobble_a_fall_and_unclassified_calls_are_not_hot_spots() -> None:
    trailing = {"complaint.claim_delay": 15, "inquiry.coverage": 270, "unclassified": 15}
    assert hot_spots({"complaint.claim_delay": 6, "inquiry.coverage": 94}, trailing) == []
    fall = {"complaint.claim_delay": 1, "inquiry.coverage": 90, "unclassified": 9}
    assert hot_spots(fall, trailing, skip=frozenset({"unclassified"})) == []
    assert hot_spots({"unclassified": 30, "inquiry.coverage": 70}, trailing, skip=frozenset({"unclassified"})) == []
    assert hot_spots({"inquiry.coverage": 10}, {}) == [] and hot_spots({}, trailing) == []


def test_months_drawn_from_unchanged_shares_rarely_flag_anything() -> None:
    draw = random.Random(20260907)
    weights = (0.4, 0.25, 0.2, 0.1, 0.05)
    flagged = 0
    for _ in range(200):
        month = {t: 0 for t in TOPICS}
        trailing = {t: 0 for t in TOPICS}
        for topic in draw.choices(TOPICS, weights, k=400):
            month[topic] += 1
        for topic in draw.choices(TOPICS, weights, k=1200):
            trailing[topic] += 1
        flagged += bool(hot_spots(month, trailing))
    # Bonferroni keeps the chance of any false flag in a month below 5%.
    assert flagged <= 10


def test_the_p_value_is_the_normal_upper_tail() -> None:
    assert abs(upper_tail(1.6449) - 0.05) < 1e-4 and upper_tail(0) == 0.5
    assert rise_z(0, 100, 0, 300) == 0.0 and rise_z(5, 0, 1, 10) == 0.0
