"""The survey report's files: a photo is accepted only as the image type it claims, by its first bytes, and within
its size; the signature only as a PNG."""

from __future__ import annotations

import pytest

from crm_store.dispatch.errors import InvalidDispatch
from crm_store.dispatch.reports import MAGIC, Upload, checked_image

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16
IMAGES = frozenset(MAGIC)


@pytest.mark.parametrize("kind, data", [("image/png", PNG), ("image/jpeg; charset=x", JPEG), ("IMAGE/WEBP", WEBP)])
def test_an_image_of_the_type_it_claims_is_kept(kind: str, data: bytes) -> None:
    kept = checked_image(Upload(kind, data), limit=1024, allowed=IMAGES, field="photos")
    assert kept.data == data and kept.content_type in IMAGES


@pytest.mark.parametrize(
    "kind, data, problem",
    [
        ("image/jpeg", PNG, "not a image/jpeg"),  # a PNG named a JPEG
        ("text/html", b"<script>", "not accepted"),
        ("image/webp", b"RIFF\x10\x00\x00\x00WAVEfmt ", "not a image/webp"),
        ("image/png", b"", "empty"),
        ("image/png", PNG + b"\x00" * 2048, "over 1024 bytes"),
    ],
)
def test_anything_else_is_refused_naming_the_field(kind: str, data: bytes, problem: str) -> None:
    with pytest.raises(InvalidDispatch, match=problem) as refused:
        checked_image(Upload(kind, data), limit=1024, allowed=IMAGES, field="photos")
    assert "photos" in refused.value.fields


def test_the_signature_is_a_png_only() -> None:
    with pytest.raises(InvalidDispatch, match="signature"):
        checked_image(Upload("image/jpeg", JPEG), limit=1024, allowed=frozenset({"image/png"}), field="signature")
