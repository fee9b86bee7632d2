"""Audio codecs and decoding: G.711 mu-law, resampling, and call recordings to 16 kHz float."""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np
import soundfile as sf
import soxr

from telephony.errors import AudioDecodeError

TARGET_RATE = 16000
TELEPHONE_RATE = 8000
MAX_DURATION_SECONDS = 4 * 3600
MIN_SOURCE_RATE = 8000
MAX_SOURCE_RATE = 192000
MAX_CHANNELS = 2

WavEncoding = Literal["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "ULAW", "ALAW"]

_BLOCK_FRAMES = 1 << 16

# WAVE format tags this service decodes (PCM, IEEE float, A-law, mu-law) and names for the ones it
# refuses, so the error says what the file actually is.
_WAV_SUPPORTED_TAGS = {0x0001: "PCM", 0x0003: "IEEE float", 0x0006: "A-law", 0x0007: "mu-law"}
_WAV_TAG_NAMES = {
    0x0002: "MS ADPCM",
    0x0011: "IMA ADPCM",
    0x0014: "G.723 ADPCM",
    0x0022: "TrueSpeech",
    0x0031: "GSM 6.10",
    0x0040: "G.721 ADPCM",
    0x0045: "G.726 ADPCM",
    0x0050: "MPEG",
    0x0055: "MPEG Layer 3",
    0x0064: "G.726 ADPCM",
    0x0065: "G.722 ADPCM",
    0x0133: "G.729",
    0x1610: "AAC",
    0xFFFF: "experimental",
}
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE

# G.711 mu-law, bit-exact with CPython's audioop (Sun's g711.c), which Python 3.13 removed.
_ULAW_BIAS = 0x84
_ULAW_CLIP_14 = 8159
_ULAW_SEGMENT_ENDS_14 = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)


def _build_ulaw_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((codes & 0x0F) << 3) + _ULAW_BIAS) << ((codes & 0x70) >> 4)
    return np.where(codes & 0x80, _ULAW_BIAS - magnitude, magnitude - _ULAW_BIAS).astype(np.int16)


def _build_ulaw_encode_table() -> np.ndarray:
    linear = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(linear < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(linear), _ULAW_CLIP_14) + (_ULAW_BIAS >> 2)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS_14, magnitude, side="left")
    code = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


_ULAW_TO_LINEAR = _build_ulaw_decode_table()
_ULAW_TO_FLOAT = (_ULAW_TO_LINEAR.astype(np.float32) / 32768.0).astype(np.float32)
_LINEAR_TO_ULAW = _build_ulaw_encode_table()


def mulaw_decode(data: bytes) -> np.ndarray:
    """Decode G.711 mu-law bytes to float32 samples in [-1, 1]."""
    codes = np.frombuffer(data, dtype=np.uint8)
    return _ULAW_TO_FLOAT[codes]


def mulaw_encode(samples: np.ndarray) -> bytes:
    """Encode float samples in [-1, 1] (clipped beyond) to G.711 mu-law bytes."""
    values = np.nan_to_num(np.asarray(samples, dtype=np.float64).ravel(), nan=0.0)
    linear = np.clip(np.round(values * 32768.0), -32768, 32767).astype(np.int32)
    return _LINEAR_TO_ULAW[linear + 32768].tobytes()


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample float32 samples (frames, or frames x channels) with soxr at high quality."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    samples = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate:
        return samples.copy()
    if samples.shape[0] == 0:
        return np.zeros((0, *samples.shape[1:]), dtype=np.float32)
    return np.asarray(soxr.resample(samples, from_rate, to_rate, quality="HQ"), dtype=np.float32)


@dataclass(frozen=True, eq=False)
class DecodedAudio:
    """Decoded audio: one float32 array per channel, each at `sample_rate` (16 kHz)."""

    channels: tuple[np.ndarray, ...]
    source_rate: int
    source_encoding: str
    duration: float
    sample_rate: int = TARGET_RATE

    def mono(self) -> np.ndarray:
        """Return the mean of the channels as float32 (the channel itself when mono)."""
        if len(self.channels) == 1:
            return self.channels[0]
        return np.asarray(np.mean(np.stack(self.channels), axis=0, dtype=np.float32))


def decode_audio(data: bytes) -> DecodedAudio:
    """Decode a WAV (PCM, float, mu-law, A-law), FLAC or Ogg recording to 16 kHz float32 channels."""
    data = bytes(data)
    container = _sniff_container(data)
    try:
        with sf.SoundFile(io.BytesIO(data)) as sound:
            return _read_resampled(sound, container)
    except AudioDecodeError:
        raise
    except (sf.SoundFileError, RuntimeError, ValueError, TypeError, EOFError) as err:
        reason = getattr(err, "error_string", None) or str(err)
        raise AudioDecodeError(f"cannot decode {container} audio (corrupt or truncated?): {reason}") from err


def to_telephone_band(samples16k: np.ndarray) -> bytes:
    """Turn 16 kHz float32 speech into 8 kHz G.711 mu-law, band-limited to 300-3400 Hz like a phone line."""
    narrow = resample(np.asarray(samples16k, dtype=np.float32).ravel(), TARGET_RATE, TELEPHONE_RATE)
    if narrow.size == 0:
        return b""
    band = _fft_convolve_same(narrow.astype(np.float64), _telephone_band_pass())
    return mulaw_encode(np.clip(band, -1.0, 1.0))


def wav_bytes(samples: np.ndarray, rate: int, encoding: WavEncoding = "PCM_16") -> bytes:
    """Write samples (frames, or frames x channels, float in [-1, 1]) as a WAV file in memory."""
    buffer = io.BytesIO()
    sf.write(buffer, np.asarray(samples, dtype=np.float32), rate, format="WAV", subtype=encoding)
    return buffer.getvalue()


def _sniff_container(data: bytes) -> str:
    """Name the container from its magic bytes, or raise AudioDecodeError saying why it is not audio."""
    if not data:
        raise AudioDecodeError("empty input (0 bytes)")
    head = data[:4]
    if head in (b"RIFF", b"RIFX", b"RF64", b"BW64"):
        if len(data) < 12:
            raise AudioDecodeError(f"truncated WAV header ({len(data)} bytes)")
        if data[8:12] != b"WAVE":
            raise AudioDecodeError("not a RIFF/WAVE file (RIFF container without WAVE form)")
        _check_wav_chunks(data)
        return "WAV"
    if head == b"fLaC":
        return "FLAC"
    if head == b"OggS":
        return "Ogg"
    if data[:3] == b"ID3":
        raise AudioDecodeError("unsupported format: MP3 (expected WAV, FLAC or Ogg)")
    text_start = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text_start.startswith(b"<"):
        raise AudioDecodeError("not a RIFF/WAVE file: looks like an HTML or XML document (an error page?)")
    if text_start.startswith((b"{", b"[")):
        raise AudioDecodeError("not a RIFF/WAVE file: looks like a JSON document (an error response?)")
    raise AudioDecodeError("not a RIFF/WAVE file (nor FLAC or Ogg): unrecognised format")


def _check_wav_chunks(data: bytes) -> None:
    """Walk the RIFF chunks: require a supported fmt chunk and a non-empty data chunk."""
    endian = ">" if data[:4] == b"RIFX" else "<"
    offset = 12
    format_tag: int | None = None
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack(endian + "I", data[offset + 4 : offset + 8])
        body = offset + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise AudioDecodeError("truncated WAV header (incomplete fmt chunk)")
            format_tag = _wav_format_tag(data[body : body + min(size, 40)], endian)
        elif chunk_id == b"data":
            if format_tag is None:
                raise AudioDecodeError("malformed WAV header (data chunk before fmt chunk)")
            if body >= len(data) or size == 0:
                raise AudioDecodeError("empty audio (WAV data chunk holds no samples)")
            return
        offset = body + size + (size & 1)
    if format_tag is None:
        raise AudioDecodeError("truncated WAV header (no fmt chunk)")
    raise AudioDecodeError("truncated WAV file (no data chunk)")


def _wav_format_tag(fmt: bytes, endian: str) -> int:
    """Return the fmt chunk's format tag, raising AudioDecodeError when it is not a supported encoding."""
    (tag,) = struct.unpack(endian + "H", fmt[:2])
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        # The real format tag is the first two bytes of the SubFormat GUID.
        (tag,) = struct.unpack(endian + "H", fmt[24:26])
    if tag not in _WAV_SUPPORTED_TAGS:
        name = _WAV_TAG_NAMES.get(tag, "unknown")
        raise AudioDecodeError(
            f"unsupported encoding in WAV: format tag 0x{tag:04X} ({name}); expected PCM, IEEE float, mu-law or A-law"
        )
    return tag


def _read_resampled(sound: sf.SoundFile, container: str) -> DecodedAudio:
    """Read the open file block by block, resampling to 16 kHz as it goes to bound memory."""
    rate, channels = sound.samplerate, sound.channels
    if not MIN_SOURCE_RATE <= rate <= MAX_SOURCE_RATE:
        raise AudioDecodeError(f"unsupported sample rate {rate} Hz (expected {MIN_SOURCE_RATE} to {MAX_SOURCE_RATE})")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioDecodeError(f"unsupported channel count {channels} (expected mono or stereo)")
    max_frames = MAX_DURATION_SECONDS * rate
    limit = f"the limit is {MAX_DURATION_SECONDS // 3600} h"
    if sound.frames > max_frames:
        raise AudioDecodeError(f"audio too long ({sound.frames / rate / 3600:.1f} h; {limit})")
    stream = (
        None if rate == TARGET_RATE else soxr.ResampleStream(rate, TARGET_RATE, channels, dtype="float32", quality="HQ")
    )
    pieces: list[np.ndarray] = []
    frames_read = 0
    while True:
        block = sound.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
        if block.shape[0] == 0:
            break
        frames_read += block.shape[0]
        if frames_read > max_frames:
            raise AudioDecodeError(f"audio too long ({limit})")
        # Float WAVs may carry NaN, inf or overs; soxr would smear a NaN over its whole filter length.
        block = np.clip(np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
        pieces.append(block if stream is None else stream.resample_chunk(block))
    if frames_read == 0:
        raise AudioDecodeError(f"empty audio ({container} stream holds no samples)")
    if stream is not None:
        pieces.append(stream.resample_chunk(np.zeros((0, channels), dtype=np.float32), last=True))
    joined = np.concatenate(pieces, axis=0)
    return DecodedAudio(
        channels=tuple(np.ascontiguousarray(joined[:, index]) for index in range(channels)),
        source_rate=rate,
        source_encoding=sound.subtype,
        duration=frames_read / rate,
    )


@functools.cache
def _telephone_band_pass(taps: int = 401, low: float = 300.0, high: float = 3400.0) -> np.ndarray:
    """Kaiser-windowed sinc FIR band-pass at 8 kHz (300-3400 Hz, about 60 dB stop band)."""
    n = np.arange(taps) - (taps - 1) / 2
    low_cut, high_cut = low / TELEPHONE_RATE, high / TELEPHONE_RATE
    ideal = 2 * high_cut * np.sinc(2 * high_cut * n) - 2 * low_cut * np.sinc(2 * low_cut * n)
    return ideal * np.kaiser(taps, 6.0)


def _fft_convolve_same(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Linear convolution by FFT, trimmed to the input's length and aligned (zero phase)."""
    size = signal.size + kernel.size - 1
    fft_size = 1 << (size - 1).bit_length()
    full = np.fft.irfft(np.fft.rfft(signal, fft_size) * np.fft.rfft(kernel, fft_size), fft_size)
    start = (kernel.size - 1) // 2
    return full[start : start + signal.size]
