"""Classification benchmark: transcripts per second on one core and type macro-F1.

Run ``python bench/classify_bench.py`` from the repository root.  It pins itself to one CPU core
(where the OS allows), warms the model up (model file and Kiwi loaded before timing), then times
``understand()`` over the generated test split (templates never seen in training) and the
hand-written held-out set, with and without the Kiwi morphology fallback, and prints for each the
macro-F1 of the call type (a call left unclassified counts as a miss), the same without abstention
(the model's best guess) and the share of calls left unclassified; then the share of off-topic
utterances (data/understanding/offtopic.tsv, calibration and held-out parts) left unclassified.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.understanding import load_model, preload, understand  # noqa: E402
from workers.understanding.train import macro_f1  # noqa: E402

DATA = ROOT / "data" / "understanding"


def read(path: Path) -> list[dict[str, str]]:
    """Rows of a TSV file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))


def run(rows: list[dict[str, str]], *, morphology: bool, repeat: int) -> dict[str, float]:
    """Transcripts per second, type macro-F1 with and without abstention, share unclassified, share that
    consulted Kiwi."""
    results = []
    started = time.perf_counter()
    for _ in range(repeat):
        results = [understand(row["text"], morphology=morphology) for row in rows]
    elapsed = time.perf_counter() - started
    guesses = [r.type for r in results]
    best = [max(r.scores, key=r.scores.__getitem__) for r in results]
    model = load_model()
    consulted = 0
    if morphology:
        from workers.understanding.entities import analyse
        from workers.understanding.features import prepare

        for row in rows:
            consulted += model.classify(prepare(analyse(row["text"])[0]), top_features=0).used_morphology
    truth = [r["type"] for r in rows]
    return {
        "rate": len(rows) * repeat / elapsed,
        "f1": macro_f1(truth, guesses) if truth[0] else float("nan"),
        "f1_without_abstention": macro_f1(truth, best) if truth[0] else float("nan"),
        "unclassified": sum(g is None for g in guesses) / len(rows),
        "consulted": consulted / len(rows),
    }


def main() -> None:
    """Print throughput and macro-F1 for each data set and mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes over each data set")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    off_topic = read(DATA / "offtopic.tsv")
    sets = {
        "generated test split": [r for r in read(DATA / "generated.tsv") if r["split"] == "test"],
        "hand-written held-out": read(DATA / "heldout.tsv"),
        "off-topic calibration": [{**r, "type": ""} for r in off_topic if r["split"] == "calibration"],
        "off-topic held-out": [{**r, "type": ""} for r in off_topic if r["split"] == "heldout"],
    }
    model = preload()  # model file and Kiwi loaded before timing
    understand("워밍업 문장입니다 사고 접수해 주세요", morphology=True)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"model {model.name}, {cores} core(s), python {sys.version.split()[0]}")
    print(
        f"{'data set':<24}{'n':>6}  {'mode':<31}{'per second':>12}{'type macro-F1':>15}"
        f"{'without abst.':>15}{'unclassified':>14}{'Kiwi used':>11}"
    )
    for name, rows in sets.items():
        for morphology in (False, True):
            got = run(rows, morphology=morphology, repeat=args.repeat)
            mode = "char n-grams + Kiwi if unsure" if morphology else "char n-grams only"
            print(
                f"{name:<24}{len(rows):>6}  {mode:<31}{got['rate']:>12,.0f}{got['f1']:>15.3f}"
                f"{got['f1_without_abstention']:>15.3f}{got['unclassified']:>14.1%}{got['consulted']:>10.0%}"
            )


if __name__ == "__main__":
    main()
