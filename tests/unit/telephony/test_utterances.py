"""A live track cut into utterances: partials while a long one goes on, one final when it ends, nothing in silence."""

from __future__ import annotations

import numpy as np

from telephony.audio import mulaw_decode
from telephony.utterances import RATE, UtteranceCutter
from tests.live_helpers import telephone_audio


def _feed(cutter: UtteranceCutter, samples: np.ndarray) -> list:
    out = []
    for offset in range(0, samples.size, 160):
        out += cutter.feed(samples[offset : offset + 160], offset * 1000 // RATE)
    return out


def test_a_recording_is_one_final_with_partials_before_it() -> None:
    speech = mulaw_decode(telephone_audio())
    samples = np.concatenate([speech, np.zeros(RATE, np.float32)])
    utterances = _feed(UtteranceCutter("inbound"), samples)
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
