"""The distributor's choice: highest priority then longest wait, to the longest-idle agent with the queue's skill,
the caller's own branch first, never the agent who just declined the call, one call per agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_store.desk.offers import CallInLine, IdleAgent, match

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def _call(n: int, *, priority: int = 0, waited: int = 0, skills: str = "accident", **extra: object) -> CallInLine:
    return CallInLine(
        waiting_id=n,
        priority=priority,
        enqueued_at=T0 - timedelta(seconds=waited),
        skills=frozenset(skills.split()),
        **extra,  # type: ignore[arg-type]
    )


def _agent(staff_id: int, unit: int = 1, skills: str = "accident consult") -> IdleAgent:
    return IdleAgent(staff_id, unit, frozenset(skills.split()))


def _pairs(calls: list[CallInLine], agents: list[IdleAgent]) -> list[tuple[int, int]]:
    return [(call.waiting_id, agent.staff_id) for call, agent in match(calls, agents)]


def test_the_longest_waiting_call_goes_to_the_longest_idle_agent() -> None:
    calls = [_call(1, waited=10), _call(2, waited=30)]
    assert _pairs(calls, [_agent(7), _agent(8)]) == [(2, 7), (1, 8)]


def test_a_green_channel_caller_overtakes_those_who_waited_longer() -> None:
    calls = [_call(1, waited=300), _call(2, priority=10, waited=5), _call(3, priority=20, waited=1)]
    assert _pairs(calls, [_agent(7)]) == [(3, 7)]
    assert _pairs(calls, [_agent(7), _agent(8), _agent(9)]) == [(3, 7), (2, 8), (1, 9)]


def test_only_agents_with_the_queues_skill_are_offered_its_calls() -> None:
    calls = [_call(1, waited=60, skills="complaint"), _call(2, waited=5)]
    assert _pairs(calls, [_agent(7), _agent(8, skills="complaint")]) == [(1, 8), (2, 7)]
    assert _pairs([_call(1, skills="complaint")], [_agent(7)]) == []


def test_the_callers_own_branch_comes_first_when_one_of_its_agents_is_free() -> None:
    call = _call(1, branch_id=5)
    assert _pairs([call], [_agent(7, unit=1), _agent(8, unit=5)]) == [(1, 8)]
    # None of the branch free: the longest idle of the others.
    assert _pairs([call], [_agent(7, unit=1), _agent(9, unit=2)]) == [(1, 7)]


def test_an_agent_who_declined_the_call_is_passed_over_for_it_but_not_for_others() -> None:
    calls = [_call(1, waited=60, excluded=frozenset({7})), _call(2, waited=5)]
    assert _pairs(calls, [_agent(7), _agent(8)]) == [(1, 8), (2, 7)]
    assert _pairs([calls[0]], [_agent(7)]) == []


def test_each_agent_gets_one_call_and_each_call_one_agent() -> None:
    calls = [_call(n, waited=n) for n in range(1, 6)]
    pairs = _pairs(calls, [_agent(7), _agent(8)])
    assert pairs == [(5, 7), (4, 8)]
    assert _pairs([], [_agent(7)]) == [] and _pairs(calls, []) == []


def test_a_call_transferred_to_a_level_goes_only_to_agents_of_that_unit_or_below() -> None:
    branch = IdleAgent(7, 3, frozenset({"accident"}), "/1/2/3/")
    province = IdleAgent(8, 2, frozenset({"accident"}), "/1/2/")
    other_province = IdleAgent(9, 4, frozenset({"accident"}), "/1/4/")
    to_province = _call(1, waited=60, unit_path="/1/2/")
    assert _pairs([to_province], [other_province]) == []
    assert _pairs([to_province], [other_province, province, branch]) == [(1, 8)]
    assert _pairs([to_province], [other_province, branch]) == [(1, 7)]
    # Not transferred: any agent with the skill, longest idle first.
    assert _pairs([_call(2)], [other_province, province]) == [(2, 9)]
