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
    python -m emotty_train.stream FOLD.pt export OUT.onnx   # its streaming form, for the engine
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import torch

from .data import FeatureSet, index_tess_words, uar
from .train import load_weights, predict_clips, window_outputs


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
        preds = predict_clips(model, fs, clean, outputs)
        out[corpus] = uar(np.array([i.label for i in clean]), preds)
    return out


def main(argv=None):
    from .run import WORK, split_fold, split_loco

    p = argparse.ArgumentParser(prog="emotty_train.stream")
    p.add_argument("weights")
    p.add_argument("kind", choices=["cv", "loco", "export"])
    p.add_argument("key", help="cv: the fold; loco: the corpus; export: the .onnx to write")
    p.add_argument("--features", default=str(WORK / "features.npz"))
    args = p.parse_args(argv)
    fs = FeatureSet(args.features)
    model, config = load_weights(args.weights, fs)
    if not config["arch"].get("causal"):
        raise SystemExit(f"{args.weights}: not a causal model")
    if args.kind == "export":
        from .export import metadata

        meta = metadata(
            fs.frontend,
            fs.schedule,
            fs.label_names,
            name=config["model"],
            version="fold",
            description=f"streaming form of {args.weights}; not for shipping",
            training_data="fold training split",
            metrics={},
            affect=model.affect is not None,
            temperature=float(model.temperature),
        )
        export_streaming(model, fs.dim, fs.window_frames, args.key, meta)
        print(f"wrote {args.key}")
        return
    if args.kind == "cv":
        # TESS's within-speaker folds are by word, as `run cv` splits them.
        index_tess_words(fs)
        test = split_fold(fs, int(args.key))[2]
    else:
        test = split_loco(fs, args.key)[2]
    result = {
        "windows": scores(model, fs, test, window_outputs),
        "stream": scores(model, fs, test, stream_outputs),
    }
    print(json.dumps({"weights": args.weights, **result}))



class StreamingStep(torch.nn.Module):
    """One hop of a causal model, every piece of its state an input and an output, for an
    engine that feeds each frame once: the frames of the hop (a multiple of the model's
    stride), the last window of raw frames and how many of them are real (the running
    window mean), each convolution's left context, the LSTM's h and c, and the last
    window's LSTM outputs with their count (the pooling). A fresh stream starts from
    zeros. Gives the calibrated probabilities (and arousal and valence) of the window
    ending with the hop, and the new state."""

    def __init__(self, model, window_frames: int):
        super().__init__()
        if model.norm.mean_from or model.norm.mean_dims is not None:
            raise ValueError("streaming export handles CMN all or none only")
        self.m = model
        self.window = window_frames
        self.steps = -(-window_frames // model.stride)

    def state_shapes(self, dim: int) -> dict[str, tuple[int, ...]]:
        convs = [b[0][1] for b in self.m.conv]
        hidden = self.m.lstm.hidden_size
        return {
            "recent": (1, self.window, dim),
            "seen": (1,),
            "ctx1": (1, convs[0].kernel_size[0] - 1, convs[0].in_channels),
            "ctx2": (1, convs[1].kernel_size[0] - 1, convs[1].in_channels),
            "ctx3": (1, convs[2].kernel_size[0] - 1, convs[2].in_channels),
            "h": (1, 1, hidden),
            "c": (1, 1, hidden),
            "outs": (1, self.steps, hidden),
            "count": (1,),
        }

    def forward(self, x, recent, seen, ctx1, ctx2, ctx3, h, c, outs, count):
        m, w, t = self.m, self.window, x.shape[1]
        if m.norm.per_window_mean:
            ext = torch.cat([recent, x], dim=1)
            cs = ext.cumsum(dim=1)
            n = (seen + torch.arange(1, t + 1, dtype=x.dtype)).clamp(max=float(w))
            x_c = x - (cs[:, w:] - cs[:, :t]) / n[None, :, None]
            recent, seen = ext[:, t:], (seen + t).clamp(max=float(w))
        else:
            x_c = x
        y = (x_c - m.norm.mean) / m.norm.std * m.keep
        new_ctx = []
        for block, ctx in zip(m.conv, (ctx1, ctx2, ctx3)):
            inp = torch.cat([ctx, y], dim=1)
            new_ctx.append(inp[:, inp.shape[1] - ctx.shape[1] :])
            y = block[2](block[1](block[0][1](inp.transpose(1, 2)))).transpose(1, 2)
        y, (h, c) = m.lstm(y, (h, c))
        outs = torch.cat([outs, y], dim=1)[:, y.shape[1] :]
        count = (count + y.shape[1]).clamp(max=float(self.steps))
        valid = torch.arange(self.steps, dtype=x.dtype) >= (self.steps - count)
        scores = m.attention(outs)[..., 0].masked_fill(~valid[None, :], -1e9)
        a = torch.softmax(scores, dim=1)[..., None]
        pooled = torch.cat([(a * outs).sum(dim=1), (outs * valid[None, :, None]).sum(dim=1) / count], dim=-1)
        probs = torch.softmax(m.head(pooled) / m.temperature, dim=-1)
        affect = m.affect(pooled) if m.affect is not None else torch.zeros(1, 2)
        return (probs, affect, recent, seen, *new_ctx, h, c, outs, count)


def streaming_metadata(meta: dict, shapes: dict[str, tuple[int, ...]], step_frames: int) -> dict:
    """The engine's metadata for the streaming form (src/model/meta.rs, format 2): the
    frames each call must be a multiple of, and the state's inputs in order; outputs are
    the probabilities, arousal and valence where the model rates them, then the new state
    in the same order."""
    state = [{"name": name, "shape": list(shape)} for name, shape in shapes.items()]
    return meta | {"format": 2, "streaming": {"step_frames": step_frames, "state": state}}


def export_streaming(model, dim: int, window_frames: int, path: str, meta: dict | None = None) -> dict:
    """Writes the streaming form of a causal model to `path` (with the engine's metadata
    when `meta` is given); returns its state's shapes."""
    import onnx

    step = StreamingStep(model, window_frames).eval()
    shapes = step.state_shapes(dim)
    state = [torch.zeros(s) for s in shapes.values()]
    names = list(shapes)
    affect = model.affect is not None
    torch.onnx.export(
        step,
        (torch.zeros(1, 24, dim), *state),
        path,
        input_names=["features", *names],
        output_names=["probabilities", *(["affect"] if affect else []), *[f"{n}_out" for n in names]],
        dynamic_axes={"features": {1: "frames"}},
        opset_version=17,
        dynamo=False,
    )
    if not affect:
        # The graph's affect output (zeros) is dropped: the engine expects none.
        proto = onnx.load(path)
        del proto.graph.output[1]
        onnx.save(proto, path)
    if meta is not None:
        proto = onnx.load(path)
        proto.doc_string = meta["description"]
        del proto.metadata_props[:]
        entry = proto.metadata_props.add()
        entry.key = "emotty"
        entry.value = json.dumps(streaming_metadata(meta, shapes, model.stride), separators=(",", ":"))
        onnx.checker.check_model(proto, full_check=True)
        onnx.save(proto, path)
    return shapes


if __name__ == "__main__":
    main()
