"""Scores `emotty classify --format json` output on a labeled corpus the way the
protocol scores fold models: UAR over the engine's verdicts, UAR with the prediction
restricted to the corpus's own classes, the arousal ranking from the probabilities placed
on the circumplex (and from the model's arousal where it has one), and the expected
calibration error. For models trained without a corpus (1.1.1 never heard nEMO), this is
their leave-that-corpus-out figure.

    python -m emotty_train.score_clips CLASSIFY.jsonl [DIR ...]

Labels come from the file names through the same layouts `emotty eval` reads; the
emotions and their order from the output's own probabilities (the model's labels).
"""

from __future__ import annotations

import json
import sys

import numpy as np

from .data import CIRCUMPLEX, HIGH_AROUSAL, LOW_AROUSAL, auc, expected_calibration_error, restricted_predictions, uar

# The corpora's own codes for their emotions.
RAVDESS = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry", 6: "fearful", 7: "disgust", 8: "surprised"}
NEMO = {"anger": "angry", "fear": "fearful", "happiness": "happy", "neutral": "neutral", "sadness": "sad", "surprised": "surprised"}


def label_of(path: str) -> str | None:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    parts = stem.split("_")
    if len(parts) == 3 and parts[1] in NEMO:
        return NEMO[parts[1]]
    fields = stem.split("-")
    if len(fields) == 7:
        return RAVDESS.get(int(fields[2]))
    return None


def score(rows: list[dict]) -> dict:
    labels = next(list(r["probs"]) for r in rows if r.get("probs"))
    truth, probs, arousal = [], [], []
    for r in rows:
        label = label_of(r["file"])
        if label is None:
            continue
        truth.append(labels.index(label))
        p = r.get("probs")
        probs.append([np.nan] * len(labels) if p is None else [p[l] for l in labels])
        arousal.append(np.nan if r.get("arousal") is None else r["arousal"])
    truth, probs, arousal = np.array(truth), np.array(probs, dtype=float), np.array(arousal, dtype=float)
    classes = sorted(set(truth.tolist()))
    preds = np.array([-1 if np.isnan(p).any() else int(np.argmax(p)) for p in probs])
    high = np.isin(truth, [labels.index(l) for l in HIGH_AROUSAL])
    low = np.isin(truth, [labels.index(l) for l in LOW_AROUSAL])
    placed = probs @ np.array([CIRCUMPLEX[l][0] for l in labels])
    ok = ~np.isnan(placed)
    out = {
        "clips": int(len(truth)),
        "uar": uar(truth, preds),
        "restricted_uar": uar(truth, restricted_predictions(probs, classes)),
        "accuracy": float((preds == truth).mean()),
        "arousal_auc_from_probabilities": auc(placed[high & ok], placed[low & ok]),
        "ece": expected_calibration_error(probs, truth),
        "recall": {labels[c]: float((preds[truth == c] == c).mean()) for c in classes},
    }
    if not np.isnan(arousal).all():
        ok = ~np.isnan(arousal)
        out["arousal_auc"] = auc(arousal[high & ok], arousal[low & ok])
    return out


def main(argv=None):
    argv = argv or sys.argv[1:]
    rows = [json.loads(l) for l in open(argv[0]) if l.strip()]
    print(json.dumps(score(rows), indent=1))


if __name__ == "__main__":
    main()
