"""Two looks at saved fold models that the run reports do not print.

    python -m emotty_train.inspect_runs where loco nemo TAG
    python -m emotty_train.inspect_runs prior loco nemo TAG FRAMES...
    python -m emotty_train.inspect_runs prior cv K TAG FRAMES...

`where`: per true class of the test corpus, the mean clip probability of each of the
eight classes (where an unseen corpus's verdicts go, including classes it does not
have), and the arousal AUC read three ways: the arousal output, the probabilities
placed on the circumplex, and the summed probability of the high-arousal classes.

`prior`: a model trained with per-stream adaptation, each clip its own stream, scored
with the training statistics weighted as FRAMES speech frames instead of the number
saved with it (`adapt.PRIOR_FRAMES`): how much a clip's own statistics would move it.
Both read the test corpus; neither is a way to choose a setting.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from .adapt import Prior
from .data import CIRCUMPLEX, HIGH_AROUSAL, LOW_AROUSAL, FeatureSet, auc
from .run import WORK, corpus_scores, test_split
from .train import clip_outputs, load_weights


def where(fs: FeatureSet, test, split: str, tag: str) -> None:
    names = fs.label_names
    path = WORK / "folds" / f"ours-{tag}-{split}.pt"
    model, _ = load_weights(str(path), fs)
    for corpus in sorted({i.corpus for i in test}):
        clean = [i for i in test if i.variant == 0 and i.corpus == corpus]
        truth = np.array([i.label for i in clean])
        probs, affect = clip_outputs(model, fs, clean)
        ok = ~np.isnan(probs).any(axis=1)
        absent = [c for c in range(len(names)) if c not in fs.corpus_classes[corpus]]
        print(f"{tag} on {corpus}: mean clip probabilities per true class")
        print(f"{'':>10} " + " ".join(f"{n[:5]:>5}" for n in names))
        for c in sorted(set(truth.tolist())):
            rows = (truth == c) & ok
            print(f"{names[c]:>10} " + " ".join(f"{v:5.2f}" for v in probs[rows].mean(axis=0)))
        if absent:
            mass = probs[ok][:, absent].sum(axis=1).mean()
            print(f"mass on classes {corpus} lacks ({', '.join(names[c] for c in absent)}): {mass:.3f}")
        high = np.isin(truth, [names.index(n) for n in HIGH_AROUSAL]) & ok
        low = np.isin(truth, [names.index(n) for n in LOW_AROUSAL]) & ok
        if high.any() and low.any():
            placed = probs @ np.array([CIRCUMPLEX[n][0] for n in names])
            summed = probs[:, [names.index(n) for n in HIGH_AROUSAL]].sum(axis=1)
            ways = {"circumplex": placed, "high classes summed": summed}
            if affect is not None:
                ways = {"output": affect[:, 0]} | ways
            print("arousal AUC: " + ", ".join(f"{k} {auc(v[high], v[low]):.3f}" for k, v in ways.items()))


def prior(fs: FeatureSet, test, split: str, tag: str, frames: list[float]) -> None:
    path = WORK / "folds" / f"ours-{tag}-{split}.pt"
    model, _ = load_weights(str(path), fs)
    saved = torch.load(path, weights_only=False)
    if not saved.get("adapt"):
        raise SystemExit(f"{path}: trained without per-stream adaptation; it has no prior to weigh")
    for n in frames:
        p = Prior.from_json(saved["adapt"])
        p.frames = n
        model.adapt_prior, model.adapt_mode = p, "file"
        for corpus, r in corpus_scores(model, fs, test).items():
            arousal = r.get("arousal_auc")
            print(
                f"{tag} {split} {corpus} prior {n:g} frames: UAR {r['python_uar']:.4f}, restricted {r['restricted_uar']:.4f}"
                + (f", arousal AUC {arousal:.4f}" if arousal is not None else ""),
                flush=True,
            )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("look", choices=["where", "prior"])
    p.add_argument("kind", choices=["cv", "loco"])
    p.add_argument("key", help="cv: the RAVDESS fold (0-4); loco: the corpus left out")
    p.add_argument("tag", help="the run tag (`o` for work/folds/ours-o-<split>.pt)")
    p.add_argument("frames", nargs="*", type=float, help="prior: the prior weights to try, in speech frames")
    p.add_argument("--features", default=str(WORK / "features.npz"))
    args = p.parse_args(argv)
    if args.look == "prior" and not args.frames:
        raise SystemExit("prior: give one or more prior weights in speech frames, e.g. 500 20")
    torch.set_num_threads(1)
    fs = FeatureSet(args.features)
    test, split = test_split(fs, args.kind, args.key)
    if args.look == "where":
        where(fs, test, split, args.tag)
    else:
        prior(fs, test, split, args.tag, args.frames)


if __name__ == "__main__":
    main()
