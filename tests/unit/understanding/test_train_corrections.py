"""Operators' corrections become training rows of the classifier (the export of GET /api/v1/corrections)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.understanding.taxonomy import load_taxonomy
from workers.understanding.train import load_corrections

TAXONOMY = load_taxonomy()
KINDS, TOPICS = set(TAXONOMY.types), set(TAXONOMY.topics)


def _item(n: int, **overrides: object) -> dict[str, object]:
    item = {
        "id": n,
        "call_sid": f"CA{n:032x}",
        "text": "차를 팔아서 차량 변경 신고하려고요",
        "type": "notification",
        "topic": "notification.vehicle_change",
        "entities": [],
        "predicted": {"type": "inquiry", "topic": "inquiry.coverage"},
        "changed": True,
    }
    return {**item, **overrides}


def test_api_answers_pages_and_lines_all_load(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"items": [_item(1), _item(2)]}, ensure_ascii=False))
    pages = tmp_path / "pages.json"
    pages.write_text(json.dumps([{"items": [_item(1)]}, {"items": [_item(2)]}], ensure_ascii=False))
    lines = tmp_path / "lines.jsonl"
    lines.write_text("\n".join(json.dumps(_item(n), ensure_ascii=False) for n in (1, 2)) + "\n")
    for path in (one, pages, lines):
        rows = load_corrections(path, types=KINDS, topics=TOPICS)
        assert [r["template"] for r in rows] == ["correction:1", "correction:2"]
        assert rows[0] == {
            "text": "차를 팔아서 차량 변경 신고하려고요",
            "type": "notification",
            "topic": "notification.vehicle_change",
            "template": "correction:1",
        }


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"text": ""}, "no transcript"),
        ({"type": "praise"}, "not in taxonomy"),
        ({"topic": "notification.nonsense"}, "not in taxonomy"),
        ({"type": "complaint"}, "not in taxonomy"),  # a topic of another type
    ],
)
def test_a_correction_the_taxonomy_cannot_hold_is_refused_with_its_id(
    tmp_path: Path, overrides: dict[str, object], reason: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"items": [_item(1), _item(7, **overrides)]}, ensure_ascii=False))
    with pytest.raises(SystemExit, match=rf"correction 7 .*{reason}"):
        load_corrections(path, types=KINDS, topics=TOPICS)
