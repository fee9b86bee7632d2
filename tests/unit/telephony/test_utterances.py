"""A live track cut into utterances: partials while a long one goes on, one final when it ends, nothing in silence."""

from __future__ import annotations

import numpy as np
import pytest

from telephony.audio import mulaw_decode
from telephony.utterances import RATE, CutterTiming, UtteranceCutter
from tests.live_helpers import telephone_audio


def _feed(cutter: UtteranceCutter, samples: np.ndarray) -> list:
    out = []
    for offset in range(0, samples.size, 160):
        out += cutter.feed(samples[offset : offset + 160], offset * 1000 // RATE)
    return out


def test_a_recording_is_one_final_with_partials_before_it() -> None:
    speech = mulaw_decode(telephone_audio())
    samples = np.concatenate([speech, np.zeros(RATE, np.float32)])
    utterances = _feed(UtteranceCutter("inbound", CutterTiming(pause=None)), samples)
    finals = [u for u in utterances if u.final]
    assert len(finals) == 1
    final = finals[0]
    assert 0.0 <= final.start < 1.0 and speech.size / RATE - 2.0 < final.end <= speech.size / RATE
    assert final.samples.size >= (final.end - final.start) * RATE
    partials = [u for u in utterances if not u.final]
    assert partials and all(p.start == final.start for p in partials)
    assert [p.end for p in partials] == sorted(p.end for p in partials)
    assert utterances[-1] is final


def test_silence_and_a_click_are_no_utterance() -> None:
    cutter = UtteranceCutter("outbound")
    silence = np.zeros(3 * RATE, np.float32)
    silence[RATE : RATE + 80] = 0.5  # 10 ms: shorter than the frames that start speech
    assert _feed(cutter, silence) == []
    assert cutter.flush() == []


def test_the_end_of_the_stream_ends_the_utterance_under_way() -> None:
    cutter = UtteranceCutter("inbound")
    speech = mulaw_decode(telephone_audio())
    _feed(cutter, speech[: 3 * RATE])
    assert cutter.in_speech
    (final,) = cutter.flush()
    assert final.final and final.end == 3.0


def test_a_gap_in_the_timestamps_is_silence() -> None:
    cutter = UtteranceCutter("inbound")
    speech = mulaw_decode(telephone_audio())[: 2 * RATE]
    _feed(cutter, speech)
    # Frames lost for a second: the audio after the gap is placed where its timestamps say.
    after = cutter.feed(np.zeros(160, np.float32), 3000)
    assert after[-1].final and after[-1].end <= 2.0


def _voice(seconds: float) -> np.ndarray:
    """A steady tone well above the line's floor: voiced for the cutter."""
    return (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def _quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def test_a_long_turn_is_cut_at_its_short_pauses_once_it_is_long_enough() -> None:
    timing = CutterTiming(pause=0.3, cut_after=3.0, hangover=0.5)
    # 2.5 s, a breath (too early to cut), 1.3 s, a breath (cut), 1 s, then the turn ends.
    turn = [_voice(2.5), _quiet(0.4), _voice(1.3), _quiet(0.4), _voice(1.0), _quiet(1.0)]
    finals = [u for u in _feed(UtteranceCutter("inbound", timing), np.concatenate(turn)) if u.final]
    assert [(f.number, round(f.start, 1), round(f.end, 1)) for f in finals] == [(0, 0.0, 4.2), (1, 4.5, 5.6)]
    # Each final carries its own audio: the first from its pre-roll to a little after its last voice.
    assert finals[0].samples.size == pytest.approx((4.2 + 0.15) * RATE, abs=2 * 160)


def test_a_breath_in_a_short_utterance_waits_for_the_hangover() -> None:
    timing = CutterTiming(pause=0.3, cut_after=3.0, hangover=0.5)
    cutter = UtteranceCutter("inbound", timing)
    assert not [u for u in _feed(cutter, np.concatenate([_voice(1.0), _quiet(0.4)])) if u.final]
    assert cutter.in_speech  # 0.4 s of quiet after 1 s of speech: the same utterance goes on
    rest = _feed(cutter, np.concatenate([_voice(1.0), _quiet(0.6)]))
    (final,) = [u for u in rest if u.final]
    assert final.number == 0 and round(final.end, 1) == 2.4


def test_without_pause_cutting_only_the_hangover_ends_an_utterance() -> None:
    timing = CutterTiming(pause=None, hangover=0.5)
    turn = [_voice(3.5), _quiet(0.4), _voice(1.0), _quiet(0.6)]
    finals = [u for u in _feed(UtteranceCutter("inbound", timing), np.concatenate(turn)) if u.final]
    assert [(f.number, round(f.end, 1)) for f in finals] == [(0, 4.9)]
