"""Train the call classifier and write ``workers/understanding/model.json``.

Run ``python -m workers.understanding.train`` (needs scikit-learn and kiwipiepy).  It trains on
the ``train`` split of ``data/understanding/generated.tsv`` (plus, with ``--corrections FILE``, the
operators' corrections exported by ``GET /api/v1/corrections``), then fits the abstention rule
(``abstain.calibrate``: in-domain calibration calls are the ``test`` split, off-topic ones the
``calibration`` part of ``offtopic.tsv``), then prints type macro-F1 and the confusion matrix,
measured through the run-time code on the saved file, for (a) the ``test`` split (templates never
seen in training) and (b) the hand-written ``heldout.tsv``, each with and without abstention, and
the share of off-topic sentences left unclassified, the ``heldout`` part of ``offtopic.tsv`` included
(it never enters the calibration).  ``--calibrate-only`` fits the abstention rule of the existing
model file again without retraining the classifier.

``offtopic.tsv`` holds hand-written off-topic utterances and read sentences of the Zeroth-Korean
corpus (Atlas Guide Inc. and Gridspace Inc., OpenSLR SLR40, CC BY 4.0), credited in its ``source`` column.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from workers.understanding.abstain import calibrate
from workers.understanding.features import char_ngrams, morph_features_many, prepare
from workers.understanding.model import MODEL_FILE, Model
from workers.understanding.redaction import redact
from workers.understanding.taxonomy import load_taxonomy

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "understanding"
OUT = Path(__file__).resolve().parent / MODEL_FILE
NAME = "hotline-understanding"
VERSION = "1.0.0"
C = 10.0
MIN_DF = 2
FOLDS = 4
MIX_THRESHOLD = 0.6
MIX_WEIGHT = 0.5
UNCLASSIFIED = "(unclassified)"


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated file with a header."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))


def load_corrections(path: Path, *, types: set[str], topics: set[str]) -> list[dict[str, str]]:
    """Training rows from operators' corrections: the JSON answer of GET /api/v1/corrections ({"items": [...]},
    pages concatenated as a list of such answers, or one item per line). Each row is its own group, so that
    cross-validation never splits a correction from itself; rows without text, or with a type or topic the
    taxonomy does not know, are refused with the reason."""
    raw = path.read_text(encoding="utf-8").strip()
    try:
        documents = [json.loads(raw)]
    except json.JSONDecodeError:
        documents = [json.loads(line) for line in raw.splitlines() if line.strip()]
    items: list[dict[str, Any]] = []
    for document in documents:
        for page in document if isinstance(document, list) else [document]:
            items.extend(page["items"] if isinstance(page, dict) and "items" in page else [page])
    rows = []
    for item in items:
        text, kind, topic = item.get("text"), item.get("type"), item.get("topic")
        where = f"correction {item.get('id')} (call {item.get('call_sid')})"
        if not text:
            raise SystemExit(f"{where}: no transcript")
        if kind not in types or topic not in topics or topic.split(".", 1)[0] != kind:
            raise SystemExit(f"{where}: type {kind!r} / topic {topic!r} not in taxonomy.json")
        rows.append({"text": text, "type": kind, "topic": topic, "template": f"correction:{item.get('id')}"})
    return rows


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """Compact JSON form of a numpy array (base64 of its bytes)."""
    array = np.ascontiguousarray(array)
    return {"dtype": array.dtype.str, "shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode()}


def quantise(weights: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """int8 weights with one scale per class (column)."""
    scale = np.abs(weights).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    return np.round(weights / scale).astype(np.int8), [float(s) for s in scale]


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature that minimises the negative log-likelihood of out-of-fold predictions."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_p = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(labels)), labels].mean())

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def train_head(x: Any, labels: Sequence[str], groups: Sequence[str]) -> dict[str, Any]:
    """Logistic regression on all rows, temperature from grouped out-of-fold logits."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    y = np.asarray(labels)
    classes = sorted(set(labels))
    y_index = np.searchsorted(classes, y)
    oof = np.zeros((len(y), len(classes)), dtype=np.float64)
    for fit_rows, eval_rows in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        fold = LogisticRegression(C=C, max_iter=3000).fit(x[fit_rows], y[fit_rows])
        columns = np.searchsorted(classes, fold.classes_)
        oof[np.ix_(eval_rows, columns)] = fold.decision_function(x[eval_rows])
    temperature = fit_temperature(oof, y_index)
    final = LogisticRegression(C=C, max_iter=3000).fit(x, y)
    weights, scale = quantise(final.coef_.T.astype(np.float32))
    return {
        "classes": [str(c) for c in final.classes_],
        "weights": encode_array(weights),
        "scale": scale,
        "intercept": [float(b) for b in final.intercept_],
        "temperature": temperature,
    }


def vectorise(docs: list[Any], analyzer: Any) -> tuple[Any, Any]:
    """Fit a TF-IDF space (sublinear tf, l2) on documents."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=MIN_DF, dtype=np.float32)
    return vectoriser, vectoriser.fit_transform(docs)


def space(vectoriser: Any) -> dict[str, Any]:
    """Vocabulary in column order and idf."""
    vocabulary = [""] * len(vectoriser.vocabulary_)
    for term, column in vectoriser.vocabulary_.items():
        vocabulary[column] = term
    return {"vocabulary": vocabulary, "idf": encode_array(vectoriser.idf_.astype(np.float32))}


def predict(model: Model, prepared: str, *, morphology: bool) -> tuple[str, str, bool]:
    """Type and topic as understand() would give them without abstention, and whether it abstains."""
    result = model.classify(prepared, morphology=morphology, top_features=0)
    call_type = max(result.type_probs, key=result.type_probs.__getitem__)
    topics = {t: p for t, p in result.topic_probs.items() if t.startswith(call_type + ".")}
    return call_type, max(topics, key=topics.__getitem__), model.abstention.unsure(result.domain_scores)


def domain_scores(model: Model, prepared: Sequence[str]) -> dict[str, list[float]]:
    """Each domain score (abstain.DOMAIN_SCORES) of each prepared transcript."""
    columns: dict[str, list[float]] = {}
    for text in prepared:
        for name, value in model.classify(text, morphology=False, top_features=0).domain_scores.items():
            columns.setdefault(name, []).append(value)
    return columns


def calibration_texts() -> tuple[list[str], list[str]]:
    """Prepared in-domain calibration calls (the generated ``test`` split) and off-topic calibration sentences."""
    in_domain = [prepare(redact(r["text"])) for r in read_tsv(DATA_DIR / "generated.tsv") if r["split"] == "test"]
    off_topic = [prepare(redact(r["text"])) for r in read_tsv(DATA_DIR / "offtopic.tsv") if r["split"] == "calibration"]
    return in_domain, off_topic


def fit_abstention(model: Model) -> dict[str, Any]:
    """The abstention rule of this model, as ``model.json`` keeps it under ``abstain``."""
    in_domain, off_topic = calibration_texts()
    return calibrate(domain_scores(model, in_domain), domain_scores(model, off_topic))


def macro_f1(truth: Sequence[str], guess: Sequence[str | None]) -> float:
    """Macro-averaged F1 over the labels present in the truth (a None guess is a miss of the true label)."""
    scores = []
    for label in sorted(set(truth)):
        tp = sum(1 for t, g in zip(truth, guess, strict=True) if t == label and g == label)
        fp = sum(1 for t, g in zip(truth, guess, strict=True) if t != label and g == label)
        fn = sum(1 for t, g in zip(truth, guess, strict=True) if t == label and g != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def confusion(truth: Sequence[str], guess: Sequence[str | None], labels: Sequence[str]) -> str:
    """Confusion matrix as text: rows are the truth, columns the prediction (a last column for unclassified)."""
    shown = [*guess]
    columns = list(labels)
    if None in shown:
        shown = [UNCLASSIFIED if g is None else g for g in shown]
        columns.append(UNCLASSIFIED)
    width = max(len(label) for label in labels) + 1
    lines = ["truth \\ predicted".ljust(width + 2) + "".join(label[:12].rjust(13) for label in columns)]
    for row in labels:
        counts = [sum(1 for t, g in zip(truth, shown, strict=True) if t == row and g == col) for col in columns]
        lines.append(row.ljust(width + 2) + "".join(str(c).rjust(13) for c in counts))
    return "\n".join(lines)


def evaluate(model: Model, rows: list[dict[str, str]], prepared: list[str], *, morphology: bool) -> dict[str, Any]:
    """Type and topic macro-F1 (an unclassified call counts as a miss) and accuracy, the same without abstention,
    the share of calls left unclassified, type confusion matrix."""
    guesses = [predict(model, text, morphology=morphology) for text in prepared]
    best_types = [g[0] for g in guesses]
    best_topics = [g[1] for g in guesses]
    types = [None if g[2] else g[0] for g in guesses]
    topics = [None if g[2] else g[1] for g in guesses]
    truth_types = [r["type"] for r in rows]
    truth_topics = [r["topic"] for r in rows]
    labels = sorted(set(truth_types))

    def accuracy(truth: Sequence[str], guess: Sequence[str | None]) -> float:
        return round(sum(t == g for t, g in zip(truth, guess, strict=True)) / len(rows), 4)

    return {
        "n": len(rows),
        "type_macro_f1": round(macro_f1(truth_types, types), 4),
        "type_accuracy": accuracy(truth_types, types),
        "topic_macro_f1": round(macro_f1(truth_topics, topics), 4),
        "topic_accuracy": accuracy(truth_topics, topics),
        "unclassified": round(sum(t is None for t in types) / len(rows), 4),
        "type_macro_f1_without_abstention": round(macro_f1(truth_types, best_types), 4),
        "topic_macro_f1_without_abstention": round(macro_f1(truth_topics, best_topics), 4),
        "confusion": confusion(truth_types, types, labels),
    }


def evaluate_off_topic(model: Model, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Share of off-topic sentences left unclassified, overall and by kind (what would they be about)."""
    left = [predict(model, prepare(redact(r["text"])), morphology=False)[2] for r in rows]
    kinds: dict[str, list[bool]] = {}
    for row, abstained in zip(rows, left, strict=True):
        kinds.setdefault(row["kind"], []).append(abstained)
    return {
        "n": len(rows),
        "unclassified": round(sum(left) / len(rows), 4),
        "by_kind": {kind: round(sum(v) / len(v), 4) for kind, v in sorted(kinds.items())},
    }


def train_payload(args: argparse.Namespace, train_rows: list[dict[str, str]]) -> dict[str, Any]:
    """The classifier's weights (character and, unless --no-morphology, morpheme models) for ``model.json``."""
    taxonomy = load_taxonomy()
    prepared = [prepare(redact(r["text"])) for r in train_rows]
    groups = [r["template"] for r in train_rows]
    char_vectoriser, char_x = vectorise(prepared, char_ngrams)
    payload: dict[str, Any] = {
        "name": NAME,
        "version": VERSION,
        "trained_on": date.today().isoformat(),
        "taxonomy_version": taxonomy.version,
        "features": {"char_wb": [2, 4], "sublinear_tf": True, "min_df": MIN_DF, "C": C},
        "char": {
            **space(char_vectoriser),
            "type": train_head(char_x, [r["type"] for r in train_rows], groups),
            "topic": train_head(char_x, [r["topic"] for r in train_rows], groups),
        },
    }
    if not args.no_morphology:
        from kiwipiepy import Kiwi

        kiwi = Kiwi(num_workers=-1)
        morph_docs = morph_features_many(prepared, kiwi)
        morph_vectoriser, morph_x = vectorise(morph_docs, _identity)
        payload["morph"] = {
            **space(morph_vectoriser),
            "type": train_head(morph_x, [r["type"] for r in train_rows], groups),
            "topic": train_head(morph_x, [r["topic"] for r in train_rows], groups),
        }
        payload["mix"] = {"threshold": MIX_THRESHOLD, "weight": MIX_WEIGHT}
    return payload


def main(argv: list[str] | None = None) -> None:
    """Train (or, with --calibrate-only, reuse the model file), fit the abstention rule, save, reload and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-morphology", action="store_true", help="skip the Kiwi morpheme models")
    parser.add_argument(
        "--corrections", type=Path, help="operators' corrections (GET /api/v1/corrections answers) to train on too"
    )
    parser.add_argument(
        "--calibrate-only",
        action="store_true",
        help="keep the classifier in --out as it is; fit its abstention rule again and report",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    generated = read_tsv(DATA_DIR / "generated.tsv")
    heldout = read_tsv(DATA_DIR / "heldout.tsv")
    off_topic = read_tsv(DATA_DIR / "offtopic.tsv")
    taxonomy = load_taxonomy()
    unknown = {r["topic"] for r in generated + heldout} - set(taxonomy.topics)
    if unknown:
        raise SystemExit(f"topics not in taxonomy.json: {sorted(unknown)}")
    train_rows = [r for r in generated if r["split"] == "train"]
    test_rows = [r for r in generated if r["split"] == "test"]
    if args.calibrate_only:
        payload = json.loads(args.out.read_text(encoding="utf-8"))
        payload.pop("abstain", None)
        done = f"kept the classifier of {args.out}"
    else:
        if args.corrections:
            corrections = load_corrections(args.corrections, types=set(taxonomy.types), topics=set(taxonomy.topics))
            print(f"training on {len(corrections)} operators' corrections too")
            train_rows += corrections
        payload = train_payload(args, train_rows)
        payload["corpus"] = {
            "train": len(train_rows),
            "test": len(test_rows),
            "heldout": len(heldout),
            "templates": len({r["template"] for r in generated}),
        }
        templates = len({r["template"] for r in train_rows})
        done = f"trained on {len(train_rows)} examples ({templates} templates)"
    payload["abstain"] = fit_abstention(Model(json.loads(json.dumps(payload))))
    model = Model(json.loads(json.dumps(payload)))
    morphology = "morph" in payload and not args.no_morphology
    metrics: dict[str, Any] = {}
    for name, rows in (("test_split", test_rows), ("heldout", heldout)):
        prepared = [prepare(redact(r["text"])) for r in rows]
        metrics[name] = evaluate(model, rows, prepared, morphology=False)
        if morphology:
            metrics[name + "_with_morphology"] = evaluate(model, rows, prepared, morphology=True)
    for split in ("calibration", "heldout"):
        metrics[f"off_topic_{split}"] = evaluate_off_topic(model, [r for r in off_topic if r["split"] == split])
    payload["metrics"] = {k: {m: v for m, v in d.items() if m != "confusion"} for k, d in metrics.items()}
    args.out.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"{done} in {time.perf_counter() - started:.0f}s; wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    rule = payload["abstain"]
    print(
        f"abstention: unclassified when {rule['score']} < {rule['threshold']:.4f} "
        f"(at most {rule['rate']:.0%} of in-domain calibration calls); calibration: {rule['calibration']}"
    )
    for name, result in metrics.items():
        if name.startswith("off_topic"):
            share = f"unclassified {result['unclassified']:.1%}"
            print(f"\n== {name}: n={result['n']} {share}; by kind {result['by_kind']}")
            continue
        print(
            f"\n== {name}: n={result['n']} type macro-F1 {result['type_macro_f1']:.3f} "
            f"(without abstention {result['type_macro_f1_without_abstention']:.3f}; accuracy "
            f"{result['type_accuracy']:.3f}), topic macro-F1 {result['topic_macro_f1']:.3f} "
            f"(without abstention {result['topic_macro_f1_without_abstention']:.3f}; accuracy "
            f"{result['topic_accuracy']:.3f}), unclassified {result['unclassified']:.1%}"
        )
        print(result["confusion"])


def _identity(document: list[str]) -> list[str]:
    return document


if __name__ == "__main__":
    main()
