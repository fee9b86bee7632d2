"""The live backlog: finals before partials and oldest first over every call, a partial replaced by a newer one or
dropped by its final, the desk told when the transcript falls behind and when it catches up, bounded queues, a
final retried once when its transcriber dies, and a call's second stream kept apart from its first."""

from __future__ import annotations

from typing import Any

import numpy as np

from gateway.live_backlog import BacklogStatus, LiveBacklog, Recognition
from telephony.utterances import Utterance


def _utterance(track: str, number: int, *, final: bool, end: float = 1.0) -> Utterance:
    return Utterance(track, number, 0.0, end, np.zeros(8, np.float32), final)


class Desk:
    def __init__(self) -> None:
        self.results: list[tuple[Recognition, str | None]] = []
        self.statuses: list[BacklogStatus] = []

    def result(self, job: Recognition, text: str | None) -> None:
        self.results.append((job, text))

    def status(self, status: BacklogStatus) -> None:
        self.statuses.append(status)


def _open(backlog: LiveBacklog, sid: str) -> tuple[Any, Desk]:
    desk = Desk()
    return backlog.open(sid, desk.result, desk.status), desk


async def test_finals_go_first_oldest_first_over_every_call() -> None:
    backlog = LiveBacklog()
    first, _ = _open(backlog, "CA1")
    second, _ = _open(backlog, "CA2")
    backlog.put(first, _utterance("inbound", 0, final=False))
    backlog.put(second, _utterance("inbound", 0, final=True))
    backlog.put(first, _utterance("outbound", 0, final=True))
    taken = [await backlog.next() for _ in range(3)]
    assert [(j.call_sid, j.utterance.track, j.utterance.final) for j in taken] == [
        ("CA2", "inbound", True),
        ("CA1", "outbound", True),
        ("CA1", "inbound", False),
    ]


async def test_a_partial_is_replaced_by_a_newer_one_and_dropped_by_its_final() -> None:
    backlog = LiveBacklog()
    call, _ = _open(backlog, "CA1")
    backlog.put(call, _utterance("inbound", 0, final=False, end=1.0))
    backlog.put(call, _utterance("inbound", 0, final=False, end=2.0))
    assert (await backlog.next()).utterance.end == 2.0
    backlog.put(call, _utterance("inbound", 1, final=False, end=3.0))
    backlog.put(call, _utterance("inbound", 1, final=True, end=4.0))
    job = await backlog.next()
    assert job.utterance.final and not call.partials
    assert call.dropped_partials == 2


async def test_the_desk_is_told_when_the_transcript_is_behind_and_when_it_caught_up() -> None:
    backlog = LiveBacklog(behind_after=2)
    call, desk = _open(backlog, "CA1")
    backlog.put(call, _utterance("inbound", 0, final=True))
    assert desk.statuses == []
    backlog.put(call, _utterance("inbound", 1, final=True))
    assert desk.statuses == [BacklogStatus(behind=True, waiting=2, skipped=0)]
    for _ in range(2):
        backlog.done(await backlog.next(), "말")
    assert desk.statuses[-1] == BacklogStatus(behind=False, waiting=0, skipped=0)
    assert [text for _, text in desk.results] == ["말", "말"]


async def test_a_full_queue_gives_up_its_oldest_final_and_says_so() -> None:
    backlog = LiveBacklog(max_finals=2, behind_after=2)
    call, desk = _open(backlog, "CA1")
    for number in range(3):
        backlog.put(call, _utterance("inbound", number, final=True))
    assert [job.utterance.number for job in call.finals] == [1, 2]
    assert desk.statuses[-1] == BacklogStatus(behind=True, waiting=2, skipped=1)


async def test_a_final_whose_transcriber_died_is_tried_once_more() -> None:
    backlog = LiveBacklog()
    call, desk = _open(backlog, "CA1")
    backlog.put(call, _utterance("inbound", 0, final=True))
    job = await backlog.next()
    backlog.retry(job)
    again = await backlog.next()
    assert again is job and job.attempts == 1
    backlog.retry(again)
    assert desk.results == [(job, None)]


async def test_a_closed_call_is_forgotten_once_drained() -> None:
    backlog = LiveBacklog()
    call, _ = _open(backlog, "CA1")
    backlog.put(call, _utterance("inbound", 0, final=False))
    backlog.put(call, _utterance("outbound", 0, final=True))
    drained = backlog.close(call)
    assert not drained.is_set() and not call.partials
    backlog.done(await backlog.next(), "네")
    assert drained.is_set() and backlog.waiting() == 0


async def test_a_stream_started_again_for_the_call_leaves_the_first_ones_finals_to_it() -> None:
    # After a transfer Twilio starts a second stream for the same call while the first one's finals are decoded.
    backlog = LiveBacklog()
    first, first_desk = _open(backlog, "CA1")
    backlog.put(first, _utterance("inbound", 0, final=True))
    backlog.put(first, _utterance("inbound", 1, final=True))
    running = await backlog.next()
    drained = backlog.close(first)
    second, second_desk = _open(backlog, "CA1")
    backlog.put(second, _utterance("inbound", 0, final=True))
    backlog.done(running, "사고 접수")
    for _ in range(2):
        job = await backlog.next()
        backlog.done(job, f"{job.stream}:{job.utterance.number}")
    assert [text for _, text in first_desk.results] == ["사고 접수", f"{first.stream}:1"]
    assert [text for _, text in second_desk.results] == [f"{second.stream}:0"]
    assert drained.is_set() and (first.running, second.running) == (0, 0)
    assert backlog.waiting() == 0 and backlog.close(second).is_set()


async def test_partials_leave_a_transcriber_free_for_finals() -> None:
    backlog = LiveBacklog(partial_slots=1)
    call, _ = _open(backlog, "CA1")
    backlog.put(call, _utterance("inbound", 0, final=False))
    backlog.put(call, _utterance("outbound", 0, final=False))
    partial = await backlog.next()
    assert backlog._take() is None  # the other partial waits: one slot is for partials
    backlog.put(call, _utterance("inbound", 0, final=True))
    assert (await backlog.next()).utterance.final
    backlog.done(partial, "네")
    assert (await backlog.next()).utterance.track == "outbound"


async def test_no_partial_starts_while_a_final_is_decoded_when_finals_have_the_cores() -> None:
    backlog = LiveBacklog(partial_slots=1, partials_beside_finals=False)
    call, _ = _open(backlog, "CA1")
    backlog.put(call, _utterance("inbound", 0, final=True))
    backlog.put(call, _utterance("outbound", 0, final=False))
    final = await backlog.next()
    assert final.utterance.final
    assert backlog._take() is None  # the partial waits while the final is decoded
    backlog.done(final, "네")
    assert (await backlog.next()).utterance.track == "outbound"
