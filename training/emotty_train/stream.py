"""A causal model (`--causal`) scored as a streaming model would run it: each clip one
stream, every frame seen once, the LSTM's state carried through the whole clip, and at
each of the engine's window ends the classifier pooling the LSTM outputs of that window's
span. The window mean removal becomes the mean of the last window's frames before each
frame (a running mean until a window's worth has been heard).

This differs from how `run.py` scores the same weights (each window from a fresh state):
windows after the first see the clip before them. Comparing the two says what carrying
the state costs or gains before an engine runs it (the streaming issue).

    python -m emotty_train.stream FOLD.pt cv K      # RAVDESS fold K's test actors
    python -m emotty_train.stream FOLD.pt loco C    # the whole left-out corpus C
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import torch

from .data import FeatureSet, uar
from .models import MODELS
from .train import pool_clips, window_outputs


@torch.no_grad()
def step_outputs(model, x: torch.Tensor) -> torch.Tensor:
    """LSTM outputs [steps, H] of one stream of raw frames [T, D], from a fresh state."""
    x = model.norm(x[None])[0]
    h = model.conv(x.T[None]).transpose(1, 2)
    h, _ = model.lstm(h)
    return h[0]


@torch.no_grad()
def stream_outputs(model, fs: FeatureSet, insts):
    """`train.window_outputs`, each clip run as one stream (see the module docs)."""
    stride = model.stride
    logits, affects, clips, weights = [], [], [], []
    for ci, inst in enumerate(insts):
        wins = [(s, e, r) for s, e, r in fs.windows(inst.row) if r >= fs.min_speech_ratio and r > 0]
        if not wins:
            continue
        h = step_outputs(model, torch.from_numpy(fs.frames(inst.row)))
        for s, e, r in wins:
            last = (e - 1) // stride
            n = math.ceil((e - s) / stride)
            span = h[max(0, last - n + 1) : last + 1][None]
            a = torch.softmax(model.attention(span), dim=1)
            pooled = torch.cat([(a * span).sum(dim=1), span.mean(dim=1)], dim=-1)
            logits.append(model.head(pooled).numpy())
            if model.affect is not None:
                affects.append(model.affect(pooled).numpy())
            clips.append(ci)
            weights.append(max(r, 1e-3))
    lg = np.concatenate(logits)
    af = np.concatenate(affects) if affects else None
    return lg, af, np.array(clips, dtype=np.int64), np.array(weights, dtype=np.float64)


def scores(model, fs: FeatureSet, test, outputs) -> dict:
    out = {}
    for corpus in sorted({i.corpus for i in test}):
        clean = [i for i in test if i.variant == 0 and i.corpus == corpus]
        lg, _, clips, w = outputs(model, fs, clean)
        probs = torch.softmax(torch.from_numpy(lg) / float(model.temperature), dim=-1).numpy()
        p = pool_clips(probs, clips, w, len(clean))
        preds = np.array([-1 if np.isnan(q).any() else int(np.argmax(q)) for q in p])
        out[corpus] = uar(np.array([i.label for i in clean]), preds)
    return out


def main(argv=None):
    from .run import WORK, split_fold, split_loco

    p = argparse.ArgumentParser(prog="emotty_train.stream")
    p.add_argument("weights")
    p.add_argument("kind", choices=["cv", "loco"])
    p.add_argument("key")
    p.add_argument("--features", default=str(WORK / "features.npz"))
    args = p.parse_args(argv)
    saved = torch.load(args.weights, weights_only=False)
    fs = FeatureSet(args.features)
    arch = saved["info"]["config"]["arch"]
    if not arch.get("causal"):
        raise SystemExit(f"{args.weights}: not a causal model")
    model = MODELS["ours"](fs.dim, fs.n_mfcc, **arch, window=fs.window_frames)
    model.load_state_dict(saved["state"])
    model.eval()
    test = split_fold(fs, int(args.key))[2] if args.kind == "cv" else split_loco(fs, args.key)[2]
    result = {
        "windows": scores(model, fs, test, window_outputs),
        "stream": scores(model, fs, test, stream_outputs),
    }
    print(json.dumps({"weights": args.weights, **result}))


if __name__ == "__main__":
    main()
