"""Scores fold models alone and averaged, on the split they were trained for: how much
two differently trained models know that neither knows alone, before asking one model
to learn it (`--teacher a.pt,b.pt`).

    python -m emotty_train.ensemble cv K TAGS...
    python -m emotty_train.ensemble loco CORPUS TAGS...

Each TAG is a run tag (`o` for `work/folds/ours-o-<split>.pt`) or several joined by `+`,
whose clip probabilities (the engine's verdicts, each model with its own temperature)
and arousal/valence are averaged. Prints one JSON object: per TAG and test corpus, the
UAR over all classes, the UAR restricted to the corpus's classes and the arousal AUC
(from the arousal output where every model has one).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from .data import HIGH_AROUSAL, LOW_AROUSAL, FeatureSet, auc, restricted_predictions, uar
from .run import WORK, test_split
from .train import clip_outputs, load_weights


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=["cv", "loco"])
    p.add_argument("key", help="cv: the RAVDESS fold (0-4); loco: the corpus left out")
    p.add_argument("tags", nargs="+", help="run tags, `+` joining those to average")
    p.add_argument("--features", default=str(WORK / "features.npz"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    fs = FeatureSet(args.features)
    test, split = test_split(fs, args.kind, args.key)
    names = fs.label_names
    outputs: dict[tuple[str, str], tuple] = {}

    def clips(tag: str, corpus: str):
        if (tag, corpus) not in outputs:
            model, _ = load_weights(str(WORK / "folds" / f"ours-{tag}-{split}.pt"), fs)
            clean = [i for i in test if i.variant == 0 and i.corpus == corpus]
            probs, affect = clip_outputs(model, fs, clean)
            outputs[(tag, corpus)] = (probs, affect, np.array([i.label for i in clean]))
        return outputs[(tag, corpus)]

    result = {}
    for group in args.tags:
        for corpus in sorted({i.corpus for i in test}):
            parts = [clips(tag, corpus) for tag in group.split("+")]
            truth = parts[0][2]
            probs = np.mean([p for p, _, _ in parts], axis=0)
            preds = np.array([-1 if np.isnan(row).any() else int(np.argmax(row)) for row in probs])
            r = {
                "uar": uar(truth, preds),
                "restricted_uar": uar(truth, restricted_predictions(probs, fs.corpus_classes[corpus])),
            }
            if all(a is not None for _, a, _ in parts):
                arousal = np.mean([a for _, a, _ in parts], axis=0)[:, 0]
                ok = ~np.isnan(arousal)
                high = np.isin(truth, [names.index(label) for label in HIGH_AROUSAL]) & ok
                low = np.isin(truth, [names.index(label) for label in LOW_AROUSAL]) & ok
                r["arousal_auc"] = auc(arousal[high], arousal[low])
            result[f"{group}:{corpus}"] = {k: None if v is None else round(float(v), 4) for k, v in r.items()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
