"""G.711 codecs, resampling, WAV/FLAC decoding and the telephone-band helper."""

from __future__ import annotations

import io
import os
import random
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from telephony import audio
from telephony.audio import (
    DecodedAudio,
    decode_audio,
    mulaw_decode,
    mulaw_encode,
    resample,
    to_telephone_band,
    wav_bytes,
)
from telephony.errors import AudioDecodeError, TelephonyError


def tone(frequency: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    """A sine tone as float32."""
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    """Frequency of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


def rms(samples: np.ndarray) -> float:
    """Root mean square of the middle of a signal (edges trimmed of filter transients)."""
    middle = samples[samples.size // 10 : -samples.size // 10]
    return float(np.sqrt(np.mean(np.square(middle, dtype=np.float64))))


# --- G.711 mu-law ---


def test_mulaw_known_values() -> None:
    assert mulaw_encode(np.array([0.0, 1.0, -1.0, 32124 / 32768, -32124 / 32768])) == bytes(
        [0xFF, 0x80, 0x00, 0x80, 0x00]
    )
    decoded = mulaw_decode(bytes([0x00, 0x80, 0xFF, 0x7F, 0xF0, 0x70]))
    assert decoded.dtype == np.float32
    assert (decoded * 32768).astype(int).tolist() == [-32124, 32124, 0, 0, 120, -120]


def test_mulaw_decodes_every_code_in_range_and_monotonic() -> None:
    decoded = mulaw_decode(bytes(range(256)))
    assert np.all(np.abs(decoded) <= 1.0)
    # Codes 0x80..0xFF run from the largest positive value down to zero.
    assert np.all(np.diff(decoded[0x80:]) < 0)
    assert np.all(np.diff(decoded[:0x80]) > 0)


def test_mulaw_round_trip_error_bound() -> None:
    x = np.linspace(-1.0, 1.0, 400_001)
    error = np.abs(mulaw_decode(mulaw_encode(x)) - x)
    in_range = np.abs(x) <= 32124 / 32768
    # G.711 keeps the error within about 1/16 of the value, plus one step near zero.
    assert np.all(error[in_range] <= np.abs(x[in_range]) / 16 + 8 / 32768)
    assert error.max() <= 0.02
    signal = tone(440, 8000, 1.0, amplitude=0.3)
    noise = mulaw_decode(mulaw_encode(signal)) - signal
    assert 10 * np.log10(np.sum(signal**2) / np.sum(noise**2)) > 35


def test_mulaw_is_bit_exact_with_audioop_where_available() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop
        except ImportError:
            pytest.skip("audioop is gone (Python 3.13+)")
    linear = np.arange(-32768, 32768, dtype=np.int16)
    assert mulaw_encode(linear / 32768.0) == audioop.lin2ulaw(linear.tobytes(), 2)
    reference = np.frombuffer(audioop.ulaw2lin(bytes(range(256)), 2), dtype=np.int16)
    assert np.array_equal((mulaw_decode(bytes(range(256))) * 32768).astype(np.int16), reference)


def test_mulaw_encode_clips_and_handles_nan() -> None:
    assert mulaw_encode(np.array([5.0, -5.0, np.nan])) == bytes([0x80, 0x00, 0xFF])
    assert mulaw_encode(np.zeros(0)) == b""
    assert mulaw_decode(b"").size == 0


# --- resampling ---


def test_resample_8k_to_16k_keeps_frequency_and_duration() -> None:
    source = tone(1000, 8000, 1.0)
    result = resample(source, 8000, 16000)
    assert result.dtype == np.float32
    assert abs(result.size - 16000) <= 1
    assert abs(peak_frequency(result, 16000) - 1000) <= 2
    assert rms(result) == pytest.approx(rms(source), rel=0.02)


def test_resample_same_rate_copies_and_stereo_is_kept() -> None:
    source = np.stack([tone(300, 16000, 0.5), tone(700, 16000, 0.5)], axis=1)
    same = resample(source, 16000, 16000)
    assert np.array_equal(same, source) and same is not source
    down = resample(source, 16000, 8000)
    assert down.shape == (4000, 2)
    with pytest.raises(ValueError):
        resample(source, 0, 8000)


# --- decoding ---


def test_decode_fixture_ulaw_8k(audio_fixtures: Path) -> None:
    decoded = decode_audio((audio_fixtures / "zeroth_0294.ulaw8k.wav").read_bytes())
    assert (decoded.source_rate, decoded.source_encoding, decoded.sample_rate) == (8000, "ULAW", 16000)
    assert len(decoded.channels) == 1
    assert decoded.duration == pytest.approx(6.865, abs=0.01)
    assert abs(decoded.channels[0].size - decoded.duration * 16000) <= 2
    assert decoded.channels[0].dtype == np.float32
    assert 0.01 < np.abs(decoded.mono()).max() <= 1.0


def test_decode_fixture_flac_16k(audio_fixtures: Path) -> None:
    data = (audio_fixtures / "zeroth_0294.16k.flac").read_bytes()
    decoded = decode_audio(data)
    original, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert (decoded.source_rate, decoded.source_encoding) == (16000, "PCM_16")
    assert rate == 16000
    assert np.array_equal(decoded.mono(), original)


def test_ulaw_wav_agrees_with_libsndfile_g711() -> None:
    codes = mulaw_encode(tone(1000, 8000, 0.5))
    data = wav_bytes(mulaw_decode(codes), 8000, encoding="ULAW")
    assert data.endswith(codes)
    linear, _rate = sf.read(io.BytesIO(data), dtype="int16")
    assert np.array_equal(linear, (mulaw_decode(codes) * 32768).astype(np.int16))
    assert decode_audio(data).source_encoding == "ULAW"


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
def test_decode_pcm16_at_common_rates(rate: int) -> None:
    decoded = decode_audio(wav_bytes(tone(1000, rate, 0.5), rate))
    (channel,) = decoded.channels
    assert (decoded.source_rate, decoded.source_encoding, decoded.sample_rate) == (rate, "PCM_16", 16000)
    assert decoded.duration == pytest.approx(0.5, abs=1 / rate)
    assert abs(channel.size - 8000) <= 1
    assert abs(peak_frequency(channel, 16000) - 1000) <= 3
    assert rms(channel) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_decode_16k_pcm16_is_not_altered() -> None:
    source = tone(440, 16000, 0.25)
    decoded = decode_audio(wav_bytes(source, 16000))
    assert np.allclose(decoded.mono(), source, atol=1 / 32768)


@pytest.mark.parametrize(
    ("encoding", "tolerance"),
    [("PCM_U8", 1e-2), ("PCM_24", 1e-6), ("PCM_32", 1e-8), ("FLOAT", 1e-7), ("ALAW", 2e-2), ("ULAW", 2e-2)],
)
def test_decode_wav_encodings(encoding: audio.WavEncoding, tolerance: float) -> None:
    source = tone(500, 16000, 0.25)
    decoded = decode_audio(wav_bytes(source, 16000, encoding=encoding))
    assert decoded.source_encoding == encoding
    assert np.allclose(decoded.mono(), source, atol=tolerance)


def test_decode_alaw_8k() -> None:
    decoded = decode_audio(wav_bytes(tone(800, 8000, 0.5), 8000, encoding="ALAW"))
    assert (decoded.source_rate, decoded.source_encoding) == (8000, "ALAW")
    assert abs(peak_frequency(decoded.mono(), 16000) - 800) <= 3


def test_decode_stereo_44k_keeps_channels_apart() -> None:
    caller, agent = tone(440, 44100, 1.0, 0.6), tone(1500, 44100, 1.0, 0.3)
    decoded = decode_audio(wav_bytes(np.stack([caller, agent], axis=1), 44100))
    assert len(decoded.channels) == 2
    first, second = decoded.channels
    assert first.size == second.size and abs(first.size - 16000) <= 1
    assert abs(peak_frequency(first, 16000) - 440) <= 3
    assert abs(peak_frequency(second, 16000) - 1500) <= 3
    assert rms(first) == pytest.approx(0.6 / np.sqrt(2), rel=0.02)
    assert rms(second) == pytest.approx(0.3 / np.sqrt(2), rel=0.02)
    assert np.allclose(decoded.mono(), (first + second) / 2, atol=1e-6)


def test_decode_wavex_and_ogg() -> None:
    source = tone(600, 22050, 0.5)
    buffer = io.BytesIO()
    sf.write(buffer, source, 22050, format="WAVEX", subtype="PCM_24")
    assert decode_audio(buffer.getvalue()).source_encoding == "PCM_24"
    buffer = io.BytesIO()
    sf.write(buffer, source, 22050, format="OGG", subtype="VORBIS")
    decoded = decode_audio(buffer.getvalue())
    assert decoded.source_encoding == "VORBIS"
    assert abs(peak_frequency(decoded.mono(), 16000) - 600) <= 3


def test_decode_float_wav_with_nan_and_overs_is_cleaned() -> None:
    source = tone(500, 16000, 0.1)
    source[10], source[20], source[30] = np.nan, np.inf, 4.0
    decoded = decode_audio(wav_bytes(source, 16000, encoding="FLOAT"))
    assert np.all(np.isfinite(decoded.mono())) and np.abs(decoded.mono()).max() <= 1.0


def test_decoded_audio_is_frozen() -> None:
    decoded = decode_audio(wav_bytes(tone(500, 8000, 0.1), 8000))
    assert isinstance(decoded, DecodedAudio)
    with pytest.raises(AttributeError):
        decoded.duration = 1.0  # type: ignore[misc]


# --- rejection ---


def _wav_header(format_tag: int, data: bytes, *, channels: int = 1, rate: int = 8000, bits: int = 8) -> bytes:
    fmt = struct.pack("<HHIIHH", format_tag, channels, rate, rate * channels * bits // 8, channels, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    body = b"WAVE" + chunks
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty input"),
        (b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>", "HTML"),
        (b"\n  <html><head><title>Error</title></head></html>", "HTML"),
        (b'{"code": 20404, "message": "The requested resource was not found"}', "JSON"),
        (b"RIFF", "truncated WAV header"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", "truncated WAV header"),
        (b"RIFF\x04\x00\x00\x00WAVE", "truncated WAV header"),
        (b"RIFF\x24\x00\x00\x00AVI LIST", "not a RIFF/WAVE file"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "MP3"),
        (b"hello, this is not audio", "not a RIFF/WAVE file"),
        (_wav_header(0x0001, b""), "empty audio"),
        (_wav_header(0x0055, b"\xff\xfb" * 100), "unsupported encoding"),
        (_wav_header(0x0133, b"\x00" * 100), "unsupported encoding"),
    ],
)
def test_decode_rejects_non_audio_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(AudioDecodeError, match=reason):
        decode_audio(data)


def test_decode_rejects_adpcm_wav() -> None:
    buffer = io.BytesIO()
    sf.write(buffer, tone(500, 8000, 0.5), 8000, format="WAV", subtype="IMA_ADPCM")
    with pytest.raises(AudioDecodeError, match=r"unsupported encoding.*IMA ADPCM"):
        decode_audio(buffer.getvalue())


def test_decode_rejects_more_than_four_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    # Four real hours would take 115 MB of mu-law; lower the limit instead.
    monkeypatch.setattr(audio, "MAX_DURATION_SECONDS", 1)
    decode_audio(wav_bytes(tone(500, 8000, 0.9), 8000))
    with pytest.raises(AudioDecodeError, match="too long"):
        decode_audio(wav_bytes(tone(500, 8000, 1.5), 8000))
    assert audio.MAX_DURATION_SECONDS == 1


def test_decode_rejects_odd_sample_rates_and_channel_counts() -> None:
    with pytest.raises(AudioDecodeError, match="sample rate"):
        decode_audio(wav_bytes(tone(100, 2000, 0.5), 2000))
    with pytest.raises(AudioDecodeError, match="channel count"):
        decode_audio(wav_bytes(np.zeros((800, 4), dtype=np.float32), 8000))


def _decode_or_reject(data: bytes) -> DecodedAudio | None:
    try:
        return decode_audio(data)
    except AudioDecodeError as err:
        assert str(err)
        return None


def test_random_bytes_never_raise_another_exception() -> None:
    rng = random.Random(20240611)
    prefixes = [b"", b"RIFF", b"RIFF\xff\xff\xff\xffWAVE", b"RIFF\x00\x01\x00\x00WAVEfmt ", b"fLaC", b"OggS"]
    for index in range(600):
        prefix = prefixes[index % len(prefixes)]
        body = rng.randbytes(rng.choice([1, 7, 40, 300, 5000]))
        _decode_or_reject(prefix + body)
    _decode_or_reject(os.urandom(64 * 1024))


def test_wav_with_random_payload_decodes_or_is_rejected() -> None:
    rng = random.Random(7)
    for tag in (1, 3, 6, 7):
        for bits in (8, 16, 24, 32):
            _decode_or_reject(_wav_header(tag, rng.randbytes(999), bits=bits))


def test_truncated_files_decode_what_is_there_or_are_rejected(audio_fixtures: Path) -> None:
    wav = (audio_fixtures / "zeroth_0294.ulaw8k.wav").read_bytes()
    flac = (audio_fixtures / "zeroth_0294.16k.flac").read_bytes()
    for data in (wav, flac):
        for cut in [*range(0, 200), *range(200, len(data), 997), len(data) - 1]:
            result = _decode_or_reject(data[:cut])
            assert result is None or (result.duration > 0 and result.channels[0].size > 0)
    # A WAV cut short keeps the audio before the cut (a recording interrupted mid-call) ...
    partial = decode_audio(wav[: len(wav) // 2])
    assert partial.duration == pytest.approx(decode_audio(wav).duration / 2, abs=0.01)
    # ... while libsndfile reports a FLAC cut short as lost sync.
    with pytest.raises(AudioDecodeError, match="FLAC"):
        decode_audio(flac[: len(flac) // 2])


def test_truncated_wav_header_is_rejected_not_read_as_silence(audio_fixtures: Path) -> None:
    data = (audio_fixtures / "zeroth_0294.ulaw8k.wav").read_bytes()
    for cut in range(1, 58):
        with pytest.raises(AudioDecodeError):
            decode_audio(data[:cut])


def test_decode_error_is_a_telephony_error() -> None:
    assert issubclass(AudioDecodeError, TelephonyError)


# --- telephone band and WAV writing ---


def test_to_telephone_band_passes_speech_band_and_cuts_outside() -> None:
    def through_phone(frequency: float) -> float:
        codes = to_telephone_band(tone(frequency, 16000, 1.0, amplitude=0.5))
        assert len(codes) == 8000
        return rms(mulaw_decode(codes)) / (0.5 / np.sqrt(2))

    assert through_phone(1000) == pytest.approx(1.0, abs=0.05)
    assert through_phone(500) == pytest.approx(1.0, abs=0.05)
    assert through_phone(3000) == pytest.approx(1.0, abs=0.05)
    assert through_phone(100) < 0.03
    assert through_phone(3900) < 0.03
    assert through_phone(6000) < 0.01
    assert to_telephone_band(np.zeros(0, dtype=np.float32)) == b""


def test_wav_bytes_round_trip() -> None:
    source = tone(700, 8000, 0.2)
    for encoding in ("PCM_16", "ULAW"):
        data = wav_bytes(source, 8000, encoding=encoding)
        assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
        read, rate = sf.read(io.BytesIO(data), dtype="float32")
        assert rate == 8000 and read.shape == source.shape
        assert np.allclose(read, source, atol=0.02)
